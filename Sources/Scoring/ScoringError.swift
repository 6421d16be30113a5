// Every way the Scoring layer refuses its input, each naming what was wrong.

public enum ScoringError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A setting outside its domain; `field` is the setting's key as written in the settings JSON.
    case invalidSetting(field: String, reason: String)
    /// A sample whose per-token arrays differ in length.
    case lengthMismatch(field: String, expected: Int, actual: Int)
    /// Two statistics (or a statistic and thresholds) built with different layouts cannot merge.
    case layoutMismatch(String)
    /// A packed Int64 array of the wrong length for its layout.
    case packedLength(what: String, expected: Int, actual: Int)
    /// A packed Int64 array holding a negative count (a corrupted or wrongly reduced buffer).
    case negativeCount(what: String)
    /// The TR attribute is in use but no cluster-wide thresholds were given.
    case missingThresholds

    public var description: String {
        switch self {
        case let .invalidSetting(field, reason): return "invalid setting \(field): \(reason)"
        case let .lengthMismatch(field, expected, actual):
            return "sample field \(field) has \(actual) values, expected \(expected) (one per response token)"
        case let .layoutMismatch(what): return "layouts differ: \(what)"
        case let .packedLength(what, expected, actual):
            return "packed \(what) has \(actual) Int64 values, expected \(expected)"
        case let .negativeCount(what): return "packed \(what) holds a negative count"
        case .missingThresholds: return "the TR attribute is in use but no multi-Otsu thresholds were given"
        }
    }
}
