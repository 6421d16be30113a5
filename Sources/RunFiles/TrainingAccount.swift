import Data

/// samples.json of `xtf train`: where every record it was given went, so that nothing is
/// lost silently. `records` is counted where they are read (a scored run's manifest, or the
/// dataset reader's outcomes) and must equal trained + held out + rejected. From a scored
/// run the records are its scored samples (its manifest.json lists the ones it rejected).
public struct TrainingAccount: Codable, Equatable, Sendable {
    /// The scored run directory or the dataset file.
    public var source: String
    public var records: Int
    public var trained: Int
    /// The ids of the samples held out for validation.
    public var heldOut: [String]
    public var rejected: [RejectedRecord]

    public init(source: String, records: Int, trained: Int, heldOut: [String], rejected: [RejectedRecord]) {
        self.source = source
        self.records = records
        self.trained = trained
        self.heldOut = heldOut
        self.rejected = rejected
    }

    public var reconciles: Bool { records == trained + heldOut.count + rejected.count }

    public static let fileName = "samples.json"
}
