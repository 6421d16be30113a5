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
            TRL's SFTTrainer builds labels from it with completion_only_loss, its default for \
            pre-tokenized data, and keeps them through packing); axolotl writes input_ids + \
            attention_mask + labels (-100 where no loss: the prompt and every masked token); \
            jsonl writes id and all three. Load the file with datasets.load_dataset("json", data_files=OUT).
            """)

    @Argument(help: "Run directory.") var runDirectory: String
    @Option(help: "trl | axolotl | jsonl") var to: ExportFormat
    @Option(help: "The JSONL file to write (atomically).") var out: String

    func run() throws {
        let source = try ExportStage.maskedFile(of: runDirectory)
        if URL(fileURLWithPath: out).standardizedFileURL.path == URL(fileURLWithPath: source).standardizedFileURL.path {
            throw ValidationError("--out \(out) is the run's own \(MaskedRecord.fileName): write the export elsewhere")
        }
        let summary = try ExportStage.run(runDirectory, to: to, out: out)
        print("wrote \(out): \(summary.records) samples, \(summary.tokens) tokens, \(summary.lossTokens) with a loss (\(to.rawValue))")
    }
}
