import Artifacts
import Foundation

/// Compares a model against reference outputs laid out as in shared/fixtures/hf/README.md
/// (expected.safetensors): every tensor present is recomputed and compared.
public enum ReferenceCheck {
    public struct Tolerances: Sendable {
        /// Max abs error of logits, log-probs, hidden states, attention, RI, losses.
        public var absolute: Float = 1e-4
        /// Max abs error of a gradient relative to that tensor's max |value|.
        public var gradientRelative: Float = 1e-3
        /// When set, the other tensors pass on max abs error relative to the tensor's max |value|
        /// instead of `absolute`: a real model's logits reach tens, where fp32 summation order
        /// alone moves them by more than 1e-4.
        public var relative: Float?
        public init(absolute: Float = 1e-4, gradientRelative: Float = 1e-3, relative: Float? = nil) {
            self.absolute = absolute
            self.gradientRelative = gradientRelative
            self.relative = relative
        }
    }

    public struct Row: Sendable {
        public let name: String
        public let maxAbs: Float
        /// maxAbs / max |expected|.
        public let maxRel: Float
        public let passed: Bool
    }

    /// Runs every comparison the expected file supports. Loads fresh copies of the model from
    /// `directory` where a computation changes weights (AdamW).
    /// `adapter`: LoRA adapters (PEFT's layout) attached to the model first.
    public static func run(directory: URL, adapter: URL? = nil, expectedPath: String, tolerances: Tolerances = Tolerances()) throws -> [Row] {
        let e = try SafetensorsFile(path: expectedPath)
        let model = try Transformer.load(directory: directory)
        if let adapter { try model.loadLoRA(directory: adapter) }
        var rows: [Row] = []
        func has(_ n: String) -> Bool { e.tensors[n] != nil }
        func compare(_ name: String, _ actual: [Float], gradient: Bool = false) throws {
            let expected = try e.floats(name)
            guard expected.count == actual.count else {
                rows.append(Row(name: name, maxAbs: .infinity, maxRel: .infinity, passed: false)); return
            }
            var maxAbs: Float = 0, scale: Float = 0
            for (x, y) in zip(actual, expected) {
                if x.isNaN && y.isNaN { continue }
                let d = abs(x - y)
                maxAbs = d.isNaN ? .infinity : max(maxAbs, d)
                scale = max(scale, abs(y))
            }
            let rel = maxAbs / max(scale, .leastNormalMagnitude)
            let passed = gradient ? rel <= tolerances.gradientRelative : tolerances.relative.map { rel <= $0 } ?? (maxAbs <= tolerances.absolute)
            rows.append(Row(name: name, maxAbs: maxAbs, maxRel: rel, passed: passed))
        }

        let ids = try e.ints("input_ids"), shape = try e.info("input_ids").shape
        let B = shape[0], T = shape[1]
        let sequences = (0..<B).map { b in ids[(b * T)..<((b + 1) * T)].map { Int32($0) } }
        let result = try model.forward(sequences, ForwardRequest(
            targets: ForwardRequest.nextTokenTargets(sequences), logits: has("logits") || has("logits_at_columns") ? .all : .none,
            finalHidden: true, attentionReceived: AttentionReceivedRequest(layers: .last),
            attentionMaps: (0..<model.config.layers).contains { has("attention.\($0)") }))
        if has("logits") { try compare("logits", result.logits.flatMap { $0 }) }
        if has("logits_at_columns") {
            // A large vocabulary's reference keeps only some columns (logits_columns).
            let columns = try e.ints("logits_columns"), V = model.config.vocabSize
            guard columns.allSatisfy({ (0..<V).contains($0) }) else {
                throw ModelError.io(path: expectedPath, detail: "logits_columns: a column outside the vocabulary of \(V)")
            }
            try compare("logits_at_columns", result.logits.flatMap { row in (0..<T).flatMap { t in columns.map { row[t * V + $0] } } })
        }
        if has("next_token_logprob") { try compare("next_token_logprob", result.targetLogProbs.flatMap { $0.dropLast() }) }
        if has("final_hidden") { try compare("final_hidden", result.finalHidden.flatMap { $0 }) }
        if has("ri_last_layer") { try compare("ri_last_layer", result.attentionReceived.flatMap { $0 }) }
        for l in 0..<result.attentionMaps.count where has("attention.\(l)") {
            try compare("attention.\(l)", result.attentionMaps[l].flatMap { $0 })
        }
        if has("ri_all_layers") {
            let all = try model.forward(sequences, ForwardRequest(attentionReceived: AttentionReceivedRequest(layers: .all)))
            try compare("ri_all_layers", all.attentionReceived.flatMap { $0 })
        }
        if has("single_token_ids") && has("single_token_final_hidden") {
            let single = try model.singleTokenHidden(ids: try e.ints("single_token_ids").map { Int32($0) })
            try compare("single_token_final_hidden", single.flatMap { $0 })
        }

        // Loss over the shifted labels: position t predicts labels[t + 1].
        var targets = sequences.map { $0.map { _ in Int32(-1) } }
        var weights = sequences.map { $0.map { _ in Float(0) } }
        if has("labels") {
            let labels = try e.ints("labels")
            for b in 0..<B {
                for t in 0..<(T - 1) where labels[b * T + t + 1] != -100 {
                    targets[b][t] = Int32(labels[b * T + t + 1]); weights[b][t] = 1
                }
            }
        }
        let unmasked = Float(weights.joined().filter { $0 != 0 }.count)
        let gradNames = model.parameterNames.filter { has("grad." + $0) }
        if has("loss_sum") || !gradNames.isEmpty {
            model.enableGradients()
            model.gradients!.zero()
            let loss = try model.accumulateGradients(sequences, targets: targets, weights: weights)
            if has("loss_sum") { try compare("loss_sum", [loss]) }
            if has("hf_loss_mean") { try compare("hf_loss_mean", [loss / unmasked]) }
            for n in gradNames { try compare("grad." + n, model.gradients![n]!, gradient: true) }
        }
        if has("adamw_losses") {
            let fresh = try Transformer.load(directory: directory)
            fresh.enableGradients()
            let opt = AdamW(parameterCount: fresh.parameters.count, learningRate: 1e-3, beta1: 0.9, beta2: 0.999,
                            epsilon: 1e-8, weightDecay: 0.01)
            let meanWeights = weights.map { $0.map { $0 / unmasked } }
            var losses: [Float] = []
            for _ in 0..<(try e.info("adamw_losses").elementCount) {
                fresh.gradients!.zero()
                losses.append(try fresh.accumulateGradients(sequences, targets: targets, weights: meanWeights))
                opt.step(fresh.parameters, fresh.gradients!)
            }
            try compare("adamw_losses", losses)
        }
        if has("greedy_prompt") && has("greedy_output") {
            let prompt = try e.ints("greedy_prompt").map { Int32($0) }
            let expected = try e.ints("greedy_output")
            let out = try model.generate(prompts: [prompt], maxNewTokens: expected.count - prompt.count)[0]
            let same = out.map(Int.init) == expected
            rows.append(Row(name: "greedy_output", maxAbs: same ? 0 : 1, maxRel: same ? 0 : 1, passed: same))
        }
        return rows
    }
}
