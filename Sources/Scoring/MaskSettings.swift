// The knobs of the XTF rules, as a run's settings file holds them. Missing keys take the
// defaults below; unknown keys and out-of-domain values are errors that name the key, so a
// misspelt setting can never silently fall back to a default.

/// Per-sample caps: the largest fraction of a sample's response tokens each attribute may flag.
public struct Caps: Codable, Hashable, Sendable {
    public var ri: Double
    public var kn: Double
    public var tr: Double

    public init(ri: Double = 0.05, kn: Double = 0.10, tr: Double = 0.05) {
        self.ri = ri; self.kn = kn; self.tr = tr
    }

    public subscript(attribute: Attribute) -> Double {
        switch attribute {
        case .ri: return ri
        case .kn: return kn
        case .tr: return tr
        }
    }

    enum CodingKeys: String, CodingKey, CaseIterable { case ri, kn, tr }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        try rejectUnknownKeys(decoder, known: CodingKeys.allCases.map(\.rawValue), prefix: "caps.")
        let d = Caps()
        self.init(ri: try c.decodeIfPresent(Double.self, forKey: .ri) ?? d.ri,
                  kn: try c.decodeIfPresent(Double.self, forKey: .kn) ?? d.kn,
                  tr: try c.decodeIfPresent(Double.self, forKey: .tr) ?? d.tr)
    }
}

/// Which layers' attention RI averages over (recorded with the scores; used by the model scorer).
public enum RIVariant: String, Codable, Hashable, Sendable {
    case lastLayer = "last-layer"
    case allLayers = "all-layers"
}

/// What RI's lower fence Q1 - k IQR is computed on.
public enum RIFence: String, Codable, Hashable, Sendable, CaseIterable {
    /// The paper's rule, on attention received itself. Attention received is non-negative and
    /// right-skewed within a response, so the fence often lies below zero and flags nothing.
    case iqr
    /// The same rule on log(attention received), where the skew is gone and a low outlier
    /// can fall under the fence.
    case logIQR = "log-iqr"
}

/// How the flagged TR classes are chosen.
public enum TRClassRule: String, Codable, Hashable, Sendable, CaseIterable {
    /// The classes in `flagClasses` (the paper: C2).
    case fixed
    /// The official code's choice (EonHao/XTF `get_score`), from the class shares of the
    /// dataset: see `TRClassChoice.official`. Always C1, up to C1-C(K-1).
    case official
}

/// What KN's rule looks at.
public enum KNScore: String, Codable, Hashable, Sendable, CaseIterable {
    /// The paper: PCP > tauKN (the model already predicts the token).
    case pcp
    /// The prompt gain < knGainBelow: the token is as predictable without the question as
    /// with it (text that answers nothing). Needs a run scored with `--prompt-free-pcp`.
    case promptGain = "prompt-gain"
}

/// How many tokens a per-sample cap lets KN flag.
public enum CapCount: String, Codable, Hashable, Sendable, CaseIterable {
    /// floor(c n), as for RI and TR.
    case floor
    /// The official code's KN count, n - 1 - int(n (1 - c)): one fewer when c n is whole.
    case official
}

public struct MaskSettings: Codable, Hashable, Sendable {
    /// RI flags ri < Q1 - kIQR * (Q3 - Q1), quartiles per sample (paper prints 1; default 1.5).
    public var kIQR: Double
    /// Whether the fence is on RI (the paper) or on log RI.
    public var riFence: RIFence
    /// KN flags pcp > tauKN.
    public var tauKN: Double
    /// Number K of multi-Otsu classes over the cluster-wide TR histogram.
    public var otsuClasses: Int
    /// Flagged TR classes, 0-based: class 0 is C1 (lowest TR, kept), the paper flags C2 = index 1.
    public var flagClasses: [Int]
    public var caps: Caps
    /// Attributes in use; the others flag nothing.
    public var attributes: Flags
    public var riVariant: RIVariant
    /// RI multiplies A[q,p] by (q+1), attention relative to uniform, before averaging.
    public var uniformRelative: Bool
    /// `fixed` uses `flagClasses`; `official` chooses them from the data with `trWeight`.
    public var trClassRule: TRClassRule
    /// The TR weight of the official rule (the official README's 1.0).
    public var trWeight: Double
    public var knCapCount: CapCount
    public var knScore: KNScore
    /// With `knScore` prompt-gain: KN flags a gain below this many nats.
    public var knGainBelow: Double
    /// When set, a token id masked in more than this share of its response occurrences
    /// (dataset-wide, before this guard) is never masked: it protects what every sample needs
    /// ('.', '####', operators, digits) from a rule that keeps firing on it.
    public var coverageGuard: Double?
    /// When set, a clause (response tokens up to and including one that ends a clause) of
    /// which at least this share is masked is masked whole: a mask that leaves a noise
    /// clause's opening word trained still teaches the model to start it.
    public var spanClosure: Double?

    public init(kIQR: Double = 1.5, riFence: RIFence = .iqr, tauKN: Double = 0.95, otsuClasses: Int = 5, flagClasses: [Int] = [1],
                caps: Caps = Caps(), attributes: Flags = .all, riVariant: RIVariant = .lastLayer,
                uniformRelative: Bool = false, trClassRule: TRClassRule = .fixed, trWeight: Double = 1,
                knCapCount: CapCount = .floor, knScore: KNScore = .pcp, knGainBelow: Double = 0.5,
                coverageGuard: Double? = nil, spanClosure: Double? = nil) {
        self.kIQR = kIQR; self.riFence = riFence; self.tauKN = tauKN; self.otsuClasses = otsuClasses; self.flagClasses = flagClasses
        self.caps = caps; self.attributes = attributes; self.riVariant = riVariant
        self.uniformRelative = uniformRelative
        self.trClassRule = trClassRule; self.trWeight = trWeight; self.knCapCount = knCapCount
        self.knScore = knScore; self.knGainBelow = knGainBelow
        self.coverageGuard = coverageGuard; self.spanClosure = spanClosure
    }

    /// Largest K accepted: more classes than this says a mistake, not a finer analysis.
    public static let maxOtsuClasses = 16

    /// Throws `ScoringError.invalidSetting` naming the first field outside its domain.
    public func validate() throws {
        func fail(_ field: String, _ reason: String) -> ScoringError { .invalidSetting(field: field, reason: reason) }
        guard kIQR.isFinite, kIQR >= 0 else { throw fail("kIQR", "must be a finite number >= 0, got \(kIQR)") }
        guard tauKN >= 0, tauKN <= 1 else { throw fail("tauKN", "must lie in [0, 1], got \(tauKN)") }
        guard (2...Self.maxOtsuClasses).contains(otsuClasses) else {
            throw fail("otsuClasses", "must lie in 2...\(Self.maxOtsuClasses), got \(otsuClasses)")
        }
        guard !flagClasses.isEmpty else { throw fail("flagClasses", "must name at least one class") }
        guard flagClasses.allSatisfy({ (0..<otsuClasses).contains($0) }) else {
            throw fail("flagClasses", "classes are 0-based indices below otsuClasses (\(otsuClasses)), got \(flagClasses)")
        }
        guard Set(flagClasses).count == flagClasses.count else { throw fail("flagClasses", "repeats a class: \(flagClasses)") }
        for attribute in Attribute.allCases {
            let cap = caps[attribute]
            guard cap >= 0, cap <= 1 else { throw fail("caps.\(attribute.rawValue)", "must lie in [0, 1], got \(cap)") }
        }
        guard !attributes.isEmpty else { throw fail("attributes", "must name at least one of ri, kn, tr") }
        guard knGainBelow.isFinite else { throw fail("knGainBelow", "must be a finite number, got \(knGainBelow)") }
        guard trWeight.isFinite, trWeight >= 0 else { throw fail("trWeight", "must be a finite number >= 0, got \(trWeight)") }
        if let share = coverageGuard, !(share >= 0 && share <= 1) { throw fail("coverageGuard", "must lie in [0, 1], got \(share)") }
        if let share = spanClosure, !(share > 0 && share <= 1) { throw fail("spanClosure", "must lie in (0, 1], got \(share)") }
    }

    /// Whether the attribute can flag anything: in `attributes` and with a non-zero cap.
    public func isActive(_ attribute: Attribute) -> Bool {
        attributes.contains(attribute.flag) && caps[attribute] > 0
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case kIQR, riFence, tauKN, otsuClasses, flagClasses, caps, attributes, riVariant, uniformRelative
        case trClassRule, trWeight, knCapCount, knScore, knGainBelow, coverageGuard, spanClosure
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        try rejectUnknownKeys(decoder, known: CodingKeys.allCases.map(\.rawValue), prefix: "")
        let d = MaskSettings()
        self.init(kIQR: try c.decodeIfPresent(Double.self, forKey: .kIQR) ?? d.kIQR,
                  riFence: try c.decodeIfPresent(RIFence.self, forKey: .riFence) ?? d.riFence,
                  tauKN: try c.decodeIfPresent(Double.self, forKey: .tauKN) ?? d.tauKN,
                  otsuClasses: try c.decodeIfPresent(Int.self, forKey: .otsuClasses) ?? d.otsuClasses,
                  flagClasses: try c.decodeIfPresent([Int].self, forKey: .flagClasses) ?? d.flagClasses,
                  caps: try c.decodeIfPresent(Caps.self, forKey: .caps) ?? d.caps,
                  attributes: try c.decodeIfPresent(Flags.self, forKey: .attributes) ?? d.attributes,
                  riVariant: try c.decodeIfPresent(RIVariant.self, forKey: .riVariant) ?? d.riVariant,
                  uniformRelative: try c.decodeIfPresent(Bool.self, forKey: .uniformRelative) ?? d.uniformRelative,
                  trClassRule: try c.decodeIfPresent(TRClassRule.self, forKey: .trClassRule) ?? d.trClassRule,
                  trWeight: try c.decodeIfPresent(Double.self, forKey: .trWeight) ?? d.trWeight,
                  knCapCount: try c.decodeIfPresent(CapCount.self, forKey: .knCapCount) ?? d.knCapCount,
                  knScore: try c.decodeIfPresent(KNScore.self, forKey: .knScore) ?? d.knScore,
                  knGainBelow: try c.decodeIfPresent(Double.self, forKey: .knGainBelow) ?? d.knGainBelow,
                  coverageGuard: try c.decodeIfPresent(Double.self, forKey: .coverageGuard),
                  spanClosure: try c.decodeIfPresent(Double.self, forKey: .spanClosure))
        try validate()
    }
}

/// Any key of the decoder's object that `known` lacks is an error naming it.
private func rejectUnknownKeys(_ decoder: Decoder, known: [String], prefix: String) throws {
    struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }
    let keys = try decoder.container(keyedBy: AnyKey.self).allKeys.map(\.stringValue)
    if let unknown = keys.sorted().first(where: { !known.contains($0) }) {
        throw ScoringError.invalidSetting(field: prefix + unknown, reason: "unknown setting (known: \(known.joined(separator: ", ")))")
    }
}
