import Artifacts
import Cluster
import Foundation
import Model

/// Checkpoints of a training run: `<out>/checkpoint-<step>/` holding the model (config.json +
/// model.safetensors, loadable by transformers) or the LoRA adapters (adapter_model.safetensors
/// + adapter_config.json, PEFT's layout), the optimiser moments, and trainer_state.json.
/// Every file is written atomically and `COMPLETE` last: a directory without it (a run killed
/// while saving) is never loaded.
public struct CheckpointStore: Sendable {
    public let directory: String
    public static let marker = "COMPLETE"

    public init(directory: String) { self.directory = directory }

    func path(step: Int) -> String {
        (directory as NSString).appendingPathComponent(String(format: "checkpoint-%08d", step))
    }

    /// The newest complete checkpoint, or nil.
    public func newest() throws -> String? {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter { $0.hasPrefix("checkpoint-") }.sorted().reversed()
            .map { (directory as NSString).appendingPathComponent($0) }
            .first { FileManager.default.fileExists(atPath: ($0 as NSString).appendingPathComponent(Self.marker)) }
    }

    struct Saved: Codable {
        var state: TrainerState
        var settings: TrainSettings
        var optimizerSteps: Int
    }

    /// Rank 0 writes (every rank holds the same parameters); the others wait. Collective.
    func save(model: Transformer, optimizer: AdamW, state: TrainerState, settings: TrainSettings, world: Communicator) throws {
        _ = try world.decidedByRoot { () -> Bool in
            let target = path(step: state.step)
            try? FileManager.default.removeItem(atPath: (target as NSString).appendingPathComponent(Self.marker))
            let url = URL(fileURLWithPath: target)
            if model.lora != nil {
                try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
                try model.saveLoRA(directory: url)
            } else {
                try model.save(directory: url)
            }
            var moments = SafetensorsWriter(metadata: ["format": "xtf-adamw-1"])
            moments.add("exp_avg", shape: [optimizer.m.count], floats: optimizer.m)
            moments.add("exp_avg_sq", shape: [optimizer.v.count], floats: optimizer.v)
            try moments.write(to: url.appendingPathComponent("optimizer.safetensors").path)
            try AtomicFile.writeJSON(Saved(state: state, settings: settings, optimizerSteps: optimizer.stepCount),
                                     to: url.appendingPathComponent("trainer_state.json").path)
            try AtomicFile.write("step \(state.step)\n", to: url.appendingPathComponent(Self.marker).path)
            return true
        }
    }

    /// Restores parameters, moments and state from `checkpoint` (every rank reads it).
    func load(_ checkpoint: String, into model: Transformer, optimizer: AdamW, settings: TrainSettings) throws -> TrainerState {
        let url = URL(fileURLWithPath: checkpoint)
        let saved = try JSONDecoder().decode(Saved.self, from: Data(contentsOf: url.appendingPathComponent("trainer_state.json")))
        var comparable = saved.settings
        comparable.maxSteps = settings.maxSteps; comparable.epochs = settings.epochs
        comparable.checkpointEvery = settings.checkpointEvery
        guard comparable == settings else {
            throw TrainingError.checkpoint(path: checkpoint, reason: "was written with other training settings; --resume needs the same ones")
        }
        if let lora = model.lora {
            let file = try SafetensorsFile(path: url.appendingPathComponent("adapter_model.safetensors").path)
            for e in lora.parameters.layout.entries {
                try file.readFloats(e.name, expectedShape: e.shape, into: lora.parameters.view(e.name)!)
            }
        } else {
            try model.loadWeights(directory: url)
        }
        let moments = try SafetensorsFile(path: url.appendingPathComponent("optimizer.safetensors").path)
        try moments.readFloats("exp_avg", expectedShape: [optimizer.m.count], into: optimizer.m)
        try moments.readFloats("exp_avg_sq", expectedShape: [optimizer.v.count], into: optimizer.v)
        optimizer.stepCount = saved.optimizerSteps
        return saved.state
    }
}
