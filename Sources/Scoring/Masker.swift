// Turns a sample's scores into per-token flags: each active attribute's rule, then its cap,
// then the union. Pure and deterministic: the same scores and settings give the same bytes on
// any rank.

/// A sample's mask: which rules flagged each response token (empty = trained on).
public struct SampleMask: Hashable, Sendable {
    public let flags: [Flags]
    /// Tokens each attribute's rule flagged before its cap, indexed ri, kn, tr.
    public let ruleFlagged: [Int]

    /// Tokens masked (flagged by at least one attribute).
    public var maskedCount: Int { flags.reduce(0) { $0 + ($1.isEmpty ? 0 : 1) } }

    /// One byte per response token (`Flags.rawValue`), as the mask files store them.
    public var bytes: [UInt8] { flags.map(\.rawValue) }
}

public struct Masker: Sendable {
    public let settings: MaskSettings
    /// Cluster-wide TR thresholds; needed only when TR is active.
    public let trThresholds: OtsuThresholds?

    public init(settings: MaskSettings, trThresholds: OtsuThresholds?) throws {
        try settings.validate()
        if settings.isActive(.tr) {
            guard let thresholds = trThresholds else { throw ScoringError.missingThresholds }
            guard thresholds.classes == settings.otsuClasses else {
                throw ScoringError.layoutMismatch("TR thresholds have \(thresholds.classes) classes, otsuClasses is \(settings.otsuClasses)")
            }
        }
        self.settings = settings
        self.trThresholds = trThresholds
    }

    public func mask(_ sample: SampleScores) -> SampleMask {
        mask(sample, parameters: RuleParameters(settings))
    }

    /// The mask under rule parameters that may differ from the settings (sensitivity curves).
    func mask(_ sample: SampleScores, parameters: RuleParameters) -> SampleMask {
        var flags = [Flags](repeating: [], count: sample.count)
        var ruleFlagged = [0, 0, 0]
        for (slot, attribute) in Attribute.allCases.enumerated() {
            let (flagged, kept) = select(attribute, in: sample, parameters: parameters)
            ruleFlagged[slot] = flagged
            for position in kept { flags[position].insert(attribute.flag) }
        }
        return SampleMask(flags: flags, ruleFlagged: ruleFlagged)
    }

    /// One attribute: how many tokens its rule flags, and the positions kept after the cap.
    /// An inactive attribute (not in use, or cap 0) flags nothing.
    func select(_ attribute: Attribute, in sample: SampleScores, parameters: RuleParameters) -> (flagged: Int, kept: [Int]) {
        guard settings.isActive(attribute) else { return (0, []) }
        let values = sample.values(of: attribute)
        let positions: [Int]
        switch attribute {
        case .ri: positions = Rules.ri(values, k: parameters.kIQR, fence: settings.riFence)
        case .kn: positions = Rules.kn(values, tau: parameters.tauKN)
        case .tr:
            // isActive(.tr) implies init checked the thresholds exist.
            positions = Rules.tr(values, thresholds: trThresholds!, flagClasses: parameters.flagClasses)
        }
        let limit = CapSelection.limit(fraction: settings.caps[attribute], tokens: sample.count)
        // Most extreme: lowest RI, highest PCP, lowest TR (log is monotone: the same order).
        let kept = CapSelection.mostExtreme(positions, limit: limit, scores: values, lowestFirst: attribute != .kn)
        return (positions.count, kept)
    }
}

/// The rule thresholds a mask is computed under; the settings' values unless a sensitivity
/// curve moves one of them.
struct RuleParameters {
    var kIQR: Double
    var tauKN: Double
    var flagClasses: [Int]

    init(_ settings: MaskSettings) {
        kIQR = settings.kIQR; tauKN = settings.tauKN; flagClasses = settings.flagClasses
    }
}
