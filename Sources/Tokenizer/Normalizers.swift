import Foundation

/// tokenizer.json `normalizer`: NFC, NFKC, Lowercase, Prepend, Replace, Strip, Sequence.
indirect enum Normalizer {
    case nfc
    case nfkc
    case lowercase
    case prepend([UInt8])
    case replace(Pattern, [UInt8])
    case strip(left: Bool, right: Bool)
    case sequence([Normalizer])

    static func parse(_ node: JSONNode) throws -> Normalizer? {
        if node.isNull { return nil }
        let type = try node.type()
        switch type {
        case "NFC": return .nfc
        case "NFKC": return .nfkc
        case "Lowercase": return .lowercase
        case "Prepend": return .prepend(Array(try node["prepend"].string().utf8))
        case "Replace": return .replace(try Pattern.parse(node["pattern"]), Array(try node["content"].string().utf8))
        case "Strip":
            return .strip(left: try node["strip_left"].bool(default: true), right: try node["strip_right"].bool(default: true))
        case "Sequence":
            return .sequence(try node["normalizers"].array().compactMap { try parse($0) })
        default:
            throw TokenizerError.unsupported(field: node["type"].path, what: "normalizer \(type.debugDescription)")
        }
    }

    func apply(_ text: NormalizedText) -> NormalizedText {
        switch self {
        case .nfc: return Self.unicodeNormalized(text) { $0.precomposedStringWithCanonicalMapping }
        case .nfkc: return Self.unicodeNormalized(text) { $0.precomposedStringWithCompatibilityMapping }
        case .lowercase: return Self.lowercased(text)
        case .prepend(let content): return text.isEmpty ? text : text.prepending(content)
        case .replace(let pattern, let content): return text.replacing(pattern.matches(in: text.bytes), with: content)
        case .strip(let left, let right): return Self.stripped(text, left: left, right: right)
        case .sequence(let steps): return steps.reduce(text) { $1.apply($0) }
        }
    }

    /// Per-scalar lowercase mapping, without context (as Rust's `char::to_lowercase`).
    private static func lowercased(_ text: NormalizedText) -> NormalizedText {
        if !text.bytes.contains(where: { $0 >= 0x80 || (0x41...0x5A).contains($0) }) { return text }
        return text.rebuilt { b in
            text.forEachScalar { r, v in
                let scalar = Unicode.Scalar(v)!
                if v < 0x80 {
                    let lower: UInt8 = (0x41...0x5A).contains(v) ? UInt8(v) | 0x20 : UInt8(v)
                    b.bytes.append(lower)
                    b.origins.append(text.origin(at: r.lowerBound))
                    return
                }
                let mapped = scalar.properties.lowercaseMapping
                if mapped.unicodeScalars.count == 1 && mapped.unicodeScalars.first == scalar {
                    b.copy(from: text, r)
                } else {
                    b.append(Array(mapped.utf8), origin: span(text, r))
                }
            }
        }
    }

    /// The input range of the bytes at `r`, packed.
    private static func span(_ text: NormalizedText, _ r: Range<Int>) -> UInt64 {
        let o = text.originalRange(r)
        return UInt64(o.lowerBound) << 32 | UInt64(o.upperBound)
    }

    /// NFC / NFKC, normalizing chunks that start at a scalar of combining class 0 so that
    /// output keeps fine-grained origins. Neighbouring chunks that compose with each other
    /// (Hangul jamo, a few scripts' two-starter compositions) are normalized together.
    private static func unicodeNormalized(_ text: NormalizedText, _ normalize: (String) -> String) -> NormalizedText {
        if !text.bytes.contains(where: { $0 >= 0x80 }) { return text }
        let whole = normalize(text.string)
        if whole.utf8.elementsEqual(text.bytes) { return text }
        func string(_ r: Range<Int>) -> String { String(decoding: text.bytes[r], as: UTF8.self) }
        var groups: [Range<Int>] = []
        var groupStart = text.range.lowerBound
        text.forEachScalar { r, v in
            guard r.lowerBound > groupStart, Unicode.Scalar(v)!.properties.canonicalCombiningClass.rawValue == 0 else { return }
            // A composition's second scalar is never ASCII: only then can the chunks compose.
            if v >= 0x80 {
                let before = groupStart..<r.lowerBound
                var end = r.upperBound
                while end < text.range.upperBound, text.bytes[end] & 0xC0 == 0x80 { end += 1 }
                let joined = normalize(string(groupStart..<end))
                // Compared as bytes: String's == is canonical equivalence, true here either way.
                let apart = normalize(string(before)) + normalize(string(r.lowerBound..<end))
                if !joined.utf8.elementsEqual(apart.utf8) { return }
            }
            groups.append(groupStart..<r.lowerBound)
            groupStart = r.lowerBound
        }
        groups.append(groupStart..<text.range.upperBound)
        let result = text.rebuilt { b in
            for g in groups {
                let normalized = normalize(string(g))
                if normalized.utf8.elementsEqual(text.bytes[g]) {
                    b.copy(from: text, g)
                } else {
                    appendAligned(normalized, replacing: g, of: text, to: &b)
                }
            }
        }
        if result.bytes.elementsEqual(whole.utf8) { return result }
        return text.rebuilt { $0.append(Array(whole.utf8), origin: span(text, text.range)) }
    }

    /// Output scalar k takes the origin of input scalar k; extra output scalars take the
    /// origin of the one before, extra input scalars are dropped: the alignment the reference
    /// gets from its normalization (e + U+0301 -> é points at the e; ﬁ -> f i both at ﬁ).
    private static func appendAligned(_ normalized: String, replacing c: Range<Int>, of text: NormalizedText,
                                      to b: inout NormalizedBuilder) {
        var inputs: [UInt64] = []
        text.slice(c).forEachScalar { r, _ in inputs.append(span(text, r)) }
        var previous = inputs.first ?? 0
        for (k, scalar) in normalized.unicodeScalars.enumerated() {
            if k < inputs.count { previous = inputs[k] }
            b.append(scalar: scalar, origin: previous)
        }
    }

    private static func stripped(_ text: NormalizedText, left: Bool, right: Bool) -> NormalizedText {
        var lo = text.range.lowerBound, hi = text.range.upperBound
        var scalars: [(Range<Int>, UInt32)] = []
        text.forEachScalar { scalars.append(($0, $1)) }
        if left {
            for (r, v) in scalars {
                guard CharClass.of(v).contains(.whitespace) else { break }
                lo = r.upperBound
            }
        }
        if right {
            for (r, v) in scalars.reversed() {
                guard r.lowerBound >= lo, CharClass.of(v).contains(.whitespace) else { break }
                hi = r.lowerBound
            }
        }
        return text.slice(lo..<max(lo, hi))
    }
}
