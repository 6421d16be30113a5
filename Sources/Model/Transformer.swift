import Artifacts
import Foundation
import Kernels
import Randomness

/// Which attention-received statistic to accumulate during a forward.
public struct AttentionReceivedRequest: Sendable {
    public enum Layers: Sendable { case last, all }
    public var layers: Layers
    /// Multiply A[q, p] by (q + 1), so uniform attention scores 1 at every position.
    public var uniformRelative: Bool
    public init(layers: Layers = .last, uniformRelative: Bool = false) {
        self.layers = layers
        self.uniformRelative = uniformRelative
    }
}

/// What a forward returns besides what it must compute.
public struct ForwardRequest: Sendable {
    public enum Logits: Sendable { case none, atTargets, all }
    /// Per sequence and position: the token whose log-probability to return from that
    /// position's output (the next token), or -1. The vocab projection runs only at positions
    /// with a target (or everywhere with `logits: .all`).
    public var targets: [[Int32]]?
    public var logits: Logits = .none
    public var finalHidden = false
    public var attentionReceived: AttentionReceivedRequest?
    /// Full softmax maps [H, len, len] per layer and sequence (debugging and `xtf model check`).
    public var attentionMaps = false

    public init(targets: [[Int32]]? = nil, logits: Logits = .none, finalHidden: Bool = false,
                attentionReceived: AttentionReceivedRequest? = nil, attentionMaps: Bool = false) {
        self.targets = targets
        self.logits = logits
        self.finalHidden = finalHidden
        self.attentionReceived = attentionReceived
        self.attentionMaps = attentionMaps
    }

    /// Targets that ask for log p(ids[t+1] | ids[...t]) at every position but the last.
    public static func nextTokenTargets(_ sequences: [[Int32]]) -> [[Int32]] {
        sequences.map { s in s.isEmpty ? [] : Array(s.dropFirst()) + [-1] }
    }
}

/// Per-sequence outputs of a forward.
public struct ForwardResult: Sendable {
    /// [b][t]: log-prob of targets[b][t]; NaN where no target was asked.
    public var targetLogProbs: [[Float]] = []
    /// [b]: logits rows, vocab-wide, for every position (`.all`) or the target positions in order.
    public var logits: [[Float]] = []
    /// [b]: [len * hidden] after the final norm.
    public var finalHidden: [[Float]] = []
    /// [b][t]: attention received; NaN at the last position.
    public var attentionReceived: [[Float]] = []
    /// [layer][b]: [heads * len * len].
    public var attentionMaps: [[[Float]]] = []
}

/// A decoder-only transformer of any registered `Architecture` over one contiguous parameter buffer.
/// Not thread-safe: it owns reusable activation arenas (sized by the largest batch seen, so
/// memory stays flat across steps of the same shape).
public final class Transformer {
    public let config: ModelConfig
    let arch: ArchitectureLayout
    /// All parameters, named by their HF tensor names.
    public let parameters: ParameterStore
    /// Gradients of all parameters (same layout); created by `enableGradients()`.
    public private(set) var gradients: ParameterStore?
    /// LoRA adapters; when set, backward computes adapter gradients only (base frozen).
    public private(set) var lora: LoRAAdapters?
    /// For `WeightStorage.mapped`: the checkpoint's tensors, widened into `parameters` (then
    /// reserved address space) a layer at a time.
    var frozen: FrozenWeights?
    public var weightStorage: WeightStorage { frozen == nil ? .fp32 : .mapped }

    let activations = Scratch()
    let backwardScratch = Scratch()
    let headScratch = Scratch()
    /// A GQA group's queries, outputs and their gradients, stacked one head under another.
    let attentionScratch = Scratch()
    /// A streamed sequence's block of probabilities (and in the backward its gradient and raw
    /// scores): `attentionQueryBlock` rows, each at most as wide as the keys the sequence sees.
    let attentionBlockScratch = Scratch()
    /// Per RoPE table (`ModelConfig.ropeTable(layer:)`): cos and sin by position, inverse frequencies.
    var ropeCos: [[Float]] = [], ropeSin: [[Float]] = [], ropePositions = 0
    let ropeInverse: [[Float]]
    /// Rows per chunk of the LM head (logits chunk = rows x vocab floats, <= 128 MiB). Large
    /// chunks matter for training: the head-gradient gemm has k = rows.
    public var headChunkRows: Int
    /// Vocabulary columns per tile of scoring's LM head (`headLogProbs`): a tile of logits of
    /// `headChunkRows` rows stays in the core's cache.
    public var headTileColumns = 512
    /// Queries per block of attention for sequences longer than one block, which are streamed:
    /// each block is multiplied by only the keys it can see (the causal upper triangle is never
    /// computed) and its probabilities live only while the block runs, so no [heads, T, T] map
    /// is kept (the backward computes each block's again). Memory then grows with T, not T^2,
    /// per layer kept for the backward. Sequences of one block or less keep their maps and one
    /// gemm per product for a whole GQA group, which streaming did not beat at 256 tokens
    /// (blocks of 64 or 128); at 512 tokens blocks of 128 scored slower than blocks of 256
    /// (docs/BENCHMARKS.md).
    public var attentionQueryBlock = 256
    /// Sequences longer than this are streamed (`attentionQueryBlock`).
    var streamedAbove: Int { max(1, attentionQueryBlock) }
    /// Bytes of the arenas the passes have mapped so far (activations, work buffers), which stay
    /// mapped for later passes of the same or smaller shapes.
    public var workingMemoryBytes: Int {
        [activations, backwardScratch, headScratch, attentionScratch, attentionBlockScratch]
            .reduce(0) { $0 + $1.capacity * MemoryLayout<Float>.stride }
    }
    /// With mapped weights, vocabulary rows of the LM head widened at a time (nil: 32 MiB of
    /// fp32; in scoring rounded down to whole tiles of `headTileColumns`, at least one).
    public var mappedHeadBlockRows: Int?
    /// Called during `accumulateGradients` as soon as layer l's gradients are final (layers
    /// finish last to first), so a trainer can start reducing them while earlier layers run.
    public var layerBackwardDone: ((Int) -> Void)?

    /// What token embeddings are multiplied by on the way in (Gemma: sqrt(hidden_size) in float32).
    var embeddingScale: Float? { config.architecture.scaledEmbeddings ? Float(Double(config.hiddenSize).squareRoot()) : nil }

    /// Parameters allocated but not set: for `load`, which reads every one from the file (or,
    /// `reserved`, widens them as they are used).
    init(shapeOf config: ModelConfig, reserved: Bool = false) throws {
        self.config = config
        arch = ArchitectureLayout(config)
        if reserved {
            guard let store = ParameterStore(reservedLayout: arch.layout) else {
                throw ModelError.invalidValue(key: "weights", detail: "the kernel refused \(arch.layout.count * 4) bytes of address space for the mapped weights")
            }
            parameters = store
        } else {
            parameters = ParameterStore(layout: arch.layout)
        }
        ropeInverse = config.architecture.positions != .rope ? []
            : [config.ropeInverseFrequencies()] + (config.slidingLayerRope.map { [config.ropeInverseFrequencies($0)] } ?? [])
        headChunkRows = max(64, min(512, (1 << 25) / max(1, config.vocabSize)))
    }

    /// A model with seeded random weights (norm scales 1, biases 0, matrices N(0, 0.02)).
    public convenience init(config: ModelConfig, seed: UInt64 = 0) {
        try! self.init(shapeOf: config)
        var rng = SeededRandom(seed: seed)
        for e in arch.layout.entries { Self.randomValues(e, arch: arch, config: config, rng: &rng, into: parameters.view(e.name)!) }
    }

    /// One tensor's seeded random values, drawn in layout order.
    static func randomValues(_ e: ParameterEntry, arch: ArchitectureLayout, config: ModelConfig, rng: inout SeededRandom,
                             into v: UnsafeMutableBufferPointer<Float>) {
        // Norm scales start at 1 (stored as 0 for (1 + w) norms); other vectors (biases) at 0.
        if arch.normWeights.contains(e.offset) {
            v.update(repeating: 1 - config.architecture.norm.weightOffset)
        } else if e.shape.count == 1 {
            v.update(repeating: 0)
        } else {
            for i in 0..<v.count { v[i] = 0.02 * rng.normal() }
        }
    }

    /// Writes the checkpoint `Transformer(config:seed:)` then `save(directory:bf16:)` would, a
    /// tensor at a time: a model too large to hold in fp32 (an 8B shape) can still be made.
    public static func writeRandomCheckpoint(config: ModelConfig, seed: UInt64, directory: URL, bf16: Bool) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let arch = ArchitectureLayout(config)
        let writer = try SafetensorsStreamWriter(path: directory.appendingPathComponent("model.safetensors").path, metadata: ["format": "pt"],
                                                 tensors: arch.layout.entries.map { ($0.name, bf16 ? .bf16 : .f32, $0.shape) })
        var rng = SeededRandom(seed: seed)
        for e in arch.layout.entries {
            var values = [Float](repeating: 0, count: e.count)
            values.withUnsafeMutableBufferPointer { randomValues(e, arch: arch, config: config, rng: &rng, into: $0) }
            if bf16 { try writer.append(e.name, bfloat16: values) } else { try writer.append(e.name, floats: values) }
        }
        try writer.commit()
        let file = try AtomicFile(path: directory.appendingPathComponent("config.json").path)
        try file.write(try config.huggingFaceJSON(bf16: bf16))
        try file.commit()
    }

    /// Loads config.json and model.safetensors (or a sharded model.safetensors.index.json),
    /// its weights read into fp32 or left in the mapped files (`WeightStorage`).
    public static func load(directory: URL, weights: WeightStorage = .fp32) throws -> Transformer {
        let config = try ModelConfig(directory: directory)
        try config.checkFitsWeightFiles(in: directory)
        // No random weights first: loadWeights sets every parameter or throws.
        let model = try Transformer(shapeOf: config, reserved: weights == .mapped)
        if weights == .mapped {
            let locate = try weightLocator(directory: directory, layout: model.arch)
            model.frozen = try FrozenWeights(layout: model.arch.layout, arch: model.arch, locate: locate, into: model.parameters)
        } else {
            try model.loadWeights(directory: directory)
        }
        return model
    }

    /// Reads every parameter from the checkpoint, converting F32/F16/BF16 to Float; a NaN or
    /// infinite weight is an error naming the file and tensor.
    public func loadWeights(directory: URL) throws {
        let locate = try Self.weightLocator(directory: directory, layout: arch)
        for e in arch.layout.entries {
            let (file, name) = try locate(e)
            try file.readFiniteFloats(name, expectedShape: e.shape, into: parameters.view(e.name)!)
        }
    }

    /// Finds each parameter's tensor in the checkpoint's file(s), under its name or an alternative one.
    static func weightLocator(directory: URL, layout arch: ArchitectureLayout) throws -> (ParameterEntry) throws -> (SafetensorsFile, String) {
        let index = directory.appendingPathComponent("model.safetensors.index.json")
        var files: [String: SafetensorsFile] = [:]
        var location: [String: SafetensorsFile] = [:]
        if FileManager.default.fileExists(atPath: index.path) {
            guard let data = FileManager.default.contents(atPath: index.path),
                  let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
                  let map = object["weight_map"] as? [String: String] else {
                throw ModelError.io(path: index.path, detail: "no weight_map object")
            }
            for (name, file) in map {
                if files[file] == nil { files[file] = try SafetensorsFile(path: directory.appendingPathComponent(file).path) }
                location[name] = files[file]
            }
        } else {
            let file = try SafetensorsFile(path: directory.appendingPathComponent("model.safetensors").path)
            for name in file.tensors.keys { location[name] = file }
        }
        return { e in
            let candidates = [e.name] + arch.alternativeNames(e.name)
            guard let name = candidates.first(where: { location[$0] != nil }), let file = location[name] else {
                throw ModelError.missingTensor(e.name, path: directory.path)
            }
            return (file, name)
        }
    }

    /// Writes config.json and model.safetensors with HF names and layouts (F32 or BF16), atomically.
    public func save(directory: URL, bf16: Bool = false) throws {
        guard frozen == nil else { throw ModelError.invalidValue(key: "weights", detail: "a model with mapped weights holds no fp32 copy to save") }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        // Streamed from the parameter buffer: a checkpoint never holds a second copy of the model.
        let entries = arch.layout.entries
        let writer = try SafetensorsStreamWriter(path: directory.appendingPathComponent("model.safetensors").path, metadata: ["format": "pt"],
                                                 tensors: entries.map { ($0.name, bf16 ? .bf16 : .f32, $0.shape) })
        for e in entries {
            let v = parameters.view(e.name)!
            if bf16 { try writer.append(e.name, bfloat16: v) } else { try writer.append(e.name, floats: v) }
        }
        try writer.commit()
        let file = try AtomicFile(path: directory.appendingPathComponent("config.json").path)
        try file.write(try config.huggingFaceJSON(bf16: bf16))
        try file.commit()
    }

    /// Allocates (zeroed) the gradient buffer for full fine-tuning.
    public func enableGradients() {
        precondition(frozen == nil, "full fine-tuning needs the weights in fp32 (WeightStorage.fp32)")
        if gradients == nil { gradients = ParameterStore(layout: arch.layout) }
    }

    /// Attaches fresh LoRA adapters (A random, B zero, as PEFT does); the base becomes frozen.
    public func enableLoRA(_ lora: LoRAConfig, seed: UInt64 = 0) throws {
        self.lora = try LoRAAdapters(config: lora, layout: arch, layers: config.layers, seed: seed)
    }

    public func disableLoRA() { lora = nil }

    /// Names of all parameter tensors in buffer order.
    public var parameterNames: [String] { arch.layout.entries.map(\.name) }

    // MARK: Plan of one batch

    /// Packed rows: sequence b occupies rows offsets[b] ..< offsets[b] + lengths[b]; no padding.
    struct Plan {
        let lengths: [Int]
        let offsets: [Int]
        let rows: Int
        let positions: [Int]
        /// Per sequence: offset of its maps within one layer's attention region. Head-major:
        /// head h's [len, keys] map follows head h-1's, so a GQA group's maps form one
        /// [group * len, keys] block (`mapOffset`). Streamed sequences have none.
        let attentionOffsets: [Int]
        /// One layer's attention region: every head's map of every sequence not streamed.
        let attentionPerLayer: Int
        let training: Bool
        /// Per sequence: attention in blocks of queries without a stored map (`attentionQueryBlock`).
        let streamed: [Bool]
        /// Keys seen by the longest streamed sequence (a block's width), and the length of the
        /// longest sequence whose maps are kept; 0 when there is none.
        let longestStreamedKeys: Int, longestKept: Int

        /// Keys each sequence's queries see: its cached prefix (starts) plus the new rows.
        let keys: [Int]
        let starts: [Int]

        /// Sequences of more than `streamedAbove` new tokens are streamed, unless a cached prefix
        /// comes before them: generation's steps after the prompt are one token each, so a
        /// streamed block after a prefix would be a path nothing runs or tests.
        init(_ sequences: [[Int32]], heads: Int, training: Bool, starts: [Int]? = nil, streamedAbove: Int) {
            lengths = sequences.map(\.count)
            self.starts = starts ?? lengths.map { _ in 0 }
            streamed = zip(lengths, self.starts).map { $0 > streamedAbove && $1 == 0 }
            var off: [Int] = [], att: [Int] = [], pos: [Int] = []
            var r = 0, a = 0
            for (b, len) in lengths.enumerated() {
                let start = self.starts[b]
                off.append(r); att.append(a)
                r += len
                if !streamed[b] { a += heads * len * (start + len) }
                pos.append(contentsOf: start..<(start + len))
            }
            keys = zip(lengths, self.starts).map { $0 + $1 }
            longestStreamedKeys = zip(keys, streamed).filter(\.1).map(\.0).max() ?? 0
            longestKept = zip(lengths, streamed).filter { !$0.1 }.map(\.0).max() ?? 0
            offsets = off; rows = r; positions = pos; attentionOffsets = att
            attentionPerLayer = a
            self.training = training
        }

        /// Where head h's [len, keys] map of sequence b starts in a layer's attention region.
        func mapOffset(sequence b: Int, head h: Int) -> Int { attentionOffsets[b] + h * lengths[b] * keys[b] }
    }

    /// Per-layer activation pointers; stride 0 (one slot shared by all layers) in inference.
    struct Slot {
        let base: UnsafeMutablePointer<Float>
        let stride: Int
        @inline(__always) func callAsFunction(_ l: Int) -> UnsafeMutablePointer<Float> { base + l * stride }
    }

    struct Activations {
        let res: Slot, resMid: Slot
        let ln1: Slot, ln1Stats: Slot, qkv: Slot, att: Slot, attOut: Slot
        let ln2: Slot, ln2Stats: Slot, fcPre: Slot, fcAct: Slot
        let loraU: Slot
        /// q|k before their norm and its stats (`QKNorm`); a sublayer's output before its output
        /// norm, after it, and the norm's stats (blocks with output norms).
        let qkRaw: Slot, qkStats: Slot
        let attnRaw: Slot, attnNormed: Slot, attnStats: Slot, mlpRaw: Slot, mlpNormed: Slot, mlpStats: Slot
        let lnf: UnsafeMutablePointer<Float>, lnfStats: UnsafeMutablePointer<Float>
    }

    func makeActivations(_ plan: Plan) -> Activations {
        let c = config, N = plan.rows, L = c.layers, C = c.hiddenSize
        let F = c.upDim
        let loraWidth = (lora?.adaptersPerLayer ?? 0) * (lora?.config.rank ?? 0)
        let slots = plan.training ? L : 1
        var sizes: [(Int, Int)] = []  // (per-slot size, slots)
        sizes.append((N * C, plan.training ? L + 1 : 1))                    // res
        sizes.append((N * C, plan.training ? L : 0))                        // resMid
        for per in [N * C, 2 * N, N * c.qkvDim, plan.attentionPerLayer, N * c.qDim, N * C, 2 * N, N * F, N * c.intermediateSize, N * loraWidth] {
            sizes.append((per, slots))
        }
        sizes.append((N * C, 1)); sizes.append((2 * N, 1))                  // lnf, lnfStats
        let qk = c.architecture.qkNorm == .none ? 0 : c.qDim + c.kvDim
        let attnOut = arch.blocks.first?.attentionOutputNorm == nil ? 0 : 1, mlpOut = arch.blocks.first?.mlpOutputNorm == nil ? 0 : 1
        for per in [N * qk, N * qkNormGroups.total, attnOut * N * C, attnOut * N * C, attnOut * 2 * N,
                    mlpOut * N * C, mlpOut * N * C, mlpOut * 2 * N] {
            sizes.append((per, slots))
        }
        let total = sizes.reduce(0) { $0 + $1.0 * $1.1 + 16 }
        let base = activations.ensure(total)
        var cursor = 0
        var slotsOut: [Slot] = []
        for (per, count) in sizes {
            slotsOut.append(Slot(base: base + cursor, stride: plan.training ? per : 0))
            cursor += per * count + 16
        }
        let res = slotsOut[0]
        let resMid = plan.training ? slotsOut[1] : Slot(base: res.base, stride: 0)
        return Activations(res: res, resMid: resMid, ln1: slotsOut[2], ln1Stats: slotsOut[3], qkv: slotsOut[4],
                           att: slotsOut[5], attOut: slotsOut[6], ln2: slotsOut[7], ln2Stats: slotsOut[8],
                           fcPre: slotsOut[9], fcAct: slotsOut[10], loraU: slotsOut[11],
                           qkRaw: slotsOut[14], qkStats: slotsOut[15], attnRaw: slotsOut[16], attnNormed: slotsOut[17],
                           attnStats: slotsOut[18], mlpRaw: slotsOut[19], mlpNormed: slotsOut[20], mlpStats: slotsOut[21],
                           lnf: slotsOut[12].base, lnfStats: slotsOut[13].base)
    }

    func ensureRope(positions: Int) {
        guard config.architecture.positions == .rope, positions > ropePositions else { return }
        let half = config.headDim / 2
        let n = max(positions, 2 * ropePositions)
        ropeCos = ropeInverse.map { _ in [Float](repeating: 0, count: n * half) }
        ropeSin = ropeCos
        for (table, inverse) in ropeInverse.enumerated() {
            for t in 0..<n {
                for i in 0..<half {
                    let angle = Float(t) * inverse[i]  // float32 product, as HF
                    ropeCos[table][t * half + i] = Float(Foundation.cos(Double(angle)))
                    ropeSin[table][t * half + i] = Float(Foundation.sin(Double(angle)))
                }
            }
        }
        ropePositions = n
    }

    func validate(_ sequences: [[Int32]]) throws {
        for (b, s) in sequences.enumerated() {
            guard !s.isEmpty else { throw ModelError.invalidRequest("sequence \(b) is empty") }
            if config.architecture.positions == .learned, s.count > config.maxPositions {
                throw ModelError.invalidRequest("sequence \(b) has \(s.count) tokens, more than the \(config.maxPositions) learned positions")
            }
            if let bad = s.first(where: { $0 < 0 || Int($0) >= config.vocabSize }) {
                throw ModelError.invalidRequest("sequence \(b) has token id \(bad) outside the vocabulary of \(config.vocabSize)")
            }
        }
    }

    // MARK: Forward

    @inline(__always) var p: UnsafeMutablePointer<Float> { parameters.base }

    /// Runs the blocks and the final norm; accumulates attention received and maps if asked.
    func forwardBlocks(_ sequences: [[Int32]], plan: Plan, acts a: Activations,
                       received: AttentionReceivedRequest?, maps: Bool, cache: KVCache? = nil) -> (ri: [[Float]], maps: [[[Float]]]) {
        let c = config, N = plan.rows, C = c.hiddenSize, L = c.layers
        // Embeddings (+ learned positions).
        let x0 = a.res(0)
        frozen?.materialize(embeddingRows: Set(sequences.joined()), store: parameters)
        var row = 0
        for s in sequences {
            for id in s {
                let dst = x0 + row * C, e = p + arch.tokenEmbedding + Int(id) * C
                if let pe = arch.positionEmbedding {
                    let pp = p + pe + plan.positions[row] * C
                    for i in 0..<C { dst[i] = e[i] + pp[i] }
                } else if let scale = embeddingScale {
                    for i in 0..<C { dst[i] = e[i] * scale }
                } else {
                    dst.update(from: e, count: C)
                }
                row += 1
            }
        }
        // The rows are in x0 now: the table goes back (a tied head widens its own blocks).
        frozen?.releaseEmbedding(store: parameters)
        ensureRope(positions: plan.keys.max() ?? 0)
        // Attention received, summed over heads (and layers) per row of the batch.
        var riAcc = [Float](repeating: 0, count: received == nil ? 0 : N)
        var mapsOut: [[[Float]]] = []
        for l in 0..<L {
            frozen?.materialize(layer: l, store: parameters)
            // With LoRA the backward pass widens the layer again (there, last to first).
            defer { frozen?.release(layer: l, store: parameters) }
            let blk = arch.blocks[l]
            let xin = a.res(l), xmid = a.resMid(l), xout = a.res(l + 1)
            let attentionInput = sublayerInput(xin, norm: blk.attentionNorm, normed: a.ln1(l), stats: a.ln1Stats(l), rows: N)
            linearForward(blk.qkv, x: attentionInput, rows: N, out: a.qkv(l), accumulate: false, layer: l, site: .qkv, u: a.loraU(l))
            normQK(a.qkv(l), raw: a.qkRaw(l), stats: a.qkStats(l), blk, rows: N)
            applyRope(a.qkv(l), plan: plan, layer: l, inverse: false)
            let wantRI = received.map { $0.layers == .all || l == L - 1 } ?? false
            riAcc.withUnsafeMutableBufferPointer { acc in
                attentionForward(plan: plan, qkv: a.qkv(l), att: a.att(l), out: a.attOut(l), layer: l, cache: cache,
                                 received: wantRI ? (acc.baseAddress!, received!.uniformRelative) : nil)
            }
            if maps {
                mapsOut.append((0..<plan.lengths.count).map { b in
                    let len = plan.lengths[b]
                    return (0..<c.heads).flatMap { h in
                        Array(UnsafeBufferPointer(start: a.att(l) + plan.mapOffset(sequence: b, head: h), count: len * len))
                    }
                })
            }
            if xmid != xin { xmid.update(from: xin, count: N * C) }
            addSublayerOutput(blk.out, x: a.attOut(l), residual: xmid, norm: blk.attentionOutputNorm, raw: a.attnRaw(l),
                              normed: a.attnNormed(l), stats: a.attnStats(l), rows: N, layer: l, site: .out, u: a.loraU(l))
            let mlpInput = sublayerInput(xmid, norm: blk.mlpNorm, normed: a.ln2(l), stats: a.ln2Stats(l), rows: N)
            linearForward(blk.up, x: mlpInput, rows: N, out: a.fcPre(l), accumulate: false, layer: l, site: .up, u: a.loraU(l))
            activationForward(a.fcAct(l), a.fcPre(l), rows: N)
            if xout != xmid { xout.update(from: xmid, count: N * C) }
            addSublayerOutput(blk.down, x: a.fcAct(l), residual: xout, norm: blk.mlpOutputNorm, raw: a.mlpRaw(l),
                              normed: a.mlpNormed(l), stats: a.mlpStats(l), rows: N, layer: l, site: .down, u: a.loraU(l))
        }
        norm(a.lnf, a.lnfStats, a.res(L), arch.finalNorm, rows: N)
        // Mean over heads, layers and later queries; NaN where no later query exists.
        var ri: [[Float]] = []
        if let received {
            let layerCount = Float(received.layers == .all ? L : 1)
            ri = zip(plan.offsets, plan.lengths).map { r0, len in
                (0..<len).map { t in t == len - 1 ? .nan : riAcc[r0 + t] / (Float(c.heads) * layerCount * Float(len - 1 - t)) }
            }
        }
        return (ri, mapsOut)
    }

    func norm(_ y: UnsafeMutablePointer<Float>, _ stats: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>,
              _ n: NormSpec, rows: Int) {
        let C = config.hiddenSize, w = n.weight, offset = config.architecture.norm.weightOffset
        parallelChunks(rows, minimumPerWorker: 64) { r in
            let o = r.lowerBound
            if let b = n.bias {
                layerNormForward(y + o * C, stats + 2 * o, x + o * C, p + w, p + b, rows: r.count, c: C, eps: config.normEps)
            } else {
                rmsNormForward(y + o * C, stats + o, x + o * C, p + w, rows: r.count, c: C, eps: config.normEps, weightOffset: offset)
            }
        }
    }

    func normBackward(dx: UnsafeMutablePointer<Float>, dy: UnsafePointer<Float>, x: UnsafePointer<Float>,
                      stats: UnsafePointer<Float>, _ n: NormSpec, rows: Int, grads g: UnsafeMutablePointer<Float>?) {
        let C = config.hiddenSize, w = n.weight
        if let b = n.bias {
            layerNormBackward(dx: dx, dw: g.map { $0 + w }, db: g.map { $0 + b }, dy: dy, x: x, w: p + w, stats: stats, rows: rows, c: C)
        } else {
            rmsNormBackward(dx: dx, dw: g.map { $0 + w }, dy: dy, x: x, w: p + w, stats: stats, rows: rows, c: C,
                            weightOffset: config.architecture.norm.weightOffset)
        }
    }

    func activationForward(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, rows: Int) {
        switch config.architecture.mlp {
        case .geluTanh: geluForward(y, x, count: rows * config.intermediateSize)
        case .swiGLU: swigluForward(y, x, rows: rows, inner: config.intermediateSize)
        case .geGLU: gegluForward(y, x, rows: rows, inner: config.intermediateSize)
        }
    }

    func activationBackward(dx: UnsafeMutablePointer<Float>, dy: UnsafePointer<Float>, x: UnsafePointer<Float>, rows: Int) {
        switch config.architecture.mlp {
        case .geluTanh: geluBackward(dx: dx, dy: dy, x: x, count: rows * config.intermediateSize)
        case .swiGLU: swigluBackward(dgu: dx, dy: dy, gu: x, rows: rows, inner: config.intermediateSize)
        case .geGLU: gegluBackward(dgu: dx, dy: dy, gu: x, rows: rows, inner: config.intermediateSize)
        }
    }

    /// Rotates q and k heads of every row by its position (inverse: the backward on gradients);
    /// nothing in a layer without RoPE.
    func applyRope(_ qkv: UnsafeMutablePointer<Float>, plan: Plan, layer: Int, inverse: Bool) {
        guard config.usesRope(layer: layer) else { return }
        let c = config, W = c.qkvDim, half = c.headDim / 2, table = c.ropeTable(layer: layer)
        ropeCos[table].withUnsafeBufferPointer { cosB in
            ropeSin[table].withUnsafeBufferPointer { sinB in
                let cs = cosB.baseAddress!, sn = sinB.baseAddress!
                parallelChunks(plan.rows, minimumPerWorker: 64) { range in
                    for r in range {
                        let t = plan.positions[r]
                        ropeRotate(qkv + r * W, heads: c.heads + c.kvHeads, headDim: c.headDim,
                                   cos: cs + t * half, sin: sn + t * half, inverse: inverse)
                    }
                }
            }
        }
    }

    /// Softmax attention per (sequence, KV head) with gemms: S = scale Q K^T, P = softmax,
    /// O = P V. The query heads of a GQA group share their keys and values, so their queries
    /// are stacked [group * len, headDim] and each product is one gemm for the whole group
    /// (per-head gemms of 256 x 256 x 64 run far below OpenBLAS's ceiling on two threads).
    /// With a cache, the new rows' k/v are appended to it first and queries attend to it.
    /// With `received`, each query's probabilities are added to the rows before it (its
    /// sequence's rows of the batch, from `plan.offsets`); a streamed block's are read before the next block.
    func attentionForward(plan: Plan, qkv: UnsafeMutablePointer<Float>, att: UnsafeMutablePointer<Float>,
                          out: UnsafeMutablePointer<Float>, layer: Int, cache: KVCache?,
                          received: (acc: UnsafeMutablePointer<Float>, uniformRelative: Bool)? = nil) {
        let c = config, W = c.qkvDim, hd = c.headDim, group = c.heads / c.kvHeads
        let scale = c.attentionScale
        let stackRows = group * (plan.lengths.max() ?? 0)
        let stacked = group > 1 ? attentionScratch.ensure(2 * stackRows * hd) : nil
        let blockFloats = max(1, attentionQueryBlock) * plan.longestStreamedKeys
        let blockProbs = blockFloats > 0 ? UnsafeMutableBufferPointer(start: attentionBlockScratch.ensure(blockFloats), count: blockFloats) : nil
        for b in 0..<plan.lengths.count {
            let len = plan.lengths[b], r0 = plan.offsets[b], start = plan.starts[b]
            if let cache {
                for kvh in 0..<c.kvHeads {
                    for t in 0..<len {
                        let src = qkv + (r0 + t) * W + c.qDim + kvh * hd
                        cache.keys(layer, b, kvh, position: start + t).update(from: src, count: hd)
                        cache.values(layer, b, kvh, position: start + t).update(from: src + c.kvDim, count: hd)
                    }
                }
            }
            for kvh in 0..<c.kvHeads {
                let h0 = kvh * group
                var k = qkv + r0 * W + c.qDim + kvh * hd
                var v = k + c.kvDim
                var ldKV = W
                if let cache { k = cache.keys(layer, b, kvh, position: 0); v = cache.values(layer, b, kvh, position: 0); ldKV = hd }
                // The group's queries and outputs: in place when the group is one head, else
                // stacked [group * len, hd].
                var q = UnsafePointer(qkv + r0 * W + h0 * hd), ldQ = W
                let o = out + r0 * c.qDim + h0 * hd
                var os = o, ldO = c.qDim
                if let stacked {
                    stackHeads(q, ld: W, rows: len, heads: group, into: stacked)
                    (q, ldQ, os, ldO) = (UnsafePointer(stacked), hd, stacked + stackRows * hd, hd)
                }
                let shape = AttentionShape(heads: group, queries: len, keyOffset: start, scale: scale, window: c.window(layer: layer))
                let rows = received.map { (acc: $0.acc + r0, uniformRelative: $0.uniformRelative) }
                if plan.streamed[b] {
                    streamedAttention(shape, q: q, ldQ: ldQ, k: k, v: v, ldKV: ldKV, probs: blockProbs!, out: os, ldOut: ldO, received: rows)
                } else {
                    let probs = att + plan.mapOffset(sequence: b, head: h0)
                    attentionCore(shape, q: q, ldQ: ldQ, k: k, v: v, ldKV: ldKV, probs: probs, out: os, ldOut: ldO)
                    if let rows {
                        for j in 0..<group {
                            addReceived(rows.acc, probs: probs + j * len * (start + len), ld: start + len, firstQuery: 0,
                                        count: len, uniformRelative: rows.uniformRelative)
                        }
                    }
                }
                if stacked != nil { unstackHeads(os, rows: len, heads: group, into: o, ld: c.qDim, add: false) }
            }
        }
    }

    /// One attention product's shape: `heads` query heads stacked [heads * queries, headDim] (row
    /// j * queries + i is head j's query i, at key position i + keyOffset) over the same keys
    /// 0 ..< keyOffset + queries.
    struct AttentionShape {
        let heads: Int, queries: Int, keyOffset: Int
        let scale: Float, window: Int?
        var keys: Int { keyOffset + queries }
    }

    /// Whole products: the heads' maps stacked the same way in `probs` ([heads * queries, keys]),
    /// their outputs in `out`.
    func attentionCore(_ s: AttentionShape, q: UnsafePointer<Float>, ldQ: Int, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                       ldKV: Int, probs: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>, ldOut: Int) {
        let hd = config.headDim, rows = s.heads * s.queries, keys = s.keys
        gemm(.none, .transposed, m: rows, n: keys, k: hd, alpha: s.scale, a: q, lda: ldQ, b: k, ldb: ldKV, c: probs, ldc: keys)
        if let cap = config.attentionSoftcap { softcapInPlace(probs, count: rows * keys, cap: cap) }
        for j in 0..<s.heads {
            causalSoftmaxRows(probs + j * s.queries * keys, rows: s.queries, ld: keys, keyOffset: s.keyOffset, window: s.window)
        }
        gemm(.none, .none, m: rows, n: hd, k: keys, a: probs, lda: keys, b: v, ldb: ldKV, c: out, ldc: ldOut)
    }

    /// Streamed: per head and block of `attentionQueryBlock` queries, the probabilities against
    /// only the keys the block sees, in `probs` (a block's worth), then the block's outputs.
    func streamedAttention(_ s: AttentionShape, q: UnsafePointer<Float>, ldQ: Int, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                           ldKV: Int, probs: UnsafeMutableBufferPointer<Float>, out: UnsafeMutablePointer<Float>, ldOut: Int,
                           received: (acc: UnsafeMutablePointer<Float>, uniformRelative: Bool)?) {
        let hd = config.headDim, blocks = queryBlocks(s), p = probs.baseAddress!
        for j in 0..<s.heads {
            for (i0, n, visible) in blocks {
                let row = j * s.queries + i0
                blockProbabilities(s, firstQuery: i0, count: n, q: q + row * ldQ, ldQ: ldQ, k: k, ldKV: ldKV, into: probs, raw: nil)
                gemm(.none, .none, m: n, n: hd, k: visible, a: p, lda: visible, b: v, ldb: ldKV, c: out + row * ldOut, ldc: ldOut)
                if let received {
                    addReceived(received.acc, probs: p, ld: visible, firstQuery: i0, count: n, uniformRelative: received.uniformRelative)
                }
            }
        }
    }

    /// A streamed sequence's blocks of queries: the first query, how many, and the keys they see.
    func queryBlocks(_ s: AttentionShape) -> [(first: Int, count: Int, visible: Int)] {
        let block = max(1, attentionQueryBlock)
        return stride(from: 0, to: s.queries, by: block).map { i0 in
            let n = min(block, s.queries - i0)
            return (i0, n, s.keyOffset + i0 + n)
        }
    }

    /// One head's block of queries (from `firstQuery`, rows of `q`): softmax(scale q K^T) against
    /// the keys the block sees, [count, visible] in `block`, exactly zero past each query. With
    /// `raw` (as large as `block`), the scores before the soft-cap are kept there (the backward's
    /// slope). The forward and the backward both call this, so the backward sees the forward's values.
    func blockProbabilities(_ s: AttentionShape, firstQuery: Int, count n: Int, q: UnsafePointer<Float>, ldQ: Int,
                            k: UnsafePointer<Float>, ldKV: Int, into block: UnsafeMutableBufferPointer<Float>,
                            raw: UnsafeMutablePointer<Float>?) {
        let visible = s.keyOffset + firstQuery + n, p = block.baseAddress!
        // A scratch sized from the wrong plan would be overrun silently: stop instead.
        precondition(n * visible <= block.count, "attention block of \(n) x \(visible) floats in a scratch of \(block.count)")
        gemm(.none, .transposed, m: n, n: visible, k: config.headDim, alpha: s.scale, a: q, lda: ldQ, b: k, ldb: ldKV,
             c: raw ?? p, ldc: visible)
        if let cap = config.attentionSoftcap {
            if let raw { p.update(from: raw, count: n * visible) }
            softcapInPlace(p, count: n * visible, cap: cap)
        }
        causalSoftmaxRows(p, rows: n, ld: visible, keyOffset: s.keyOffset + firstQuery, window: s.window)
    }

    /// Attention received: each query q's probabilities added to the positions before it,
    /// acc[t] += w(q) p[q][t] for t < q (w = q + 1 with `uniformRelative`, else 1), for `count`
    /// queries from `firstQuery`, one row of `p` each.
    func addReceived(_ acc: UnsafeMutablePointer<Float>, probs p: UnsafePointer<Float>, ld: Int, firstQuery: Int, count: Int,
                     uniformRelative: Bool) {
        for r in 0..<count {
            let q = firstQuery + r, row = p + r * ld
            let wq: Float = uniformRelative ? Float(q + 1) : 1
            for t in 0..<q { acc[t] += wq * row[t] }
        }
    }

    /// Copies `heads` adjacent heads of `rows` rows (row stride `ld`) into [heads * rows, headDim].
    func stackHeads(_ src: UnsafePointer<Float>, ld: Int, rows: Int, heads: Int, into dst: UnsafeMutablePointer<Float>) {
        let hd = config.headDim
        for j in 0..<heads {
            for t in 0..<rows { (dst + (j * rows + t) * hd).update(from: src + t * ld + j * hd, count: hd) }
        }
    }

    /// The inverse of `stackHeads`, writing or adding into the strided rows.
    func unstackHeads(_ src: UnsafePointer<Float>, rows: Int, heads: Int, into dst: UnsafeMutablePointer<Float>, ld: Int, add: Bool) {
        let hd = config.headDim
        for j in 0..<heads {
            for t in 0..<rows {
                let s = src + (j * rows + t) * hd, d = dst + t * ld + j * hd
                if add { for i in 0..<hd { d[i] += s[i] } } else { d.update(from: s, count: hd) }
            }
        }
    }

    /// y (+)= x W^T + b over all rows with one gemm, plus any LoRA adapters of this site.
    func linearForward(_ s: LinearSpec, x: UnsafePointer<Float>, rows: Int, out: UnsafeMutablePointer<Float>,
                       accumulate: Bool, layer: Int, site: LinearSite, u: UnsafeMutablePointer<Float>) {
        let w = p + s.weight
        gemm(.none, s.conv1D ? .none : .transposed, m: rows, n: s.outFeatures, k: s.inFeatures,
             a: x, lda: s.inFeatures, b: w, ldb: s.conv1D ? s.outFeatures : s.inFeatures,
             beta: accumulate ? 1 : 0, c: out, ldc: s.outFeatures)
        if let bias = s.bias {
            let bp = p + bias, n = s.outFeatures
            parallelChunks(rows, minimumPerWorker: 64) { r in
                for i in r { let o = out + i * n; for j in 0..<n { o[j] += bp[j] } }
            }
        }
        lora?.forward(layer: layer, site: site, x: x, rows: rows, out: out, ldOut: s.outFeatures, u: u)
    }

    /// dx (+)= dy W; dW += dy^T x and db += colsum(dy) when `grads` is given (full fine-tuning).
    func linearBackward(_ s: LinearSpec, x: UnsafePointer<Float>, dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>,
                        accumulate: Bool, rows: Int, grads g: UnsafeMutablePointer<Float>?,
                        layer: Int, site: LinearSite, u: UnsafeMutablePointer<Float>) {
        let w = p + s.weight
        if let g {
            if s.conv1D {
                gemm(.transposed, .none, m: s.inFeatures, n: s.outFeatures, k: rows, a: x, lda: s.inFeatures,
                     b: dy, ldb: s.outFeatures, beta: 1, c: g + s.weight, ldc: s.outFeatures)
            } else {
                gemm(.transposed, .none, m: s.outFeatures, n: s.inFeatures, k: rows, a: dy, lda: s.outFeatures,
                     b: x, ldb: s.inFeatures, beta: 1, c: g + s.weight, ldc: s.inFeatures)
            }
            if let bias = s.bias {
                let db = g + bias, n = s.outFeatures
                for i in 0..<rows { let d = dy + i * n; for j in 0..<n { db[j] += d[j] } }
            }
        }
        gemm(.none, s.conv1D ? .transposed : .none, m: rows, n: s.inFeatures, k: s.outFeatures,
             a: dy, lda: s.outFeatures, b: w, ldb: s.conv1D ? s.outFeatures : s.inFeatures,
             beta: accumulate ? 1 : 0, c: dx, ldc: s.inFeatures)
        lora?.backward(layer: layer, site: site, x: x, rows: rows, dy: dy, ldDy: s.outFeatures, dx: dx, u: u)
    }
}
