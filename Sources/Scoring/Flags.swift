// Which XTF attribute(s) flagged a token. One byte per response token, written with the masks.

/// One of the three XTF attributes: reasoning importance, knowledge novelty, task relevance.
public enum Attribute: String, CaseIterable, Codable, Sendable {
    case ri, kn, tr

    /// The flag bit this attribute sets.
    public var flag: Flags {
        switch self {
        case .ri: return .ri
        case .kn: return .kn
        case .tr: return .tr
        }
    }
}

/// A set of attributes. As a token's flags: the rules that flagged it after the per-sample caps;
/// any bit set means the token is noise (the union rule). As a setting: the attributes in use.
/// Encoded as a list of attribute names in the fixed order ri, kn, tr.
public struct Flags: OptionSet, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let ri = Flags(rawValue: 1 << 0)
    public static let kn = Flags(rawValue: 1 << 1)
    public static let tr = Flags(rawValue: 1 << 2)
    public static let all: Flags = [.ri, .kn, .tr]

    public init(_ attributes: [Attribute]) {
        self = attributes.reduce(into: Flags()) { $0.insert($1.flag) }
    }

    /// The attributes in this set, in the fixed order ri, kn, tr.
    public var attributes: [Attribute] { Attribute.allCases.filter { contains($0.flag) } }

    public var description: String {
        isEmpty ? "none" : attributes.map(\.rawValue).joined(separator: "+")
    }
}

extension Flags: Codable {
    public init(from decoder: Decoder) throws {
        self.init(try decoder.singleValueContainer().decode([Attribute].self))
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(attributes)
    }
}
