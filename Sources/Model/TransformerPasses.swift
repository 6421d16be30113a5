import Foundation
import Kernels

extension Transformer {
    // MARK: Public forward

    /// Scores a batch of sequences of any lengths (packed, no padding). Computes the vocab
    /// projection only where `request` needs it and keeps one layer's activations alive.
    public func forward(_ sequences: [[Int32]], _ request: ForwardRequest = ForwardRequest()) throws -> ForwardResult {
        try validate(sequences)
        if let t = request.targets {
            guard t.count == sequences.count, zip(t, sequences).allSatisfy({ $0.count == $1.count }) else {
                throw ModelError.invalidRequest("targets must have one entry per token of each sequence")
            }
        }
        // Maps asked for are kept whole, so no sequence is streamed then.
        let plan = Plan(sequences, heads: config.heads, training: false, streamedAbove: request.attentionMaps ? .max : streamedAbove)
        let a = makeActivations(plan)
        let (ri, maps) = forwardBlocks(sequences, plan: plan, acts: a, received: request.attentionReceived, maps: request.attentionMaps)
        var result = ForwardResult()
        result.attentionReceived = ri
        result.attentionMaps = maps
        let C = config.hiddenSize, V = config.vocabSize
        if request.finalHidden {
            result.finalHidden = (0..<sequences.count).map { b in
                Array(UnsafeBufferPointer(start: a.lnf + plan.offsets[b] * C, count: plan.lengths[b] * C))
            }
        }
        // Head rows: every position (.all) or the positions with a target.
        var rows: [Int] = [], targets: [Int32] = []
        for b in 0..<sequences.count {
            for t in 0..<plan.lengths[b] {
                let target = request.targets?[b][t] ?? -1
                if request.logits == .all || target >= 0 {
                    guard target < V else { throw ModelError.invalidRequest("target \(target) outside the vocabulary") }
                    rows.append(plan.offsets[b] + t); targets.append(target)
                }
            }
        }
        var logitRows: [[Float]] = request.logits == .none ? [] : Array(repeating: [], count: sequences.count)
        var sequenceOfRow = [Int](repeating: 0, count: plan.rows)
        for b in 0..<sequences.count { for t in 0..<plan.lengths[b] { sequenceOfRow[plan.offsets[b] + t] = b } }
        let logProbs = headPass(a.lnf, rows: rows, targets: targets, weights: nil, dlnf: nil, gradHead: nil,
                                logitsSink: request.logits == .none ? nil : { i, logits in
                                    logitRows[sequenceOfRow[rows[i]]].append(contentsOf: logits)
                                })
        result.logits = logitRows
        if request.targets != nil {
            result.targetLogProbs = plan.lengths.map { [Float](repeating: .nan, count: $0) }
            for (i, r) in rows.enumerated() where targets[i] >= 0 {
                let b = sequenceOfRow[r]
                result.targetLogProbs[b][r - plan.offsets[b]] = logProbs[i]
            }
        }
        return result
    }

    /// Right-padded rows [B][T] with their true lengths -> the ragged batch `forward` takes
    /// (padding never enters the model, so its positions are ignored by construction).
    public static func unpad(_ padded: [[Int32]], lengths: [Int]) -> [[Int32]] {
        zip(padded, lengths).map { Array($0.prefix($1)) }
    }

    /// Final-norm states of each id fed alone (position 0): context-free token representations.
    public func singleTokenHidden(ids: [Int32]) throws -> [[Float]] {
        try forward(ids.map { [$0] }, ForwardRequest(finalHidden: true)).finalHidden
    }

    // MARK: LM head

    /// The vocab projection at `rows` only, in chunks of `headChunkRows` (so logits never exist
    /// for the whole batch). Returns log p(target) per row (NaN for target -1). With weights,
    /// also back-propagates loss = sum w * -log p into dlnf rows and the head weight.
    func headPass(_ lnf: UnsafePointer<Float>, rows: [Int], targets: [Int32], weights: [Float]?,
                  dlnf: UnsafeMutablePointer<Float>?, gradHead: UnsafeMutablePointer<Float>?,
                  logitsSink: ((Int, UnsafeBufferPointer<Float>) -> Void)?) -> [Float] {
        // Scoring needs only log p(target): the vocabulary in tiles, never a row's whole logits.
        if weights == nil && logitsSink == nil { return headLogProbs(lnf, rows: rows, targets: targets) }
        let C = config.hiddenSize, V = config.vocabSize
        let chunk = headRowsPerChunk
        let M = rows.count
        var out = [Float](repeating: .nan, count: M)
        guard M > 0 else { return out }
        let scratch = headScratch.ensure(chunk * (2 * C + V))
        let h = scratch, dh = scratch + chunk * C, logits = scratch + 2 * chunk * C
        let w = p + arch.head
        // The whole vocabulary at once, unless the weights are mapped (blocks of 32 MiB in fp32).
        let blockRows = frozen == nil ? V : mappedHeadBlock
        let headBlocks = stride(from: 0, to: V, by: blockRows).map { $0..<min(V, $0 + blockRows) }
        out.withUnsafeMutableBufferPointer { outBuf in
            let lp = SharedPointer(outBuf.baseAddress!)
            for start in stride(from: 0, to: M, by: chunk) {
                let n = min(chunk, M - start)
                for i in 0..<n { (h + i * C).update(from: lnf + rows[start + i] * C, count: C) }
                // Mapped weights: the head widened a block of the vocabulary at a time.
                for block in headBlocks {
                    frozen?.materialize(headRows: block, store: parameters)
                    gemm(.none, .transposed, m: n, n: block.count, k: C, a: h, lda: C, b: w + block.lowerBound * C, ldb: C,
                         c: logits + block.lowerBound, ldc: V)
                    frozen?.release(headRows: block, store: parameters)
                }
                if let cap = config.finalLogitSoftcap { softcapInPlace(logits, count: n * V, cap: cap) }
                if let logitsSink {
                    for i in 0..<n { logitsSink(start + i, UnsafeBufferPointer(start: logits + i * V, count: V)) }
                }
                parallelChunks(n, minimumPerWorker: 4) { range in
                    for i in range {
                        let row = logits + i * V
                        let lse = fastLogSumExp(row, count: V)
                        let t = targets[start + i]
                        if t >= 0 { lp.p[start + i] = row[Int(t)] - lse }
                        if let weights {
                            // d(-w log p_t)/dlogit_j = w (softmax_j - [j == t]).
                            let wt = weights[start + i]
                            if let cap = config.finalLogitSoftcap {
                                // Through the cap: times 1 - tanh^2 = 1 - (capped / cap)^2.
                                for j in 0..<V {
                                    let z = row[j], ratio = z / cap
                                    row[j] = (wt * expf(z - lse) - (j == Int(t) ? wt : 0)) * (1 - ratio * ratio)
                                }
                                continue
                            }
                            scaledExpInPlace(row, count: V, shift: lse, scale: wt)
                            if t >= 0 { row[Int(t)] -= wt }
                        }
                    }
                }
                guard weights != nil, let dlnf else { continue }
                for block in headBlocks {
                    frozen?.materialize(headRows: block, store: parameters)
                    gemm(.none, .none, m: n, n: C, k: block.count, a: logits + block.lowerBound, lda: V, b: w + block.lowerBound * C, ldb: C,
                         beta: block.lowerBound == 0 ? 0 : 1, c: dh, ldc: C)
                    frozen?.release(headRows: block, store: parameters)
                }
                for i in 0..<n {
                    let d = dlnf + rows[start + i] * C, s = dh + i * C
                    for j in 0..<C { d[j] += s[j] }
                }
                if let gradHead {
                    gemm(.transposed, .none, m: V, n: C, k: n, a: logits, lda: V, b: h, ldb: C, beta: 1, c: gradHead, ldc: C)
                }
            }
        }
        return out
    }

    /// Rows of the LM head per chunk. Mapped weights widen the whole head once per chunk, so
    /// they take larger chunks (up to 2^27 logits, 512 MiB, where whole rows are kept).
    var headRowsPerChunk: Int {
        max(1, frozen == nil ? headChunkRows : max(headChunkRows, (1 << 27) / max(1, config.vocabSize)))
    }

    /// Vocabulary rows of a mapped head widened at a time (default: 32 MiB of fp32).
    var mappedHeadBlock: Int { max(1, mappedHeadBlockRows ?? (1 << 23) / config.hiddenSize) }

    /// log p(target) at `rows` (NaN for target -1), the vocabulary taken `headTileColumns` at a
    /// time: a tile's logits stay in cache while each row's log-sum-exp is carried across tiles
    /// (the running sum rescaled when a tile raises the row's maximum), so no row's logits are
    /// ever written out whole, nor zeroed, nor read back twice.
    func headLogProbs(_ lnf: UnsafePointer<Float>, rows: [Int], targets: [Int32]) -> [Float] {
        let C = config.hiddenSize, V = config.vocabSize
        let chunk = headRowsPerChunk, tile = max(1, min(V, headTileColumns))
        let M = rows.count
        var out = [Float](repeating: .nan, count: M)
        guard M > 0 else { return out }
        // The chunk's rows, a tile of logits, and per row the running maximum, sum and target logit.
        let scratch = headScratch.ensure(chunk * (C + tile + 3))
        let h = scratch, logits = scratch + chunk * C
        let maximum = logits + chunk * tile, sum = maximum + chunk, targetLogit = sum + chunk
        let (mx, sm, tl) = (SharedPointer(maximum), SharedPointer(sum), SharedPointer(targetLogit))
        let w = p + arch.head
        // Mapped weights: the head widened a block of the vocabulary at a time, in whole tiles
        // (at least one), so no tile straddles a block: the tiles, hence the sums, are fp32's.
        let blockRows = frozen == nil ? V : max(tile, mappedHeadBlock / tile * tile)
        for start in stride(from: 0, to: M, by: chunk) {
            let n = min(chunk, M - start)
            for i in 0..<n { (h + i * C).update(from: lnf + rows[start + i] * C, count: C) }
            for i in 0..<n { maximum[i] = -.infinity; sum[i] = 0; targetLogit[i] = .nan }
            for blockStart in stride(from: 0, to: V, by: blockRows) {
                let block = blockStart..<min(V, blockStart + blockRows)
                frozen?.materialize(headRows: block, store: parameters)
                for tileStart in stride(from: block.lowerBound, to: block.upperBound, by: tile) {
                    let width = min(tile, block.upperBound - tileStart)
                    gemm(.none, .transposed, m: n, n: width, k: C, a: h, lda: C, b: w + tileStart * C, ldb: C,
                         c: logits, ldc: width)
                    if let cap = config.finalLogitSoftcap { softcapInPlace(logits, count: n * width, cap: cap) }
                    parallelChunks(n, minimumPerWorker: 4) { range in
                        for i in range {
                            let row = logits + i * width
                            let tileMax = rowMax(row, count: width)
                            if tileMax > mx.p[i] {
                                if sm.p[i] > 0 { sm.p[i] *= fastExp(mx.p[i] - tileMax) }
                                mx.p[i] = tileMax
                            }
                            sm.p[i] += expSum(row, count: width, shift: mx.p[i])
                            let t = Int(targets[start + i]) - tileStart
                            if t >= 0 && t < width { tl.p[i] = row[t] }
                        }
                    }
                }
                frozen?.release(headRows: block, store: parameters)
            }
            for i in 0..<n where targets[start + i] >= 0 { out[start + i] = targetLogit[i] - (maximum[i] + logf(sum[i])) }
        }
        return out
    }

    // MARK: Training: forward + backward

    /// Forward and backward of loss = sum over positions of weights[b][t] * -log p(targets[b][t])
    /// (weight 0 or target -1: masked, no vocab projection there). Gradients are ADDED to
    /// `gradients` (full fine-tuning; call `enableGradients()` first) or to the LoRA adapter
    /// gradients when LoRA is enabled; zero them between steps. Returns the weighted loss sum.
    @discardableResult
    public func accumulateGradients(_ sequences: [[Int32]], targets: [[Int32]], weights: [[Float]]) throws -> Float {
        try validate(sequences)
        guard targets.count == sequences.count, weights.count == sequences.count,
              zip(targets, sequences).allSatisfy({ $0.count == $1.count }),
              zip(weights, sequences).allSatisfy({ $0.count == $1.count }) else {
            throw ModelError.invalidRequest("targets and weights must have one entry per token of each sequence")
        }
        if lora == nil && gradients == nil { enableGradients() }
        let g: UnsafeMutablePointer<Float>? = lora == nil ? gradients!.base : nil
        let plan = Plan(sequences, heads: config.heads, training: true, streamedAbove: streamedAbove)
        let a = makeActivations(plan)
        _ = forwardBlocks(sequences, plan: plan, acts: a, received: nil, maps: false)

        let c = config, N = plan.rows, C = c.hiddenSize, W = c.qkvDim
        let F = c.upDim
        // A group's map gradient (and raw scores) for the longest sequence whose maps are kept.
        let group = c.heads / c.kvHeads
        let sizes = [N * C, N * C, N * C, N * W, N * c.qDim, N * F, N * c.intermediateSize, group * plan.longestKept * plan.longestKept,
                     c.attentionSoftcap == nil ? 0 : group * plan.longestKept * plan.longestKept]
        let base = backwardScratch.ensure(sizes.reduce(0, +))
        var cursor = 0
        let ptrs = sizes.map { s -> UnsafeMutablePointer<Float> in defer { cursor += s }; return base + cursor }
        let (dres, dlnf, dln, dqkv, dattOut, dfcPre, dfcAct, dP) = (ptrs[0], ptrs[1], ptrs[2], ptrs[3], ptrs[4], ptrs[5], ptrs[6], ptrs[7])
        let rawScores = ptrs[8]

        var rows: [Int] = [], tg: [Int32] = [], wt: [Float] = []
        for b in 0..<sequences.count {
            for t in 0..<plan.lengths[b] where weights[b][t] != 0 && targets[b][t] >= 0 {
                guard Int(targets[b][t]) < c.vocabSize else { throw ModelError.invalidRequest("target \(targets[b][t]) outside the vocabulary") }
                rows.append(plan.offsets[b] + t); tg.append(targets[b][t]); wt.append(weights[b][t])
            }
        }
        dlnf.update(repeating: 0, count: N * C)
        let lp = headPass(a.lnf, rows: rows, targets: tg, weights: wt, dlnf: dlnf,
                          gradHead: g.map { $0 + arch.head }, logitsSink: nil)
        var loss: Float = 0
        for i in 0..<lp.count { loss -= wt[i] * lp[i] }

        dres.update(repeating: 0, count: N * C)
        normBackward(dx: dres, dy: dlnf, x: a.res(c.layers), stats: a.lnfStats, arch.finalNorm, rows: N, grads: g)
        for l in stride(from: c.layers - 1, through: 0, by: -1) {
            frozen?.materialize(layer: l, store: parameters)
            defer { frozen?.release(layer: l, store: parameters) }
            let blk = arch.blocks[l], u = a.loraU(l)
            let dDown = sublayerOutputBackward(dres: dres, norm: blk.mlpOutputNorm, raw: a.mlpRaw(l), stats: a.mlpStats(l),
                                               scratch: dln, rows: N, grads: g)
            linearBackward(blk.down, x: a.fcAct(l), dy: dDown, dx: dfcAct, accumulate: false, rows: N, grads: g, layer: l, site: .down, u: u)
            activationBackward(dx: dfcPre, dy: dfcAct, x: a.fcPre(l), rows: N)
            sublayerInputBackward(blk.up, residual: a.resMid(l), norm: blk.mlpNorm, normed: a.ln2(l), stats: a.ln2Stats(l),
                                  dy: dfcPre, dres: dres, scratch: dln, rows: N, grads: g, layer: l, site: .up, u: u)
            let dOut = sublayerOutputBackward(dres: dres, norm: blk.attentionOutputNorm, raw: a.attnRaw(l), stats: a.attnStats(l),
                                              scratch: dln, rows: N, grads: g)
            linearBackward(blk.out, x: a.attOut(l), dy: dOut, dx: dattOut, accumulate: false, rows: N, grads: g, layer: l, site: .out, u: u)
            dqkv.update(repeating: 0, count: N * W)
            attentionBackward(plan: plan, layer: l, qkv: a.qkv(l), att: a.att(l), dOut: dattOut, dqkv: dqkv, dP: dP, rawScores: rawScores)
            applyRope(dqkv, plan: plan, layer: l, inverse: true)
            normQKBackward(dqkv, raw: a.qkRaw(l), stats: a.qkStats(l), blk, rows: N, grads: g)
            sublayerInputBackward(blk.qkv, residual: a.res(l), norm: blk.attentionNorm, normed: a.ln1(l), stats: a.ln1Stats(l),
                                  dy: dqkv, dres: dres, scratch: dln, rows: N, grads: g, layer: l, site: .qkv, u: u)
            layerBackwardDone?(l)
        }
        if let g {
            var row = 0
            for s in sequences {
                for id in s {
                    let src = dres + row * C, e = g + arch.tokenEmbedding + Int(id) * C
                    if let scale = embeddingScale {
                        for i in 0..<C { e[i] += scale * src[i] }
                    } else {
                        for i in 0..<C { e[i] += src[i] }
                    }
                    if let pe = arch.positionEmbedding {
                        let pp = g + pe + plan.positions[row] * C
                        for i in 0..<C { pp[i] += src[i] }
                    }
                    row += 1
                }
            }
        }
        return loss
    }

    /// Backward of attentionForward per (sequence, KV head), a GQA group's heads stacked as
    /// there; dqkv must be zeroed. `dP` (and, with soft-capped scores, `rawScores`, each
    /// group's scores recomputed before the cap) hold [group * len, len] for sequences whose
    /// maps were kept; a streamed sequence computes each block's probabilities again.
    func attentionBackward(plan: Plan, layer: Int, qkv: UnsafePointer<Float>, att: UnsafePointer<Float>,
                           dOut: UnsafePointer<Float>, dqkv: UnsafeMutablePointer<Float>, dP: UnsafeMutablePointer<Float>,
                           rawScores: UnsafeMutablePointer<Float>) {
        let c = config, W = c.qkvDim, hd = c.headDim, group = c.heads / c.kvHeads
        let scale = c.attentionScale
        let stackRows = group * (plan.lengths.max() ?? 0)
        let stacked = group > 1 ? attentionScratch.ensure(3 * stackRows * hd) : nil
        // Training starts every sequence at 0, so a streamed block is at most its length wide.
        let blockFloats = max(1, attentionQueryBlock) * plan.longestStreamedKeys
        let blockScratch = blockFloats > 0 ? attentionBlockScratch.ensure(3 * blockFloats) : nil
        for b in 0..<plan.lengths.count {
            let len = plan.lengths[b], r0 = plan.offsets[b], rows = group * len
            for kvh in 0..<c.kvHeads {
                let h0 = kvh * group
                let qOff = r0 * W + h0 * hd, kOff = r0 * W + c.qDim + kvh * hd, vOff = kOff + c.kvDim
                // The group's queries, output gradients and query gradients: in place when the
                // group is one head, else stacked [group * len, hd].
                var q = qkv + qOff, ldQ = W, dO = dOut + r0 * c.qDim + h0 * hd, ldDO = c.qDim
                var dQ = dqkv + qOff, ldDQ = W
                if let stacked {
                    stackHeads(q, ld: W, rows: len, heads: group, into: stacked)
                    stackHeads(dO, ld: c.qDim, rows: len, heads: group, into: stacked + stackRows * hd)
                    (q, ldQ, dO, ldDO) = (UnsafePointer(stacked), hd, UnsafePointer(stacked + stackRows * hd), hd)
                    (dQ, ldDQ) = (stacked + 2 * stackRows * hd, hd)
                }
                if plan.streamed[b], let blockScratch {
                    let shape = AttentionShape(heads: group, queries: len, keyOffset: 0, scale: scale, window: c.window(layer: layer))
                    let (p, dp, raw) = (blockScratch, blockScratch + blockFloats, blockScratch + 2 * blockFloats)
                    let pBlock = UnsafeMutableBufferPointer(start: p, count: blockFloats)
                    // Per head and block, as the forward ran, over the keys the block sees.
                    let blocks = queryBlocks(shape)
                    for j in 0..<group {
                        for (i0, n, visible) in blocks {
                            let row = j * len + i0
                            blockProbabilities(shape, firstQuery: i0, count: n, q: q + row * ldQ, ldQ: ldQ, k: qkv + kOff, ldKV: W,
                                               into: pBlock, raw: c.attentionSoftcap == nil ? nil : raw)
                            attentionBlockBackward(p: p, dP: dp, raw: raw, rows: n, keys: visible, q: q + row * ldQ, ldQ: ldQ,
                                                   dO: dO + row * ldDO, ldDO: ldDO, dQ: dQ + row * ldDQ, ldDQ: ldDQ,
                                                   overwriteDQ: stacked != nil, kOff: kOff, qkv: qkv, dqkv: dqkv)
                        }
                    }
                } else {
                    let pm = att + plan.mapOffset(sequence: b, head: h0)
                    if c.attentionSoftcap != nil {
                        gemm(.none, .transposed, m: rows, n: len, k: hd, alpha: scale, a: q, lda: ldQ, b: qkv + kOff, ldb: W,
                             c: rawScores, ldc: len)
                    }
                    attentionBlockBackward(p: pm, dP: dP, raw: rawScores, rows: rows, keys: len, q: q, ldQ: ldQ, dO: dO, ldDO: ldDO,
                                           dQ: dQ, ldDQ: ldDQ, overwriteDQ: stacked != nil, kOff: kOff, qkv: qkv, dqkv: dqkv)
                }
                if stacked != nil { unstackHeads(dQ, rows: len, heads: group, into: dqkv + qOff, ld: W, add: true) }
            }
        }
    }

    /// One product's backward, `rows` queries (rows of q, dO, dQ) over keys 0 ..< keys with
    /// probabilities `p` [rows, keys]: dV += P^T dO;  dP = dO V^T;  dS = softmax'(dP) (times the
    /// soft-cap's slope at `raw`);  dQ (+)= s dS K;  dK += s dS^T Q.
    func attentionBlockBackward(p: UnsafePointer<Float>, dP: UnsafeMutablePointer<Float>, raw: UnsafePointer<Float>, rows: Int, keys: Int,
                                q: UnsafePointer<Float>, ldQ: Int, dO: UnsafePointer<Float>, ldDO: Int,
                                dQ: UnsafeMutablePointer<Float>, ldDQ: Int, overwriteDQ: Bool,
                                kOff: Int, qkv: UnsafePointer<Float>, dqkv: UnsafeMutablePointer<Float>) {
        let c = config, W = c.qkvDim, hd = c.headDim, vOff = kOff + c.kvDim, scale = c.attentionScale
        gemm(.transposed, .none, m: keys, n: hd, k: rows, a: p, lda: keys, b: dO, ldb: ldDO, beta: 1, c: dqkv + vOff, ldc: W)
        gemm(.none, .transposed, m: rows, n: keys, k: hd, a: dO, lda: ldDO, b: qkv + vOff, ldb: W, c: dP, ldc: keys)
        softmaxBackwardRows(dP, p, rows: rows, cols: keys, ld: keys)
        if let cap = c.attentionSoftcap { softcapBackward(dP, raw: raw, count: rows * keys, cap: cap) }
        gemm(.none, .none, m: rows, n: hd, k: keys, alpha: scale, a: dP, lda: keys, b: qkv + kOff, ldb: W,
             beta: overwriteDQ ? 0 : 1, c: dQ, ldc: ldDQ)
        gemm(.transposed, .none, m: keys, n: hd, k: rows, alpha: scale, a: dP, lda: keys, b: q, ldb: ldQ, beta: 1, c: dqkv + kOff, ldc: W)
    }
}
