import Foundation

/// A linear map inside the parameter buffer: y = x W^T + b, W stored [out, in] (Linear) or
/// [in, out] (GPT-2 Conv1D, which HF stores transposed). The gemm orientation absorbs the
/// difference, so the buffer keeps the checkpoint's layout and saving needs no transposes.
struct LinearSpec {
    var weight: Int
    var bias: Int?
    var inFeatures: Int
    var outFeatures: Int
    var conv1D: Bool
}

/// A norm's weight and (LayerNorm) bias.
struct NormSpec {
    var weight: Int
    var bias: Int?
}

/// Offsets of one block's tensors. q|k|v and gate|up are adjacent in the buffer, so each
/// pair/triple is one fused linear (one gemm over all rows).
struct BlockSpec {
    /// Norms of the attention's input and output, then of the MLP's (nil: none there).
    var attentionNorm: NormSpec?, attentionOutputNorm: NormSpec?
    var mlpNorm: NormSpec?, mlpOutputNorm: NormSpec?
    var qkv: LinearSpec
    /// RMSNorm weights of q and k (`Architecture.QKNorm`), nil without one.
    var qNormWeight: Int?, kNormWeight: Int?
    var out: LinearSpec
    var up: LinearSpec      // GPT-2 c_fc; Llama gate|up (width 2 * intermediate)
    var down: LinearSpec
}

/// The four linear sites of a block; LoRA adapters attach to column ranges of them.
enum LinearSite: Int, CaseIterable { case qkv, out, up, down }

/// A module that LoRA can target: its HF name suffix, site and output column range.
struct TargetModule {
    let name: String       // e.g. "self_attn.q_proj", "attn.c_attn"
    let site: LinearSite
    let columnOffset: Int
    let outFeatures: Int
    let inFeatures: Int
}

/// Every tensor of a model in buffer order, named from its architecture's `TensorNames`:
/// per block the attention norm, q|k|v, output, MLP norm, up, down; then the final norm and
/// an untied head. The order is the checkpoint's and the gradient buffer's: keep it.
struct ArchitectureLayout {
    var layout = ParameterLayout()
    var tokenEmbedding = 0
    var positionEmbedding: Int?
    var blocks: [BlockSpec] = []
    var finalNorm = NormSpec(weight: 0)
    var head = 0
    var blockPrefixes: [String] = []
    var targetModules: [TargetModule] = []
    /// Offsets of the norm scales (a fresh model sets them to 1, or 0 for (1 + w) norms).
    var normWeights: Set<Int> = []
    private let names: TensorNames

    init(_ c: ModelConfig) {
        let a = c.architecture, C = c.hiddenSize, I = c.intermediateSize
        names = a.names
        tokenEmbedding = layout.add(names.tokenEmbedding, [c.vocabSize, C])
        if a.positions == .learned {
            guard let table = names.positionEmbedding else { preconditionFailure("\(a.modelType): learned positions need a table name") }
            positionEmbedding = layout.add(table, [c.maxPositions, C])
        }
        for l in 0..<c.layers {
            let p = names.blockPrefix + "\(l)."
            blockPrefixes.append(p)
            let attentionNorm = names.attentionNorm.map { addNorm(p + $0, a.norm, width: C) }
            let qkv = addLinear(layer: l, names.qkv, site: .qkv, widths: names.qkv.count == 1 ? [c.qkvDim] : [c.qDim, c.kvDim, c.kvDim],
                                inFeatures: C, bias: a.biasedLinears || c.qkvBias, conv1D: a.conv1D)
            let (qNorm, kNorm) = addQKNorms(prefix: p, c)
            let out = addLinear(layer: l, [names.attentionOutput], site: .out, widths: [C], inFeatures: c.qDim,
                                bias: a.biasedLinears, conv1D: a.conv1D)
            let attentionOutputNorm = names.attentionOutputNorm.map { addNorm(p + $0, a.norm, width: C) }
            let mlpNorm = names.mlpNorm.map { addNorm(p + $0, a.norm, width: C) }
            let up = addLinear(layer: l, names.up, site: .up, widths: names.up.count == 1 ? [c.upDim] : [I, I],
                               inFeatures: C, bias: a.biasedLinears, conv1D: a.conv1D)
            let down = addLinear(layer: l, [names.down], site: .down, widths: [C], inFeatures: I, bias: a.biasedLinears, conv1D: a.conv1D)
            let mlpOutputNorm = names.mlpOutputNorm.map { addNorm(p + $0, a.norm, width: C) }
            blocks.append(BlockSpec(attentionNorm: attentionNorm, attentionOutputNorm: attentionOutputNorm, mlpNorm: mlpNorm,
                                    mlpOutputNorm: mlpOutputNorm, qkv: qkv, qNormWeight: qNorm, kNormWeight: kNorm,
                                    out: out, up: up, down: down))
        }
        finalNorm = addNorm(names.finalNorm, a.norm, width: C)
        head = c.tiedEmbeddings ? tokenEmbedding : layout.add(names.head, [c.vocabSize, C])
    }

    /// A norm's weight, then its bias (LayerNorm).
    private mutating func addNorm(_ name: String, _ kind: Architecture.Norm, width: Int) -> NormSpec {
        let weight = layout.add(name + ".weight", [width])
        normWeights.insert(weight)
        return NormSpec(weight: weight, bias: kind == .layerNorm ? layout.add(name + ".bias", [width]) : nil)
    }

    /// The q and k norm weights: [head_dim] each (per head) or [q width] and [k width].
    private mutating func addQKNorms(prefix: String, _ c: ModelConfig) -> (q: Int?, k: Int?) {
        let kind = c.architecture.qkNorm
        guard kind != .none else { return (nil, nil) }
        guard let q = names.qNorm, let k = names.kNorm else { preconditionFailure("\(c.modelType): q/k norms need tensor names") }
        let perHead = kind == .perHead
        // The family's RMSNorm kind (Gemma 3's q/k norms are (1 + w) norms too).
        let norm = c.architecture.norm
        return (addNorm(prefix + q, norm, width: perHead ? c.headDim : c.qDim).weight,
                addNorm(prefix + k, norm, width: perHead ? c.headDim : c.kvDim).weight)
    }

    /// One fused linear of `modules` (output widths side by side): all weights, then all
    /// biases, so weights and biases are each one contiguous block.
    private mutating func addLinear(layer: Int, _ modules: [String], site: LinearSite, widths: [Int], inFeatures: Int,
                                    bias: Bool, conv1D: Bool) -> LinearSpec {
        let prefix = blockPrefixes[layer]
        var weights: [Int] = [], biases: [Int] = [], column = 0
        for (module, width) in zip(modules, widths) {
            weights.append(layout.add(prefix + module + ".weight", conv1D ? [inFeatures, width] : [width, inFeatures]))
            // Every block has the same modules: LoRA's list needs them once.
            if layer == 0 {
                targetModules.append(TargetModule(name: module, site: site, columnOffset: column, outFeatures: width, inFeatures: inFeatures))
            }
            column += width
        }
        if bias {
            for (module, width) in zip(modules, widths) { biases.append(layout.add(prefix + module + ".bias", [width])) }
        }
        return LinearSpec(weight: weights[0], bias: biases.first, inFeatures: inFeatures, outFeatures: column, conv1D: conv1D)
    }

    /// Names a checkpoint may spell a tensor with besides its own.
    func alternativeNames(_ name: String) -> [String] {
        guard let prefix = names.optionalPrefix, name.hasPrefix(prefix) else { return [] }
        return [String(name.dropFirst(prefix.count))]
    }
}

public extension ModelConfig {
    /// Every tensor this config's model holds, with its shape, in checkpoint order.
    var parameterLayout: ParameterLayout { ArchitectureLayout(self).layout }
}

public extension ModelConfig {
    /// Refuses, before any allocation, a config.json whose model is larger than its weight
    /// files could hold: every parameter takes at least 2 bytes (bf16/f16) on disk.
    func checkFitsWeightFiles(in directory: URL) throws {
        let fm = FileManager.default
        let names = ((try? fm.contentsOfDirectory(atPath: directory.path)) ?? []).filter { $0.hasSuffix(".safetensors") && $0 != "expected.safetensors" }
        let bytes = names.reduce(0) { total, name in
            // The target's size: a Hugging Face cache links its snapshots' files to blobs.
            total + (((try? fm.attributesOfItem(atPath: directory.appendingPathComponent(name).resolvingSymlinksInPath().path))?[.size] as? NSNumber)?.intValue ?? 0)
        }
        guard bytes > 0 else { return }  // no weight files: loading names the missing file
        let parameters = parameterLayout.count
        guard parameters.multipliedReportingOverflow(by: 2).partialValue <= bytes, parameters < Int.max / 2 else {
            throw ModelError.io(path: directory.appendingPathComponent("config.json").path,
                                detail: "its sizes make \(parameters) parameters (at least \(parameters * 2 >> 20) MiB), but the weight files hold \(bytes >> 20) MiB: a size in config.json is wrong")
        }
    }
}
