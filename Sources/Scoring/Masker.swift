// Turns a sample's scores into per-token flags: each active attribute's rule, then its cap,
// then the union, then the optional refinements (coverage guard, span closure). Pure and
// deterministic: the same scores and settings give the same bytes on any rank.

import Foundation

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
    /// Token ids the coverage guard never masks (from a dataset-wide count, `MaskJob`).
    public let protectedIds: Set<Int32>
    /// Per token id, whether it ends a clause (span closure); ids past the end do not.
    public let clauseEnds: [Bool]

    public init(settings: MaskSettings, trThresholds: OtsuThresholds?, protectedIds: Set<Int32> = [], clauseEnds: [Bool] = []) throws {
        try settings.validate()
        if settings.spanClosure != nil, clauseEnds.isEmpty {
            throw ScoringError.invalidSetting(field: "spanClosure", reason: "needs the vocabulary's clause-ending tokens")
        }
        if settings.isActive(.tr) {
            guard let thresholds = trThresholds else { throw ScoringError.missingThresholds }
            guard thresholds.classes == settings.otsuClasses else {
                throw ScoringError.layoutMismatch("TR thresholds have \(thresholds.classes) classes, otsuClasses is \(settings.otsuClasses)")
            }
        }
        self.settings = settings
        self.trThresholds = trThresholds
        self.protectedIds = protectedIds
        self.clauseEnds = clauseEnds
    }

    /// The sample's mask: the rules' union, refined.
    public func mask(_ sample: SampleScores) -> SampleMask {
        refine(ruleMask(sample), in: sample)
    }

    /// The rules' union before any refinement (what the coverage guard counts).
    public func ruleMask(_ sample: SampleScores) -> SampleMask {
        mask(sample, parameters: RuleParameters(settings))
    }

    /// The coverage guard unmasks protected ids; then span closure masks every clause of
    /// which at least `spanClosure` of the maskable tokens is masked, each added token taking
    /// the union of the clause's flags. Unscored tokens (NaN PCP: template markup) and
    /// protected ids are not maskable.
    func refine(_ mask: SampleMask, in sample: SampleScores) -> SampleMask {
        guard !protectedIds.isEmpty || settings.spanClosure != nil else { return mask }
        var flags = mask.flags
        for i in flags.indices where protectedIds.contains(sample.tokenIds[i]) { flags[i] = [] }
        if let share = settings.spanClosure {
            var start = 0
            for end in flags.indices where end == flags.count - 1 || endsClause(sample.tokenIds[end]) {
                let maskable = (start...end).filter { !sample.pcp[$0].isNaN && !protectedIds.contains(sample.tokenIds[$0]) }
                let masked = maskable.filter { !flags[$0].isEmpty }
                if !masked.isEmpty, Double(masked.count) >= share * Double(maskable.count) {
                    let union = masked.reduce(Flags()) { $0.union(flags[$1]) }
                    for i in maskable where flags[i].isEmpty { flags[i] = union }
                }
                start = end + 1
            }
        }
        return SampleMask(flags: flags, ruleFlagged: mask.ruleFlagged)
    }

    func endsClause(_ id: Int32) -> Bool { id >= 0 && Int(id) < clauseEnds.count && clauseEnds[Int(id)] }

    /// Whether a token's text ends a clause for span closure: it ends a sentence (".", "!",
    /// "?", ";", trailing spaces aside) or holds a line break (raw, or escaped for display).
    public static func endsClause(text: String) -> Bool {
        if text.contains("\n") || text.contains("\\n") || text.contains("<0x0A>") { return true }
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        return [".", "!", "?", ";"].contains { trimmed.hasSuffix($0) }
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
        var values = sample.values(of: attribute)
        var lowestFirst = attribute != .kn
        let positions: [Int]
        switch attribute {
        case .ri: positions = Rules.ri(values, k: parameters.kIQR, fence: settings.riFence)
        case .kn where settings.knScore == .promptGain:
            values = sample.promptGain ?? values.map { _ in .nan }
            lowestFirst = true
            positions = values.indices.filter { Double(values[$0]) < settings.knGainBelow }
        case .kn: positions = Rules.kn(values, tau: parameters.tauKN)
        case .tr:
            // isActive(.tr) implies init checked the thresholds exist.
            positions = Rules.tr(values, thresholds: trThresholds!, flagClasses: parameters.flagClasses)
        }
        // The official code counts the response's own tokens: not the end-of-text token xtf appends (unscored).
        let limit = attribute == .kn && settings.knCapCount == .official
            ? CapSelection.officialUpperTailLimit(fraction: settings.caps[attribute], tokens: sample.pcp.filter { !$0.isNaN }.count)
            : CapSelection.limit(fraction: settings.caps[attribute], tokens: sample.count)
        // Most extreme: lowest RI, highest PCP (lowest prompt gain), lowest TR (log is monotone: the same order).
        let kept = CapSelection.mostExtreme(positions, limit: limit, scores: values, lowestFirst: lowestFirst)
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
