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
    public let companions: CheckpointCompanions?
    public static let marker = "COMPLETE"

    public init(directory: String, companions: CheckpointCompanions? = nil) {
        self.directory = directory
        self.companions = companions
    }

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

    /// The trainer's state saved in `checkpoint` (its trainer_state.json).
    public static func state(of checkpoint: String) throws -> TrainerState {
        try JSONFiles.read(Saved.self, from: (checkpoint as NSString).appendingPathComponent("trainer_state.json")).state
    }

    /// Rank 0 writes the files (every rank holds the same parameters); each other rank sends
    /// it the moments of its own slice, piece by piece, as rank 0 streams them into
    /// optimizer.safetensors. Collective: a failed write (a full disk) stops every rank, naming
    /// the checkpoint and the step.
    func save(model: Transformer, optimizer: AdamW, shards: OptimizerShards, state: TrainerState, settings: TrainSettings,
              world: Communicator) throws {
        let target = path(step: state.step), url = URL(fileURLWithPath: target)
        // What loading refuses is never saved: a checkpoint marked complete must load. Each
        // rank checks the moments it holds.
        try world.allSucceed {
            for (name, values) in [("optimizer exp_avg", optimizer.m), ("optimizer exp_avg_sq", optimizer.v)] {
                if let i = firstNonFinite(UnsafeBufferPointer(values)) {
                    throw TrainingError.checkpoint(path: target, reason: "not saved at step \(state.step): the \(name) hold \(values[i]) at element \(optimizer.shard.lowerBound + i)")
                }
            }
        }
        // Rank 0's first error: the collective steps go on, and every rank throws at the end.
        var failure: Error?
        var moments: SafetensorsStreamWriter?
        if world.isRoot {
            do {
                let trained = model.trainableParameters.buffer
                if let i = firstNonFinite(UnsafeBufferPointer(trained)) {
                    throw TrainingError.checkpoint(path: target, reason: "not saved at step \(state.step): the parameters hold \(trained[i]) at element \(i)")
                }
                moments = try writeModel(to: url, model: model, bf16: settings.saveDType == .bf16, count: shards.count)
            } catch { failure = error }
        }
        try streamMoments(optimizer, shards: shards, into: moments, failure: &failure, world: world)
        if world.isRoot, failure == nil, let moments {
            do {
                try moments.commit()
                let saved = Saved(state: state, settings: settings, optimizerSteps: optimizer.stepCount)
                try AtomicFile.writeJSON(saved, to: url.appendingPathComponent("trainer_state.json").path)
                try AtomicFile.write("step \(state.step)\n", to: url.appendingPathComponent(Self.marker).path)
            } catch { failure = error }
        }
        _ = try world.decidedByRoot { () -> Bool in
            if let failure = failure as? TrainingError { throw failure }
            if let failure {
                throw TrainingError.checkpoint(path: target, reason: "not saved at step \(state.step) (\(failure)); it has no \(Self.marker) marker, so it is never loaded")
            }
            return true
        }
    }

    /// Every rank's moments to rank 0 in slice order, each slice in pieces of at most
    /// `pieceElements` (a bounded copy, and an MPI count that fits in 32 bits), which rank 0
    /// appends to `moments`. Rank 0's first error goes to `failure`; it still receives every
    /// piece, so no rank is left sending. Collective.
    private func streamMoments(_ optimizer: AdamW, shards: OptimizerShards, into moments: SafetensorsStreamWriter?,
                               failure: inout Error?, world: Communicator) throws {
        for (name, values) in [("exp_avg", optimizer.m), ("exp_avg_sq", optimizer.v)] {
            for (owner, slice) in shards.ranges.enumerated() {
                for piece in Self.pieces(of: slice) {
                    let mine = (piece.lowerBound - optimizer.shard.lowerBound)..<(piece.upperBound - optimizer.shard.lowerBound)
                    if world.isRoot {
                        let received = owner == 0 ? nil : try world.receive(Float.self, from: owner, tag: Self.momentsTag).values
                        guard failure == nil, let moments else { continue }
                        do {
                            if let received { try moments.append(name, floats: received) }
                            else { try moments.append(name, floats: UnsafeBufferPointer(rebasing: values[mine])) }
                        } catch { failure = error }
                    } else if world.rank == owner {
                        try world.send(Array(values[mine]), to: 0, tag: Self.momentsTag)
                    }
                }
            }
        }
    }

    public static let pieceElements = 1 << 22

    /// `slice` cut into consecutive pieces of at most `pieceElements`.
    public static func pieces(of slice: Range<Int>) -> [Range<Int>] {
        stride(from: slice.lowerBound, to: slice.upperBound, by: pieceElements).map { $0..<min($0 + pieceElements, slice.upperBound) }
    }

    /// The tag of the moments' pieces sent to rank 0 (the world communicator carries nothing
    /// else while a checkpoint is saved).
    static let momentsTag = 7301

    /// Writes the model or adapters and the companions, and opens optimizer.safetensors for
    /// the moments of `count` parameters (streamed in by the caller).
    private func writeModel(to url: URL, model: Transformer, bf16: Bool, count: Int) throws -> SafetensorsStreamWriter {
        try? FileManager.default.removeItem(at: url.appendingPathComponent(Self.marker))
        if model.lora != nil {
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
            try model.saveLoRA(directory: url, baseModel: companions?.baseModel, bf16: bf16)
        } else {
            try model.save(directory: url, bf16: bf16)
        }
        for (name, source) in companions?.files ?? [:] {
            try AtomicFile.write(try Data(contentsOf: URL(fileURLWithPath: source)), to: url.appendingPathComponent(name).path)
        }
        return try SafetensorsStreamWriter(path: url.appendingPathComponent("optimizer.safetensors").path, metadata: ["format": "xtf-adamw-1"],
                                           tensors: [("exp_avg", .f32, [count]), ("exp_avg_sq", .f32, [count])])
    }

    /// Restores parameters, moments and state from `checkpoint` (every rank reads it; the
    /// moments only for the slice its optimizer owns).
    func load(_ checkpoint: String, into model: Transformer, optimizer: AdamW, settings: TrainSettings) throws -> TrainerState {
        let url = URL(fileURLWithPath: checkpoint)
        let saved = try JSONFiles.read(Saved.self, from: url.appendingPathComponent("trainer_state.json").path)
        guard saved.settings.ignoringRunLength == settings.ignoringRunLength else {
            throw TrainingError.checkpoint(path: checkpoint, reason: "was written with other training settings; --resume needs the same ones")
        }
        if let lora = model.lora {
            let file = try SafetensorsFile(path: url.appendingPathComponent("adapter_model.safetensors").path)
            for e in lora.parameters.layout.entries {
                try file.readFiniteFloats(e.name, expectedShape: e.shape, into: lora.parameters.view(e.name)!)
            }
        } else {
            try model.loadWeights(directory: url)
        }
        // Each rank reads the moments of its own slice (whatever -np wrote them).
        let moments = try SafetensorsFile(path: url.appendingPathComponent("optimizer.safetensors").path)
        let count = model.trainableParameters.count
        try moments.readFiniteFloats("exp_avg", expectedShape: [count], elements: optimizer.shard, into: optimizer.m)
        try moments.readFiniteFloats("exp_avg_sq", expectedShape: [count], elements: optimizer.shard, into: optimizer.v)
        optimizer.stepCount = saved.optimizerSteps
        return saved.state
    }
}

/// What a checkpoint carries besides the weights so that transformers and PEFT load it on its
/// own: the base model's tokenizer files, generation_config.json and chat template, and (for
/// adapters) the base model's path.
public struct CheckpointCompanions: Sendable, Equatable {
    public let baseModel: String
    /// File name in the checkpoint -> the file it copies.
    public let files: [String: String]

    public static let tokenizerNames = ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "chat_template.jinja",
                                        "tokenizer.model", "vocab.json", "merges.txt", "added_tokens.json"]

    /// generation_config.json from the model; the tokenizer's files all from one place: the
    /// tokenizer the run used (`tokenizer`: a tokenizer.json, or a directory), else the model's.
    public init(baseModel: String, tokenizer: String? = nil) {
        self.baseModel = URL(fileURLWithPath: baseModel).standardizedFileURL.path
        let fm = FileManager.default
        var files: [String: String] = [:]
        func take(_ name: String, from directory: String) {
            let path = (directory as NSString).appendingPathComponent(name)
            if fm.fileExists(atPath: path) { files[name] = path }
        }
        take("generation_config.json", from: self.baseModel)
        var isDirectory: ObjCBool = false
        if let tokenizer, fm.fileExists(atPath: tokenizer, isDirectory: &isDirectory), !isDirectory.boolValue {
            files["tokenizer.json"] = tokenizer  // a file given on its own: only it
        } else {
            for name in Self.tokenizerNames { take(name, from: tokenizer ?? self.baseModel) }
        }
        self.files = files
    }
}
