import ArgumentParser

// `xtf model check` and `xtf bench model` (issue #3) live here.
struct ModelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "model", abstract: "Check a checkpoint against expected outputs (issue #3, not built yet).", shouldDisplay: false)
    func run() throws { throw ValidationError("xtf model is not built yet (issue #3)") }
}

struct ModelBench: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "model", abstract: "Scoring and training tokens/s (issue #3, not built yet).", shouldDisplay: false)
    func run() throws { throw ValidationError("xtf bench model is not built yet (issue #3)") }
}
