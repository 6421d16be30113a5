import ArgumentParser
import Foundation
import Model

/// `xtf model ...`: checkpoint tools.
struct ModelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model", abstract: "Checkpoint tools: compare a checkpoint with reference outputs.",
        subcommands: [ModelCheck.self, ModelInit.self])
}

struct ModelCheck: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Run a checkpoint on the inputs of an expected.safetensors and compare every tensor in it.",
        discussion: "Prints max abs and relative error per tensor; exits non-zero when a tolerance is exceeded.")

    @Option(help: "Hugging Face checkpoint directory (config.json, model.safetensors or an index).")
    var model: String

    @Option(help: "Reference outputs (layout of shared/fixtures/hf/README.md).")
    var expected: String

    @Option(help: "Max abs error for logits, log-probs, hidden states, attention, losses.")
    var tolerance: Float = 1e-4

    @Option(help: "Max gradient error relative to each tensor's max |value|.")
    var gradientTolerance: Float = 1e-3

    func run() throws {
        let rows = try ReferenceCheck.run(directory: URL(fileURLWithPath: model), expectedPath: expected,
                                          tolerances: .init(absolute: tolerance, gradientRelative: gradientTolerance))
        let width = max(6, rows.map(\.name.count).max() ?? 0)
        print("tensor".padding(toLength: width, withPad: " ", startingAt: 0) + "      max abs      max rel  ok")
        for r in rows {
            print(r.name.padding(toLength: width, withPad: " ", startingAt: 0)
                  + String(format: "  %11.3e  %11.3e  %@", r.maxAbs, r.maxRel, r.passed ? "yes" : "NO"))
        }
        let failed = rows.filter { !$0.passed }
        if !failed.isEmpty {
            print("\(failed.count) of \(rows.count) tensors exceed the tolerance")
            throw ExitCode(1)
        }
        print("all \(rows.count) tensors within tolerance")
    }
}

struct ModelBench: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "model", abstract: "Scoring and training tokens/s (issue #3, not built yet).", shouldDisplay: false)
    func run() throws { throw ValidationError("xtf bench model is not built yet (issue #3)") }
}
