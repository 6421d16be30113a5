import ArgumentParser
import CommandOptions
import Foundation
import Pipeline

/// `xtf train`: masked data-parallel fine-tuning.
struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Fine-tune on what XTF keeps (or a baseline mask), data-parallel over the ranks.",
        discussion: """
            The loss of a step is the sum of unmasked token losses over the whole global batch \
            divided by their global count. Checkpoints go to --out/checkpoint-<step>/ (Hugging \
            Face or PEFT layout); --resume continues from the newest complete one, under any -np.
            """)

    @OptionGroup var arguments: TrainArguments
    @OptionGroup var global: GlobalOptions

    func run() throws {
        let job = try arguments.job()
        let context = try ClusterContext(global, label: "xtf.train")
        let records = try TrainStage.run(job, out: arguments.out, resume: arguments.resume, onBadRecord: arguments.data.onBadRecord,
                                         timeline: arguments.timeline, reportTo: arguments.reportTo, world: context.world, log: context.log)
        if context.world.isRoot, let last = records.last {
            print("trained \(records.count) steps; last loss \(String(format: "%.5f", last.loss))")
        }
    }
}
