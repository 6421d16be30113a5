import Foundation

/// Where `xtf run` keeps its files (beside `RunLayout`, the layout of its scoring run):
///
///     run.json, environment.json   the resolved plan, and what it ran on
///     score/                       the scoring run (a RunLayout)
///     arms/NAME/masks/             an arm's own masks (links to score/'s scores)
///     arms/NAME/train/             its training run (checkpoints, losses.jsonl, samples.json)
///     arms/NAME/eval.json, generations.jsonl
///     base-eval.json, base-generations.jsonl
///     report.md, report.json, detection.json, report.html, figures/, manifest.json
public struct ExperimentLayout: Sendable {
    public let root: String

    public init(_ root: String) { self.root = root }

    public func path(_ relative: String) -> String { (root as NSString).appendingPathComponent(relative) }

    public var plan: String { path("run.json") }
    public var environment: String { path("environment.json") }
    public var score: RunLayout { RunLayout(path("score")) }
    public var baseEval: String { path("base-eval.json") }
    public var baseGenerations: String { path("base-generations.jsonl") }
    public var reportMarkdown: String { path("report.md") }
    public var comparison: String { path(ArmComparison.fileName) }
    public var detection: String { path("detection.json") }
    public var reportHTML: String { path("report.html") }
    public var figures: String { path("figures") }
    public var manifest: String { path("manifest.json") }

    /// Relative to the root, as `conflicts` and the manifest name them.
    public func arm(_ name: String) -> String { "arms/\(name)" }
    public func armMasks(_ name: String) -> String { path("arms/\(name)/masks") }
    public func armTraining(_ name: String) -> String { path("arms/\(name)/train") }
    public func armEval(_ name: String) -> String { path("arms/\(name)/eval.json") }
    public func armGenerations(_ name: String) -> String { path("arms/\(name)/generations.jsonl") }
}
