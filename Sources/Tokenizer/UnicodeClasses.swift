/// Character classes the pre-tokenizers and regex scanners need, with the reference's
/// semantics (Rust `regex` / Oniguruma, as the `tokenizers` package uses them):
/// `\p{L}` = General_Category L*, `\p{N}` = N*, `\s` = White_Space, `\w` = Alphabetic, M*,
/// Nd, Pc, Join_Control; punctuation = P* plus ASCII punctuation (Rust `is_ascii_punctuation`).
/// Looked up in a table for the BMP (built once), computed for other planes.
struct CharClass: OptionSet, Sendable {
    let rawValue: UInt8
    static let letter = CharClass(rawValue: 1)
    static let number = CharClass(rawValue: 2)
    static let whitespace = CharClass(rawValue: 4)
    static let word = CharClass(rawValue: 8)
    static let punctuation = CharClass(rawValue: 16)

    static func of(_ value: UInt32) -> CharClass {
        if value < 0x10000 { return CharClass(rawValue: bmpTable[Int(value)]) }
        return compute(value)
    }

    private static let bmpTable: [UInt8] = (0..<0x10000).map { compute(UInt32($0)).rawValue }

    private static func compute(_ value: UInt32) -> CharClass {
        guard let scalar = Unicode.Scalar(value) else { return [] }  // surrogates: never in input
        let p = scalar.properties
        var c: CharClass = []
        switch p.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            c.insert(.letter)
        case .decimalNumber:
            c.insert([.number, .word])
        case .letterNumber, .otherNumber:
            c.insert(.number)
        case .nonspacingMark, .spacingMark, .enclosingMark:
            c.insert(.word)
        case .connectorPunctuation:
            c.insert([.word, .punctuation])
        case .dashPunctuation, .openPunctuation, .closePunctuation, .initialPunctuation,
             .finalPunctuation, .otherPunctuation:
            c.insert(.punctuation)
        default:
            break
        }
        if p.isWhitespace { c.insert(.whitespace) }
        if p.isAlphabetic || p.isJoinControl { c.insert(.word) }
        if value < 0x80, scalar.isASCII, (0x21...0x2F).contains(value) || (0x3A...0x40).contains(value)
            || (0x5B...0x60).contains(value) || (0x7B...0x7E).contains(value) {
            c.insert(.punctuation)
        }
        return c
    }
}

/// UTF-8 helpers on buffers known to hold valid UTF-8 (they come from Swift strings).
enum UTF8Scan {
    /// The scalar starting at byte `i` and its length in bytes.
    @inline(__always)
    static func scalar(_ b: UnsafeBufferPointer<UInt8>, _ i: Int) -> (value: UInt32, length: Int) {
        let b0 = UInt32(b[i])
        if b0 < 0x80 { return (b0, 1) }
        if b0 < 0xE0 { return ((b0 & 0x1F) << 6 | UInt32(b[i + 1] & 0x3F), 2) }
        if b0 < 0xF0 {
            return ((b0 & 0x0F) << 12 | UInt32(b[i + 1] & 0x3F) << 6 | UInt32(b[i + 2] & 0x3F), 3)
        }
        return ((b0 & 0x07) << 18 | UInt32(b[i + 1] & 0x3F) << 12 | UInt32(b[i + 2] & 0x3F) << 6
                | UInt32(b[i + 3] & 0x3F), 4)
    }

    /// Length in bytes of the scalar whose first byte is `b0`.
    @inline(__always)
    static func length(_ b0: UInt8) -> Int {
        b0 < 0x80 ? 1 : b0 < 0xE0 ? 2 : b0 < 0xF0 ? 3 : 4
    }

    /// Start of the scalar that ends just before byte `i`.
    @inline(__always)
    static func previousStart(_ b: UnsafeBufferPointer<UInt8>, _ i: Int) -> Int {
        var j = i - 1
        while j > 0 && b[j] & 0xC0 == 0x80 { j -= 1 }
        return j
    }
}
