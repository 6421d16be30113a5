import ArgumentParser
import CommandOptions
import Experiment

/// `xtf run --config FILE.yaml`: the whole job from one file.
struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Score, mask, train every arm, evaluate each and report, from one YAML file (under mpirun: all ranks).",
        discussion: """
            The YAML file (see configs/ for examples; relative paths are relative to the file):
              out: runs/demo            # run directory
              model: models/default     # base model (Hugging Face layout, tokenizer.json beside it)
              tokenizer: ...            # optional, default: the model directory
              score: {data: ..., format: gsm8k, task: math, max-length: 256, ...}   # any `xtf score` option
              train: {max-steps: 100, lr: 3e-4, ...}          # any `xtf train` option, for every arm
              arms:                                           # default: normal and xtf
                normal: {mask: none}
                xtf: {mask: xtf}
                kn-only: {attributes: kn}   # `xtf mask` options give the arm masks of its own
              eval: {task: gsm8k, data: ..., max-new-tokens: 64}  # any `xtf eval` option
              groundtruth: {labels: train.jsonl}                # optional: the detection report
            Keys are the commands' option names. --set SECTION.KEY=VALUE overrides one (several \
            values separated by spaces; arms: \
            arms.NAME.KEY=VALUE). Every stage is skipped when its outputs are complete and \
            resumed when they are partial, so the same command continues a run that stopped.
            """)

    @Option(help: "The run's YAML file.") var config: String
    @Option(name: .customLong("set"), help: "Override a setting: SECTION.KEY=VALUE (repeatable).") var overrides: [String] = []
    @Option(help: "Only these arms, comma-separated (default: every arm of the file).") var arms: String?
    @OptionGroup var global: GlobalOptions

    func run() throws {
        var plan: RunPlan
        do {
            plan = try RunPlan(file: config, overrides: overrides)
            if let arms { plan = try plan.selecting(arms: arms.split(separator: ",").map(String.init)) }
        } catch let error as OptionError {
            throw ValidationError("--\(error.option): \(error.reason)")
        }
        let context = try ClusterContext(global, label: "xtf.run")
        let job = ExperimentJob(plan: plan, world: context.world, log: context.log) { context.announce("xtf run", $0) }
        guard let outcome = try job.run() else { return }
        print(outcome.reportMarkdown)
        print("report: \(outcome.reportFiles.joined(separator: ", "))")
    }
}
