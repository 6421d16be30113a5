import ArgumentParser
import Cluster
import CommandOptions
import Data
import Foundation
import Pipeline
import Scoring

/// `xtf-testbench pipeline`: the whole score -> mask pipeline under mpirun, with a small
/// deterministic stand-in for the base model and tokenizer, so the tests can check the
/// coordinator, the chunk files, resume and the -np independence on real datasets in
/// seconds. (The same pipeline runs with the real model through `xtf score`.)
struct PipelineSelfTest: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "pipeline")

    @OptionGroup var global: GlobalOptions

    @Option(help: "Dataset file.") var data: String
    @Option(help: "Dataset format.") var format: String = "gsm8k"
    @Option(help: "Run directory.") var out: String
    @Option(help: "Records per chunk.") var recordsPerChunk = 16
    @Option(help: "Context length of the stand-in model (bytes).") var context = 512
    @Option(help: "What to do with bad records: fail or skip.") var onBadRecord = "fail"
    @Flag(help: "Continue a run directory.") var resume = false
    @Option(help: "Abort the job after this rank has scored this many chunks (a crash, for resume tests).")
    var crashAfter: Int?

    func run() throws {
        let context = try ClusterContext(global, label: "xtf-testbench")
        guard let format = DatasetFormat(rawValue: format), let policy = BadRecordPolicy(rawValue: onBadRecord) else {
            throw ValidationError("unknown --format or --on-bad-record")
        }
        var spec = DatasetSpec(path: data, format: format)
        spec.maxRecordBytes = 1 << 20
        let settings = ScoreSettings(model: "toy", tokenizer: "bytes", data: spec, task: .math,
                                     recordsPerChunk: recordsPerChunk, batchSize: 4, batchTokens: 2048,
                                     maxLength: self.context, onBadRecord: policy)
        let model = ToyBaseModel(contextLength: self.context, crashAfterBatches: crashAfter.map { $0 * 4 })
        let encoder = ByteEncoder()
        let layout = RunLayout(out)
        try ScoreJob(settings: settings, layout: layout, world: context.world, model: model, encoder: encoder,
                     format: ChatFormat(builtIn: .plain), log: context.log).run(resume: resume)
        let stats = try MaskJob(layout: layout, world: context.world, settings: MaskSettings(), encoder: encoder,
                                log: context.log).run()
        if context.world.isRoot { print(stats.summary) }
    }
}

/// Tokens are UTF-8 bytes.
final class ByteEncoder: TextEncoder {
    func encode(_ text: String, addSpecialTokens: Bool) throws -> [Int32] { text.utf8.map { Int32($0) } }
    func tokenText(_ id: Int32) -> String { String(decoding: [UInt8(truncatingIfNeeded: id)], as: UTF8.self) }
    var vocabularySize: Int { 256 }
}

/// Deterministic scores that look like a model's: PCP skewed towards 1, attention received
/// shrinking with length, NaN at the last position, 16-dimensional token states.
final class ToyBaseModel: BaseModel {
    let contextLength: Int
    let endOfText: Int32? = nil
    private var batchesLeft: Int?

    init(contextLength: Int, crashAfterBatches: Int?) {
        self.contextLength = contextLength
        batchesLeft = crashAfterBatches
    }

    static func unit(_ a: Int32, _ b: Int32, _ c: Int) -> Float {
        var h = UInt64(bitPattern: Int64(a)) &* 0x9E37_79B9_7F4A_7C15 ^ UInt64(bitPattern: Int64(b)) &* 0xC2B2_AE3D_27D4_EB4F
        h ^= UInt64(c) &* 0x1656_67B1_9E37_79F9
        h ^= h >> 29; h = h &* 0xBF58_476D_1CE4_E5B9; h ^= h >> 32
        return Float(h >> 40) / Float(1 << 24)
    }

    func score(_ batch: [TokenizedSample], layers: RIVariant, uniformRelative: Bool) throws -> [ResponseScores] {
        if let left = batchesLeft {
            if left == 0 {
                writeToStandardError("selftest: crashing on purpose\n")
                MPIRuntime.abort(exitCode: 3)
            }
            batchesLeft = left - 1
        }
        return batch.map { s in
            let n = s.ids.count
            var pcp: [Float] = [], ri: [Float] = []
            for p in s.responseStart..<n {
                pcp.append(Float(pow(Double(Self.unit(s.ids[p - 1], s.ids[p], p)), 0.3)))
                ri.append(p == n - 1 ? .nan : Self.unit(s.ids[p], 7, p) * 2 / Float(n))
            }
            return ResponseScores(pcp: pcp, ri: ri)
        }
    }

    func meanFinalHidden(_ sequences: [[Int32]]) throws -> [[Float]] {
        sequences.map { ids in
            (0..<16).map { j in ids.reduce(Float(0)) { $0 + sin(Float($1) * Float(j + 1) * 0.37 + Float(j)) } / Float(ids.count) }
        }
    }
}
