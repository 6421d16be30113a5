// Sensitivity curves: how the masked fraction moves as one rule's threshold moves while the
// other two attributes keep their settings. Counted per sample and summed, so they merge exactly.

/// The threshold values each curve visits. A curve of an inactive attribute is flat.
public struct SensitivityGrid: Codable, Hashable, Sendable {
    public var tauKN: [Double]
    public var kIQR: [Double]
    /// Sets of flagged TR classes (0-based), each one point of the TR curve.
    public var flagClasses: [[Int]]

    public init(tauKN: [Double], kIQR: [Double], flagClasses: [[Int]]) {
        self.tauKN = tauKN; self.kIQR = kIQR; self.flagClasses = flagClasses
    }

    /// tauKN 0.5...0.999, k 0...3, and for TR each single class then C2 with each next class.
    public static func standard(otsuClasses k: Int) -> SensitivityGrid {
        let singles = (0..<k).map { [$0] }
        let widening = k > 2 ? (3...k).map { Array(1..<$0) } : []
        return SensitivityGrid(tauKN: [0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.98, 0.99, 0.999],
                               kIQR: [0, 0.5, 1, 1.5, 2, 2.5, 3],
                               flagClasses: singles + widening)
    }

    /// Points of the curve of one attribute.
    func count(_ attribute: Attribute) -> Int {
        switch attribute {
        case .ri: return kIQR.count
        case .kn: return tauKN.count
        case .tr: return flagClasses.count
        }
    }

    /// The rule parameters at point `i` of an attribute's curve.
    func parameters(_ attribute: Attribute, point i: Int, base: RuleParameters) -> RuleParameters {
        var p = base
        switch attribute {
        case .ri: p.kIQR = kIQR[i]
        case .kn: p.tauKN = tauKN[i]
        case .tr: p.flagClasses = flagClasses[i]
        }
        return p
    }

    func validate(otsuClasses: Int) throws {
        guard flagClasses.allSatisfy({ $0.allSatisfy { (0..<otsuClasses).contains($0) } }) else {
            throw ScoringError.invalidSetting(field: "sensitivity.flagClasses", reason: "classes must lie below otsuClasses (\(otsuClasses))")
        }
    }
}

extension Masker {
    /// For each point of the attribute's curve: (tokens the attribute keeps after its cap,
    /// tokens masked by the union with the other attributes at their settings).
    func sensitivity(of attribute: Attribute, in sample: SampleScores, baseline: SampleMask,
                     grid: SensitivityGrid) -> [(flagged: Int, masked: Int)] {
        let others = baseline.flags.map { $0.subtracting(attribute.flag) }
        let maskedByOthers = others.reduce(0) { $0 + ($1.isEmpty ? 0 : 1) }
        let base = RuleParameters(settings)
        return (0..<grid.count(attribute)).map { i in
            let kept = select(attribute, in: sample, parameters: grid.parameters(attribute, point: i, base: base)).kept
            return (kept.count, maskedByOthers + kept.filter { others[$0].isEmpty }.count)
        }
    }
}
