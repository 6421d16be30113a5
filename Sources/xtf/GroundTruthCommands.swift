import ArgumentParser
import Artifacts
import Foundation
import GroundTruth
import Tokenizer

extension NoiseFamily: ExpressibleByArgument {}

/// `xtf groundtruth`: the noise benchmark whose noise is known token by token.
struct GroundTruthCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "groundtruth", abstract: "The ground-truth noise benchmark: data with labelled injected noise.",
        subcommands: [GroundTruthGenerate.self, GroundTruthReport.self])
}

/// `xtf groundtruth generate`: seeded arithmetic word problems with labelled noise.
struct GroundTruthGenerate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Write train.jsonl (noisy, labelled), test.jsonl (clean) and pretrain.jsonl to a directory.",
        discussion: """
            train.jsonl and test.jsonl are in GSM8K's layout (question, answer ending "#### N"); train \
            records also carry "noise": [{start, end, kind}] byte spans of the answer (kinds: \
            boilerplate, filler, aside, dead-end, near-miss, distractor, fact, wrong-sum, early-answer, heading). train-clean.jsonl holds the same \
            problems with the noise cut out. pretrain.jsonl holds {"prompt": "", "response": text} documents \
            for pretraining a base model (arithmetic facts and chains, stories with the amount restated \
            after each event, the phrases the noise is made of; never the question and worked solution format). The same seed always writes the same files.
            """)

    @Option(help: "Output directory.") var out: String
    @Option(help: "Seed.") var seed: UInt64 = 1
    @Option(help: "Training problems (noisy).") var train = 2000
    @Option(help: "Held-out problems (clean).") var test = 200
    @Option(help: "Pretraining documents.") var pretrain = 20000
    @Option(help: "Noise family: mixed (the control: boilerplate, filler, asides; harmless), dead-end (computations on the running amount nothing uses), near-miss (the same on a number near it), distractor (off-topic numbers), late-fact (known sums before the answer), wrong-sum (equations off by one that nothing uses), early-answer (the amount so far under the answer marker \"####\" between steps), headings (\"#### Step 2:\" before steps).")
    var family: NoiseFamily = .mixed
    @Option(help: "Surface forms of the family's noise: 1, or 2 (other wording, openings and positions).") var surface = 1
    @Option(help: "Probability of noise at each of the family's slots (default: 0.5 for mixed, early-answer and headings, 0.8 for the others).") var noiseRate: Double?
    @Option(help: "For --family mixed: noise kinds, comma-separated: boilerplate,filler,aside") var kinds = "boilerplate,filler,aside"
    @Option(help: "Fewest operations per problem.") var minSteps = 2
    @Option(help: "Most operations per problem.") var maxSteps = 2
    @Option(help: "Also train a byte-level BPE tokenizer.json of this many ids on the pretraining documents (0: none).")
    var tokenizerVocabulary = 0

    func run() throws {
        var noiseKinds: [NoiseKind] = []
        for name in kinds.split(separator: ",") {
            guard let kind = NoiseKind(rawValue: String(name)) else {
                throw ValidationError("--kinds: unknown kind \"\(name)\" (boilerplate, filler, aside)")
            }
            noiseKinds.append(kind)
        }
        let noiseRate = noiseRate ?? family.defaultRate
        guard (0...1).contains(noiseRate) else { throw ValidationError("--noise-rate must be in 0...1") }
        guard [1, 2].contains(surface) else { throw ValidationError("--surface is 1 or 2") }
        guard family == .mixed || kinds == "boilerplate,filler,aside" else { throw ValidationError("--kinds goes with --family mixed") }
        guard 1 <= minSteps, minSteps <= maxSteps else { throw ValidationError("--min-steps and --max-steps: need 1 <= min <= max") }
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        // Independent streams, so changing one count leaves the other files as they were.
        var noisy = family == .mixed && surface == 1
            ? ProblemGenerator(seed: seed, noiseRate: noiseRate, kinds: noiseKinds, steps: minSteps...maxSteps)
            : ProblemGenerator(seed: seed, family: family, surface: surface, noiseRate: noiseRate, steps: minSteps...maxSteps)
        var clean = ProblemGenerator(seed: seed &+ 0x7E57, noiseRate: 0, steps: minSteps...maxSteps)
        var corpus = PretrainingCorpus(seed: seed)
        let trainSet = (0..<train).map { noisy.next(index: $0) }
        let testSet = (0..<test).map { clean.next(index: $0) }
        struct Document: Encodable { let prompt: String; let response: String }
        try AtomicFile.writeJSONLines(trainSet, to: (out as NSString).appendingPathComponent("train.jsonl"))
        // The same problems, line for line, with the noise cut out (the CLEAN arm's data).
        try AtomicFile.writeJSONLines(trainSet.map(\.withoutNoise), to: (out as NSString).appendingPathComponent("train-clean.jsonl"))
        try AtomicFile.writeJSONLines(testSet, to: (out as NSString).appendingPathComponent("test.jsonl"))
        let documents = (0..<pretrain).map { _ in corpus.next() }
        try AtomicFile.writeJSONLines(documents.map { Document(prompt: "", response: $0) },
                                      to: (out as NSString).appendingPathComponent("pretrain.jsonl"))
        if tokenizerVocabulary > 0 {
            try AtomicFile.write(try BPETrainer.train(documents, vocabularySize: tokenizerVocabulary),
                                 to: (out as NSString).appendingPathComponent("tokenizer.json"))
        }
        let noiseBytes = trainSet.reduce(0) { $0 + $1.noise.reduce(0) { $0 + $1.end - $1.start } }
        let answerBytes = trainSet.reduce(0) { $0 + $1.answer.utf8.count }
        print("wrote \(train) training problems (\(String(format: "%.1f", 100 * Double(noiseBytes) / Double(max(1, answerBytes))))% of answer bytes injected noise), \(test) test problems, \(pretrain) pretraining documents to \(out)")
    }
}

/// `xtf groundtruth report`: how a scored run's flags and scores find the labelled noise.
struct GroundTruthReport: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Precision, recall and AUROC of each attribute and of the union against the injected noise.",
        discussion: """
            Reads RUN_DIR/tokens.jsonl (written by `xtf score` / `xtf mask` on the generated train.jsonl) \
            and the labels in train.jsonl. Scores, higher = more noise-like: KN: PCP; RI: how far below \
            its sample's median, in IQRs; TR: minus the cosine; union: the largest of the three ranks.
            """)

    @Argument(help: "Run directory scored on the generated train.jsonl.") var runDirectory: String
    @Option(help: "The generated train.jsonl (its noise labels).") var labels: String
    @Option(help: "Also write the report as JSON here.") var json: String?

    func run() throws {
        let problems = try Detection.labels(path: labels)
        let report = try Detection.evaluate(problems: problems, tokensFile: (runDirectory as NSString).appendingPathComponent("tokens.jsonl"))
        print("\(report.samples) samples, \(report.responseTokens) response tokens: \(report.noiseTokens.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))")
        print(report.table)
        if let json { try AtomicFile.writeJSON(report, to: json) }
    }
}
