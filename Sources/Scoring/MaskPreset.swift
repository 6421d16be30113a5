/// Named rule sets: `xtf mask --preset NAME`, `preset: NAME` in a plan's rules. Options given
/// beside a preset override its values.
public enum MaskPreset: String, Codable, Hashable, Sendable, CaseIterable {
    /// The paper's rules, xtf's default (docs/METHOD.md sections 2-4).
    case paper
    /// The variant chosen on detection of the noise families' data seeds 1-3, before any
    /// held-out seed was looked at (docs/RESULTS.md, "Choosing the preset"): KN alone, up to
    /// 30% of a response, and a clause at least half flagged masked whole. Of the variants
    /// tried it had the highest precision over chance on the harmful families, finding more
    /// of their noise than the paper's rules.
    case xtfPlus = "xtf-plus"

    public var settings: MaskSettings {
        switch self {
        case .paper:
            return MaskSettings()
        case .xtfPlus:
            return MaskSettings(caps: Caps(ri: 0.05, kn: 0.3, tr: 0.05), attributes: .kn, spanClosure: 0.5)
        }
    }
}
