import ArgumentParser

// `xtf tokenize` and `xtf bench tokenizer` (issue #4) live here.
struct Tokenize: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Tokenize text or a JSONL field (issue #4, not built yet).", shouldDisplay: false)
    func run() throws { throw ValidationError("xtf tokenize is not built yet (issue #4)") }
}

struct TokenizerBench: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "tokenizer", abstract: "Tokenizer MB/s and tokens/s (issue #4, not built yet).", shouldDisplay: false)
    func run() throws { throw ValidationError("xtf bench tokenizer is not built yet (issue #4)") }
}
