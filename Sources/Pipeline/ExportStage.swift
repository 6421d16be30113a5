import Artifacts
import Foundation

/// The trainers a masked run can be handed to, and the columns each reads.
public enum ExportFormat: String, Codable, Sendable, CaseIterable {
    /// TRL's SFTTrainer on a processed dataset: `input_ids` and `completion_mask` (1 where a
    /// token has a loss), which TRL turns into labels and keeps through packing when
    /// `completion_only_loss=True` is set (TRL sets it by itself only for prompt/completion
    /// text columns; without it every token is trained on).
    case trl
    /// axolotl's pre-tokenized datasets: `input_ids`, `attention_mask`, `labels`.
    case axolotl
    /// Everything: `id`, `input_ids`, `attention_mask`, `labels`.
    case jsonl
}

/// What `xtf export` wrote.
public struct ExportSummary: Equatable, Sendable {
    public let records: Int
    public let tokens: Int
    /// Tokens with a loss (not the prompt, not masked).
    public let lossTokens: Int
}

/// `xtf export` as a function: a masked run's samples (masked.jsonl) in the columns another
/// trainer reads, written atomically a record at a time (any size), in the run's order.
public enum ExportStage {
    /// The masked.jsonl of `run`: a scored run, or an `xtf run` directory's score/ stage.
    public static func maskedFile(of run: String) throws -> String {
        if let layout = RunLayout.scoringRun(in: run, holding: \.masked) { return layout.masked }
        throw PipelineError.invalidSetting(field: "run", reason: "\(run): no \(MaskedRecord.fileName) here or in score/ (score or mask the run first)")
    }

    public static func run(_ run: String, to format: ExportFormat, out: String) throws -> ExportSummary {
        let source = try maskedFile(of: run)
        let file = try AtomicFile(path: out)
        var records = 0, tokens = 0, lossTokens = 0
        try JSONFiles.forEachLine(MaskedRecord.self, from: source) { record, line in
            guard record.inputIds.count == record.labels.count else {
                throw ArtifactError.unreadable(path: source, line: line,
                                               reason: "\(record.id): \(record.inputIds.count) input_ids but \(record.labels.count) labels")
            }
            let hasLoss = record.labels.map { $0 != -100 }
            try file.write(try JSONFiles.line(Row(format: format, record: record, hasLoss: hasLoss)))
            records += 1
            tokens += record.inputIds.count
            lossTokens += hasLoss.filter { $0 }.count
        }
        try file.commit()
        return ExportSummary(records: records, tokens: tokens, lossTokens: lossTokens)
    }

    /// One exported line: the format's columns only (trainers keep unknown columns and then
    /// fail to collate them).
    struct Row: Encodable {
        let format: ExportFormat
        let record: MaskedRecord
        let hasLoss: [Bool]

        enum Key: String, CodingKey { case id, inputIds = "input_ids", attentionMask = "attention_mask", labels, completionMask = "completion_mask" }

        func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: Key.self)
            if format == .jsonl { try c.encode(record.id, forKey: .id) }
            try c.encode(record.inputIds, forKey: .inputIds)
            switch format {
            case .trl:
                try c.encode(hasLoss.map { $0 ? 1 : 0 }, forKey: .completionMask)
            case .axolotl, .jsonl:
                try c.encode([Int](repeating: 1, count: record.inputIds.count), forKey: .attentionMask)
                try c.encode(record.labels, forKey: .labels)
            }
        }
    }
}
