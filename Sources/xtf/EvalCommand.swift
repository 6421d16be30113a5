import ArgumentParser
import CommandOptions
import Foundation
import Pipeline

/// `xtf eval`: task metrics of a checkpoint, the work sharded over the ranks.
struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Evaluate a checkpoint: GSM8K exact match, PubMedQA accuracy, HumanEval pass@k, perplexity.",
        discussion: """
            GSM8K compares the number after "####" (else the last number) with the reference; \
            PubMedQA the yes/no/maybe after "Final answer:"; HumanEval runs each completion with \
            the problem's tests in python3 (no network when `unshare --net` is allowed) with a \
            timeout. Items are sharded over the ranks; rank 0 prints the table and writes --out.
            """)

    @OptionGroup var arguments: EvalArguments
    @OptionGroup var global: GlobalOptions

    func run() throws {
        let settings = try arguments.settings()
        let context = try ClusterContext(global, label: "xtf.eval")
        let result = try EvalStage.run(model: arguments.model, adapter: arguments.adapter, tokenizer: arguments.tokenizer, settings: settings,
                                       out: arguments.out, generations: arguments.generations, world: context.world)
        guard context.world.isRoot else { return }
        var rows: [(String, String)] = [("task", result.task.rawValue), ("items", String(result.items))]
        if let a = result.accuracy { rows.append(("accuracy", String(format: "%.4f (%d correct)", a, result.correct ?? 0))) }
        for (name, value) in (result.passAtK ?? [:]).sorted(by: { $0.key < $1.key }) { rows.append((name, String(format: "%.4f", value))) }
        if let p = result.perplexity { rows.append(("perplexity", String(format: "%.4f over %d tokens", p, result.tokens ?? 0))) }
        if let s = result.sandbox { rows.append(("sandbox", s)) }
        if let w = result.weights { rows.append(("weights", w.rawValue)) }
        for (name, value) in rows { print(name.padding(toLength: 12, withPad: " ", startingAt: 0) + value) }
    }
}
