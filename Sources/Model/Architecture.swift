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

/// Offsets of one block's tensors. q|k|v and gate|up are adjacent in the buffer, so each
/// pair/triple is one fused linear (one gemm over all rows).
struct BlockSpec {
    var norm1Weight: Int, norm1Bias: Int?
    var qkv: LinearSpec
    var out: LinearSpec
    var norm2Weight: Int, norm2Bias: Int?
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

/// Tensor names and layout of an architecture.
struct ArchitectureLayout {
    var layout = ParameterLayout()
    var tokenEmbedding = 0
    var positionEmbedding: Int?
    var blocks: [BlockSpec] = []
    var finalNormWeight = 0, finalNormBias: Int?
    var head = 0
    var blockPrefixes: [String] = []
    var targetModules: [TargetModule] = []

    init(_ c: ModelConfig) {
        let C = c.hiddenSize
        switch c.architecture {
        case .gpt2:
            tokenEmbedding = layout.add("transformer.wte.weight", [c.vocabSize, C])
            positionEmbedding = layout.add("transformer.wpe.weight", [c.maxPositions, C])
            for l in 0..<c.layers {
                let p = "transformer.h.\(l)."
                blockPrefixes.append(p)
                let n1w = layout.add(p + "ln_1.weight", [C]), n1b = layout.add(p + "ln_1.bias", [C])
                let qkvW = layout.add(p + "attn.c_attn.weight", [C, 3 * C]), qkvB = layout.add(p + "attn.c_attn.bias", [3 * C])
                let oW = layout.add(p + "attn.c_proj.weight", [C, C]), oB = layout.add(p + "attn.c_proj.bias", [C])
                let n2w = layout.add(p + "ln_2.weight", [C]), n2b = layout.add(p + "ln_2.bias", [C])
                let fcW = layout.add(p + "mlp.c_fc.weight", [C, c.intermediateSize]), fcB = layout.add(p + "mlp.c_fc.bias", [c.intermediateSize])
                let prW = layout.add(p + "mlp.c_proj.weight", [c.intermediateSize, C]), prB = layout.add(p + "mlp.c_proj.bias", [C])
                blocks.append(BlockSpec(
                    norm1Weight: n1w, norm1Bias: n1b,
                    qkv: LinearSpec(weight: qkvW, bias: qkvB, inFeatures: C, outFeatures: 3 * C, conv1D: true),
                    out: LinearSpec(weight: oW, bias: oB, inFeatures: C, outFeatures: C, conv1D: true),
                    norm2Weight: n2w, norm2Bias: n2b,
                    up: LinearSpec(weight: fcW, bias: fcB, inFeatures: C, outFeatures: c.intermediateSize, conv1D: true),
                    down: LinearSpec(weight: prW, bias: prB, inFeatures: c.intermediateSize, outFeatures: C, conv1D: true)))
            }
            finalNormWeight = layout.add("transformer.ln_f.weight", [C])
            finalNormBias = layout.add("transformer.ln_f.bias", [C])
            targetModules = [
                TargetModule(name: "attn.c_attn", site: .qkv, columnOffset: 0, outFeatures: 3 * C, inFeatures: C),
                TargetModule(name: "attn.c_proj", site: .out, columnOffset: 0, outFeatures: C, inFeatures: C),
                TargetModule(name: "mlp.c_fc", site: .up, columnOffset: 0, outFeatures: c.intermediateSize, inFeatures: C),
                TargetModule(name: "mlp.c_proj", site: .down, columnOffset: 0, outFeatures: C, inFeatures: c.intermediateSize),
            ]
        case .llama:
            tokenEmbedding = layout.add("model.embed_tokens.weight", [c.vocabSize, C])
            let I = c.intermediateSize
            for l in 0..<c.layers {
                let p = "model.layers.\(l)."
                blockPrefixes.append(p)
                let n1w = layout.add(p + "input_layernorm.weight", [C])
                let qW = layout.add(p + "self_attn.q_proj.weight", [c.qDim, C])
                layout.add(p + "self_attn.k_proj.weight", [c.kvDim, C])
                layout.add(p + "self_attn.v_proj.weight", [c.kvDim, C])
                var qB: Int?
                if c.qkvBias {
                    qB = layout.add(p + "self_attn.q_proj.bias", [c.qDim])
                    layout.add(p + "self_attn.k_proj.bias", [c.kvDim])
                    layout.add(p + "self_attn.v_proj.bias", [c.kvDim])
                }
                let oW = layout.add(p + "self_attn.o_proj.weight", [C, c.qDim])
                let n2w = layout.add(p + "post_attention_layernorm.weight", [C])
                let gW = layout.add(p + "mlp.gate_proj.weight", [I, C])
                layout.add(p + "mlp.up_proj.weight", [I, C])
                let dW = layout.add(p + "mlp.down_proj.weight", [C, I])
                blocks.append(BlockSpec(
                    norm1Weight: n1w, norm1Bias: nil,
                    qkv: LinearSpec(weight: qW, bias: qB, inFeatures: C, outFeatures: c.qkvDim, conv1D: false),
                    out: LinearSpec(weight: oW, bias: nil, inFeatures: c.qDim, outFeatures: C, conv1D: false),
                    norm2Weight: n2w, norm2Bias: nil,
                    up: LinearSpec(weight: gW, bias: nil, inFeatures: C, outFeatures: 2 * I, conv1D: false),
                    down: LinearSpec(weight: dW, bias: nil, inFeatures: I, outFeatures: C, conv1D: false)))
            }
            finalNormWeight = layout.add("model.norm.weight", [C])
            targetModules = [
                TargetModule(name: "self_attn.q_proj", site: .qkv, columnOffset: 0, outFeatures: c.qDim, inFeatures: C),
                TargetModule(name: "self_attn.k_proj", site: .qkv, columnOffset: c.qDim, outFeatures: c.kvDim, inFeatures: C),
                TargetModule(name: "self_attn.v_proj", site: .qkv, columnOffset: c.qDim + c.kvDim, outFeatures: c.kvDim, inFeatures: C),
                TargetModule(name: "self_attn.o_proj", site: .out, columnOffset: 0, outFeatures: C, inFeatures: c.qDim),
                TargetModule(name: "mlp.gate_proj", site: .up, columnOffset: 0, outFeatures: I, inFeatures: C),
                TargetModule(name: "mlp.up_proj", site: .up, columnOffset: I, outFeatures: I, inFeatures: C),
                TargetModule(name: "mlp.down_proj", site: .down, columnOffset: 0, outFeatures: C, inFeatures: I),
            ]
        }
        head = c.tiedEmbeddings ? tokenEmbedding : layout.add("lm_head.weight", [c.vocabSize, C])
    }

    /// Names a checkpoint may spell differently: original GPT-2 files lack "transformer.".
    static func alternativeNames(_ name: String) -> [String] {
        name.hasPrefix("transformer.") ? [String(name.dropFirst("transformer.".count))] : []
    }
}
