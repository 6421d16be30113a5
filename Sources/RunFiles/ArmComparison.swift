/// report.json of `xtf run`: the arms side by side (and the base model, as arm "base"), which
/// report.md and report.html both render.
public struct ArmComparison: Codable, Sendable {
    /// One trained arm, or the base model.
    public struct Row: Codable, Sendable {
        public var arm: String
        /// The loss mask it trained with ("-" for the base model).
        public var mask: String
        /// The checkpoint evaluated (the base model's directory for "base").
        public var checkpoint: String
        public var steps = 0
        /// Tokens that carried a loss, over all steps.
        public var tokens = 0
        public var finalLoss: Double?
        public var metricName: String?
        public var metric: Double?
        /// The metric minus the baseline arm's on the same items, and its 95% paired-bootstrap
        /// interval [low, high] (graded tasks with a `normal` arm).
        public var difference: Double?
        public var interval: [Double]?

        public init(arm: String, mask: String, checkpoint: String) {
            self.arm = arm; self.mask = mask; self.checkpoint = checkpoint
        }
    }

    public var rows: [Row]

    public init(rows: [Row]) { self.rows = rows }

    /// The evaluation column's name: the first metric any row has.
    public var metricName: String? { rows.first { $0.metricName != nil }?.metricName }

    /// Stored as a bare array of rows (the file's format since it was first written).
    public init(from decoder: Decoder) throws { rows = try [Row](from: decoder) }
    public func encode(to encoder: Encoder) throws { try rows.encode(to: encoder) }

    public static let fileName = "report.json"
}
