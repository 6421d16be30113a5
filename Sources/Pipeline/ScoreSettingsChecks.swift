import Artifacts
import Foundation

extension ScoreSettings {
    /// Refuses settings no run can use, naming the option.
    public func validate() throws {
        func fail(_ field: String, _ reason: String) -> PipelineError { .invalidSetting(field: field, reason: reason) }
        if let recordsPerChunk, recordsPerChunk <= 0 { throw fail("records-per-chunk", "must be > 0, got \(recordsPerChunk)") }
        guard batchSize > 0 else { throw fail("batch-size", "must be > 0, got \(batchSize)") }
        guard batchTokens > 0 else { throw fail("batch-tokens", "must be > 0, got \(batchTokens)") }
        guard maxLength >= 2 else { throw fail("max-length", "must be >= 2, got \(maxLength)") }
        guard !domainWords.isEmpty else { throw fail("domain-words", "must name at least one word") }
    }
}

extension ScoreSettings {
    /// The settings of the scoring run in `layout` (its settings.json).
    public static func read(_ layout: RunLayout) throws -> ScoreSettings {
        guard FileManager.default.fileExists(atPath: layout.settings) else {
            throw PipelineError.corruptRun(path: layout.settings, reason: "missing: is this a run directory written by `xtf score`?")
        }
        return try JSONFiles.read(ScoreSettings.self, from: layout.settings)
    }
}
