import ArgumentParser
import Foundation
import Pipeline

extension ExportFormat: ExpressibleByArgument {}

/// `xtf export`: a masked run's samples for another trainer.
struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a masked run's samples in the columns TRL or axolotl read (one process; no MPI).",
        discussion: """
            RUN is a scored or masked run (`xtf score`, `xtf mask`) or an `xtf run` directory (its \
            score/ stage). --to trl writes input_ids + completion_mask (1 where a token has a loss; \
            set completion_only_loss=True in SFTConfig: TRL turns it on by itself only for \
            prompt/completion text, and without it trains on every token; with it the mask \
            survives packing); axolotl writes input_ids + \
            attention_mask + labels (-100 where no loss: the prompt and every masked token); \
            jsonl writes id and all three. Load the file with datasets.load_dataset("json", data_files=OUT).
            """)

    @Argument(help: "Run directory.") var runDirectory: String
    @Option(help: "trl | axolotl | jsonl") var to: ExportFormat
    @Option(help: "The JSONL file to write (atomically).") var out: String

    func run() throws {
        // Never into the run: its files are its record (symlinks resolved, so no alias gets in).
        let run = URL(fileURLWithPath: runDirectory).resolvingSymlinksInPath().path + "/"
        let target = URL(fileURLWithPath: out).deletingLastPathComponent().resolvingSymlinksInPath().path + "/"
        if target.hasPrefix(run) {
            throw ValidationError("--out \(out) is inside the run \(runDirectory): write the export elsewhere")
        }
        let summary = try ExportStage.run(runDirectory, to: to, out: out)
        print("wrote \(out): \(summary.records) samples, \(summary.tokens) tokens, \(summary.lossTokens) with a loss (\(to.rawValue))")
    }
}
