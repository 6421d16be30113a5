import Foundation

/// Where a run keeps its files. One directory per run; every rank must see the same
/// directory (a shared file system on a cluster).
///
///     settings.json            what decides the scores (checked by --resume)
///     progress.jsonl           one line per finished chunk, appended as chunks finish
///     scores/chunk-NNNNNN.safetensors + .jsonl   per-chunk scores and record index
///     tr.safetensors           TR per token id (computed once per distinct id, shared)
///     masks/chunk-NNNNNN.safetensors             per-chunk flags (which rules fired)
///     parts/...                per-chunk pieces of the outputs below
///     masked.jsonl, tokens.jsonl, stats.json, mask-settings.json, manifest.json
public struct RunLayout: Sendable {
    public let root: String

    public init(_ root: String) { self.root = root }

    public func path(_ relative: String) -> String { (root as NSString).appendingPathComponent(relative) }

    public var settings: String { path("settings.json") }
    public var progress: String { path("progress.jsonl") }
    public var trTable: String { path("tr.safetensors") }
    public var maskSettings: String { path("mask-settings.json") }
    public var stats: String { path("stats.json") }
    public var masked: String { path("masked.jsonl") }
    public var tokens: String { path("tokens.jsonl") }
    public var manifest: String { path("manifest.json") }

    /// The scoring run `directory` names: itself, or its `score/` stage when it is an `xtf run`
    /// directory; nil when neither holds `file` (a path of the layout, e.g. `\.masked`).
    public static func scoringRun(in directory: String, holding file: KeyPath<RunLayout, String>) -> RunLayout? {
        [RunLayout(directory), RunLayout((directory as NSString).appendingPathComponent("score"))]
            .first { FileManager.default.fileExists(atPath: $0[keyPath: file]) }
    }

    static func chunkName(_ index: Int) -> String {
        "chunk-" + String(repeating: "0", count: max(0, 6 - String(index).count)) + String(index)
    }

    /// Paths relative to the run directory, as the manifest lists them.
    public func scoresFile(_ chunk: Int) -> String { "scores/\(Self.chunkName(chunk)).safetensors" }
    public func indexFile(_ chunk: Int) -> String { "scores/\(Self.chunkName(chunk)).jsonl" }
    public func maskFile(_ chunk: Int) -> String { "masks/\(Self.chunkName(chunk)).safetensors" }
    public func maskedPart(_ chunk: Int) -> String { "parts/masked-\(Self.chunkName(chunk)).jsonl" }
    public func tokensPart(_ chunk: Int) -> String { "parts/tokens-\(Self.chunkName(chunk)).jsonl" }
}
