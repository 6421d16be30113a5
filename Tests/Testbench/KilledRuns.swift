import ArgumentParser
import Artifacts
import CommandOptions
import Foundation
import Pipeline
import Scoring
import Training

/// `xtf score` whose rank dies (SIGKILL, as from the OOM killer) before its (N+1)-th batch:
/// the resume tests' crash.
struct KilledScore: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "score", abstract: "xtf score, killed before a batch.")

    @OptionGroup var arguments: ScoreArguments
    @OptionGroup var global: GlobalOptions
    @Option(help: "SIGKILL this rank before its (N+1)-th batch.") var killBeforeBatch: Int

    func run() throws {
        let settings = try arguments.settings(), rules = try arguments.masking.settings()
        let context = try ClusterContext(global, label: "xtf.score")
        let stats = try ScoreStage.run(settings, mask: rules, out: arguments.out, resume: arguments.resume, world: context.world,
                                       log: context.log) { KilledBeforeBatch($0, batch: killBeforeBatch) }
        if context.world.isRoot { print(stats.summary) }
    }
}

/// A scorer that kills its process before its (N+1)-th batch.
final class KilledBeforeBatch: BaseModel {
    let inner: BaseModel
    var batchesLeft: Int

    init(_ inner: BaseModel, batch: Int) { self.inner = inner; batchesLeft = batch }

    var contextLength: Int { inner.contextLength }
    var endOfText: Int32? { inner.endOfText }

    func score(_ batch: [TokenizedSample], layers: RIVariant, uniformRelative: Bool) throws -> [ResponseScores] {
        if batchesLeft == 0 { kill(getpid(), SIGKILL) }
        batchesLeft -= 1
        return try inner.score(batch, layers: layers, uniformRelative: uniformRelative)
    }

    func meanFinalHidden(_ sequences: [[Int32]]) throws -> [[Float]] { try inner.meanFinalHidden(sequences) }
}

/// `xtf train` with the trainer's hooks: rank 0 killed after a step (the resume tests), or the
/// first step's gradient after the all-reduce written to a file (the gradient tests).
struct ObservedTrain: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "train", abstract: "xtf train, killed after a step or with its gradient kept.")

    @OptionGroup var arguments: TrainArguments
    @OptionGroup var global: GlobalOptions
    @Option(help: "SIGKILL rank 0 after this step (1-based).") var killAtStep: Int?
    @Option(help: "Write the first step's gradient (after the all-reduce) to this safetensors file (rank 0).") var dumpGradient: String?

    func run() throws {
        let job = try arguments.job()
        let context = try ClusterContext(global, label: "xtf.train")
        let isRoot = context.world.isRoot
        var hooks = TrainStage.Hooks()
        if let killAtStep {
            hooks.afterStep = { record in if record.step + 1 == killAtStep && isRoot { kill(getpid(), SIGKILL) } }
        }
        if let dumpGradient, isRoot {
            hooks.gradient = { step, gradient in
                guard step == 0 else { return }
                var file = SafetensorsWriter()
                file.add("gradient", shape: [gradient.count], floats: gradient)
                try file.write(to: dumpGradient)
            }
        }
        let records = try TrainStage.run(job, out: arguments.out, resume: arguments.resume, onBadRecord: arguments.data.onBadRecord,
                                         timeline: arguments.timeline, world: context.world, log: context.log, hooks: hooks)
        if isRoot, let last = records.last { print("trained \(records.count) steps; last loss \(String(format: "%.5f", last.loss))") }
    }
}
