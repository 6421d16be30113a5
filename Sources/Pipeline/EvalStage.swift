import Artifacts
import Cluster
import Evaluation
import Foundation

/// `xtf eval` as a function: a model's task metric, the items sharded over the ranks.
/// Collective. Rank 0 writes `out` (eval.json) and `generations` (what the model wrote, for
/// tasks graded on generated answers) when given.
public enum EvalStage {
    public static func run(model: String, adapter: String? = nil, tokenizer: String?, settings: EvalSettings,
                           out: String? = nil, generations: String? = nil, world: Communicator) throws -> EvalResult {
        if generations != nil, ![.gsm8k, .pubmedqa].contains(settings.task) {
            throw PipelineError.invalidSetting(field: "generations", reason: "only gsm8k and pubmedqa are graded on generated answers")
        }
        // Rank 0 writes the outputs: one writer at a time in their folders (a second eval, or a
        // run writing there, is refused by name).
        try world.allSucceed {
            guard world.isRoot else { return }
            for file in [out, generations].compactMap({ $0 }) {
                let folder = (URL(fileURLWithPath: file).standardizedFileURL.path as NSString).deletingLastPathComponent
                try OutputDirectory.lock(folder, purpose: "writing xtf eval outputs")
            }
        }
        // Every rank loads the same files; a bad one stops them all together, the cause printed once.
        let loaded = try world.allSucceed {
            try LoadedModel.load(model: model, tokenizer: tokenizer ?? model, template: settings.template, adapter: adapter,
                                 weights: settings.weights ?? .fp32)
        }
        let evaluator = Evaluator(model: loaded.transformer, tokenizer: loaded.tokenizer!, chat: loaded.format!, world: world, settings: settings)
        var result = try evaluator.run()
        result.weights = loaded.transformer.weightStorage == .mapped ? .mapped : nil
        if world.isRoot {
            if let generations { try AtomicFile.writeJSONLines(evaluator.generations, to: generations) }
            if let out { try AtomicFile.writeJSON(result, to: out) }
        }
        return result
    }
}
