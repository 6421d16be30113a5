import ArgumentParser
import Artifacts
import CommandOptions
import Foundation
import GGUF
import Model

/// `xtf model ...`: checkpoint tools.
struct ModelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model", abstract: "Checkpoint tools: compare a checkpoint with reference outputs, import a GGUF file.",
        subcommands: [ModelCheck.self, ModelInit.self, ModelImport.self])
}

struct ModelImport: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Turn a llama.cpp GGUF file (llama, qwen2, qwen3, olmo2, smollm3, phi3, gemma2, gemma3) into a Hugging Face checkpoint directory.",
        discussion: """
            Writes config.json, model.safetensors (weights dequantized to fp32, or bf16), tokenizer.json, \
            tokenizer_config.json (special tokens, chat template) and generation_config.json. \
            Architectures: \(GGUFImport.supportedArchitectures.joined(separator: ", ")). Tensor types: \
            \(GGMLType.dequantizable.map(\.name).joined(separator: ", ")).
            """)

    enum DType: String, ExpressibleByArgument, CaseIterable { case f32, bf16 }

    @Option(help: "The GGUF file (version 2 or 3).")
    var gguf: String

    @Option(help: "Output directory (created; its files are replaced).")
    var out: String

    @Option(help: "Weight dtype of model.safetensors: f32 or bf16.")
    var dtype: DType = .f32

    func run() throws {
        let s = try GGUFImport.run(gguf: gguf, out: URL(fileURLWithPath: out), bf16: dtype == .bf16)
        let c = s.config
        print("\(gguf): \(s.architecture), \(c.layers) layers, hidden \(c.hiddenSize), \(c.heads) heads (\(c.kvHeads) kv), "
              + "vocabulary \(c.vocabSize), \(s.parameters) parameters\(c.tiedEmbeddings ? ", tied embeddings" : "")")
        print("tensors: " + s.tensorTypes.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", "))
        print("wrote \(s.files.joined(separator: ", ")) (\(dtype.rawValue)) to \(out)")
    }
}

struct ModelCheck: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Run a checkpoint on the inputs of an expected.safetensors and compare every tensor in it.",
        discussion: """
            Prints max abs and relative error per tensor; exits non-zero when a tolerance is exceeded. \
            With --reference transformers, the reference outputs are first computed for the checkpoint by \
            Hugging Face transformers (scripts/transformers_reference.py: python3 with torch and \
            transformers) and written to --expected when given; the comparison then passes on error \
            relative to each tensor's largest value (--relative-tolerance).
            """)

    enum Reference: String, ExpressibleByArgument { case transformers }

    @Option(help: "Hugging Face checkpoint directory (config.json, model.safetensors or an index).")
    var model: String

    @Option(help: "LoRA adapters (PEFT's adapter_config.json + adapter_model.safetensors) to attach to the model.")
    var adapter: String?

    @Option(help: "Reference outputs (layout of shared/fixtures/hf/README.md); with --reference, where to keep them.")
    var expected: String?

    @Option(help: "Compute the reference outputs first: transformers.")
    var reference: Reference?

    @Option(help: "The reference script (default: scripts/transformers_reference.py of the checkout).")
    var referenceScript: String?

    @Option(help: "Regex of the parameters whose gradients the reference computes (with --reference; default: the norms).")
    var gradients = "norm"

    @Option(help: "Max abs error for logits, log-probs, hidden states, attention, losses.")
    var tolerance: Float = 1e-4

    @Option(help: "Pass those on max abs error relative to each tensor's max |value| instead (default 1e-4 with --reference).")
    var relativeTolerance: Float?

    @Option(help: "Max gradient error relative to each tensor's max |value|.")
    var gradientTolerance: Float = 1e-3

    func validate() throws {
        if reference == nil && expected == nil { throw ValidationError("give --expected FILE, or --reference transformers") }
    }

    func run() throws {
        let directory = URL(fileURLWithPath: model)
        var expectedPath = expected
        var scratch: URL?
        defer { if let scratch { try? FileManager.default.removeItem(at: scratch) } }
        if reference == .transformers {
            let script = try referenceScript.map { URL(fileURLWithPath: $0) } ?? TransformersReference.locateScript(
                executable: URL(fileURLWithPath: CommandLine.arguments[0]),
                workingDirectory: URL(fileURLWithPath: FileManager.default.currentDirectoryPath))
            if expectedPath == nil {
                scratch = FileManager.default.temporaryDirectory.appendingPathComponent("xtf-reference-\(UUID().uuidString)")
                try FileManager.default.createDirectory(at: scratch!, withIntermediateDirectories: true)
                expectedPath = scratch!.appendingPathComponent("expected.safetensors").path
            }
            print("computing the reference outputs with transformers (\(script.path))")
            // With an adapter, transformers merges it into the weights: no base-weight gradients to compare.
            try TransformersReference.make(model: directory, out: URL(fileURLWithPath: expectedPath!), script: script,
                                           arguments: adapter.map { ["--adapter", $0] } ?? ["--gradients", gradients])
        }
        let relative = relativeTolerance ?? (reference == nil ? nil : 1e-4)
        let rows = try ReferenceCheck.run(directory: directory, adapter: adapter.map { URL(fileURLWithPath: $0) }, expectedPath: expectedPath!,
                                          tolerances: .init(absolute: tolerance, gradientRelative: gradientTolerance, relative: relative))
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

