import Foundation

/// A split or replace pattern of tokenizer.json: `{"String": ...}` or `{"Regex": ...}`.
/// Finds matches on UTF-8 bytes. The two regexes every byte-level BPE uses (GPT-2's and
/// Llama 3's / cl100k's) are recognised by their text and run by hand-written scanners,
/// which are exact and much faster than a general engine; any other regex runs on
/// NSRegularExpression (ICU), whose `\p{..}` and `\s` classes are the same Unicode classes.
enum Pattern {
    case literal([UInt8])
    case gpt2
    case llama3
    case regex(NSRegularExpression)

    static let gpt2Source = #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#
    static let llama3Source = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#

    static func parse(_ node: JSONNode) throws -> Pattern {
        if node.has("String") { return .literal(Array(try node["String"].string().utf8)) }
        if node.has("Regex") { return try regex(node["Regex"].string(), field: node["Regex"].path) }
        throw node.fail("expected {\"String\": ...} or {\"Regex\": ...}")
    }

    static func regex(_ source: String, field: String) throws -> Pattern {
        switch source {
        case gpt2Source: return .gpt2
        case llama3Source: return .llama3
        default:
            do { return .regex(try NSRegularExpression(pattern: source)) } catch {
                throw TokenizerError.invalidField(field: field, reason: "invalid regex \(source.debugDescription): \(error)")
            }
        }
    }

    /// Byte ranges (indices of `bytes`) of the matches, in order, non-overlapping. Empty
    /// matches are reported as the reference does (they split nothing off).
    func matches(in bytes: ArraySlice<UInt8>) -> [Range<Int>] {
        switch self {
        case .literal(let needle): return Self.literalMatches(needle, in: bytes)
        case .gpt2: return bytes.withUnsafeBufferPointer { PretokenScanner.gpt2($0, base: bytes.startIndex) }
        case .llama3: return bytes.withUnsafeBufferPointer { PretokenScanner.llama3($0, base: bytes.startIndex) }
        case .regex(let re): return Self.regexMatches(re, in: bytes)
        }
    }

    private static func literalMatches(_ needle: [UInt8], in bytes: ArraySlice<UInt8>) -> [Range<Int>] {
        guard !needle.isEmpty, bytes.count >= needle.count else { return [] }
        var out: [Range<Int>] = []
        var i = bytes.startIndex
        let last = bytes.endIndex - needle.count
        while i <= last {
            if bytes[i] == needle[0] && bytes[i..<(i + needle.count)].elementsEqual(needle) {
                out.append(i..<(i + needle.count))
                i += needle.count
            } else {
                i += 1
            }
        }
        return out
    }

    /// NSRegularExpression works in UTF-16 offsets: map them back to UTF-8 bytes.
    private static func regexMatches(_ re: NSRegularExpression, in bytes: ArraySlice<UInt8>) -> [Range<Int>] {
        let string = String(decoding: bytes, as: UTF8.self)
        let ns = string as NSString
        let found = re.matches(in: string, range: NSRange(location: 0, length: ns.length))
        if found.isEmpty { return [] }
        // UTF-16 offset -> UTF-8 offset, for every scalar boundary.
        var u16ToU8 = [Int](repeating: 0, count: ns.length + 1)
        var u16 = 0, u8 = 0
        for s in string.unicodeScalars {
            u16ToU8[u16] = u8
            u16 += s.utf16.count
            u8 += s.utf8.count
        }
        u16ToU8[u16] = u8
        let base = bytes.startIndex
        return found.map { m in
            (base + u16ToU8[m.range.location])..<(base + u16ToU8[m.range.location + m.range.length])
        }
    }
}

/// Hand-written scanners for the GPT-2 and Llama 3 pre-tokenization regexes, with the
/// regexes' leftmost-first alternation and backtracking worked out per alternative.
enum PretokenScanner {
    @inline(__always)
    private static func cls(_ b: UnsafeBufferPointer<UInt8>, _ i: Int) -> (CharClass, Int) {
        let c = b[i]
        if c < 0x80 { return (asciiClass[Int(c)], 1) }
        let (v, n) = UTF8Scan.scalar(b, i)
        return (CharClass.of(v), n)
    }

    private static let asciiClass: [CharClass] = (0..<128).map { CharClass.of(UInt32($0)) }

    /// End of the run of scalars starting at `i` that are in `want`, none of `avoid`.
    @inline(__always)
    private static func run(_ b: UnsafeBufferPointer<UInt8>, _ i: Int, _ want: CharClass) -> Int {
        var j = i
        while j < b.count {
            let (c, n) = cls(b, j)
            if !c.contains(want) { break }
            j += n
        }
        return j
    }

    /// End of a run of `[^\s\p{L}\p{N}]`.
    @inline(__always)
    private static func otherRun(_ b: UnsafeBufferPointer<UInt8>, _ i: Int) -> Int {
        var j = i
        while j < b.count {
            let (c, n) = cls(b, j)
            if !c.isDisjoint(with: [.whitespace, .letter, .number]) { break }
            j += n
        }
        return j
    }

    /// `\s+(?!\S)|\s+` at `i`, which is whitespace: the whole run if it reaches the end or
    /// is one scalar long, else the run without its last scalar.
    @inline(__always)
    private static func whitespace(_ b: UnsafeBufferPointer<UInt8>, _ i: Int) -> Int {
        let end = run(b, i, .whitespace)
        if end == b.count { return end }
        let lastStart = UTF8Scan.previousStart(b, end)
        return lastStart > i ? lastStart : end
    }

    /// GPT-2: `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
    static func gpt2(_ b: UnsafeBufferPointer<UInt8>, base: Int) -> [Range<Int>] {
        var out: [Range<Int>] = []
        out.reserveCapacity(b.count / 4 + 1)
        var i = 0
        while i < b.count {
            let start = i
            var end = -1
            let c0 = b[i]
            if c0 == UInt8(ascii: "'") && i + 1 < b.count {
                let c1 = b[i + 1]
                if c1 == UInt8(ascii: "s") || c1 == UInt8(ascii: "t") || c1 == UInt8(ascii: "m") || c1 == UInt8(ascii: "d") {
                    end = i + 2
                } else if i + 2 < b.count {
                    let c2 = b[i + 2]
                    if (c1 == UInt8(ascii: "r") && c2 == UInt8(ascii: "e")) || (c1 == UInt8(ascii: "v") && c2 == UInt8(ascii: "e"))
                        || (c1 == UInt8(ascii: "l") && c2 == UInt8(ascii: "l")) {
                        end = i + 3
                    }
                }
            }
            if end < 0 {
                let j = (c0 == 0x20 && i + 1 < b.count) ? i + 1 : i
                let (c, _) = cls(b, j)
                if c.contains(.letter) {
                    end = run(b, j, .letter)
                } else if c.contains(.number) {
                    end = run(b, j, .number)
                } else if !c.contains(.whitespace) {
                    end = otherRun(b, j)
                } else {
                    end = whitespace(b, i)
                }
            }
            out.append((base + start)..<(base + end))
            i = end
        }
        return out
    }

    /// Llama 3 / cl100k: `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
    /// ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
    static func llama3(_ b: UnsafeBufferPointer<UInt8>, base: Int) -> [Range<Int>] {
        var out: [Range<Int>] = []
        out.reserveCapacity(b.count / 4 + 1)
        var i = 0
        while i < b.count {
            let end = llama3Match(b, i)
            out.append((base + i)..<(base + end))
            i = end
        }
        return out
    }

    @inline(__always)
    private static func isNewline(_ c: UInt8) -> Bool { c == 0x0A || c == 0x0D }

    /// Case-insensitive contraction letters; `s` also folds from U+017F (long s), as in the
    /// reference's case folding.
    private static func contraction(_ b: UnsafeBufferPointer<UInt8>, _ i: Int) -> Int? {
        guard b[i] == UInt8(ascii: "'"), i + 1 < b.count else { return nil }
        func lower(_ k: Int) -> UInt8 { k < b.count ? (b[k] | 0x20) : 0 }
        switch lower(i + 1) {
        case UInt8(ascii: "s") where b[i + 1] == UInt8(ascii: "s") || b[i + 1] == UInt8(ascii: "S"),
             UInt8(ascii: "t") where b[i + 1] == UInt8(ascii: "t") || b[i + 1] == UInt8(ascii: "T"),
             UInt8(ascii: "m") where b[i + 1] == UInt8(ascii: "m") || b[i + 1] == UInt8(ascii: "M"),
             UInt8(ascii: "d") where b[i + 1] == UInt8(ascii: "d") || b[i + 1] == UInt8(ascii: "D"):
            return i + 2
        default: break
        }
        if b[i + 1] == 0xC5 && i + 2 < b.count && b[i + 2] == 0xBF { return i + 3 }  // 'ſ
        guard i + 2 < b.count, b[i + 1] < 0x80, b[i + 2] < 0x80 else { return nil }
        let pair = (lower(i + 1), lower(i + 2))
        if pair == (UInt8(ascii: "r"), UInt8(ascii: "e")) || pair == (UInt8(ascii: "v"), UInt8(ascii: "e"))
            || pair == (UInt8(ascii: "l"), UInt8(ascii: "l")) {
            return i + 3
        }
        return nil
    }

    private static func llama3Match(_ b: UnsafeBufferPointer<UInt8>, _ i: Int) -> Int {
        if let end = contraction(b, i) { return end }
        let (c, n) = cls(b, i)
        // [^\r\n\p{L}\p{N}]?\p{L}+
        if c.contains(.letter) { return run(b, i, .letter) }
        if !c.contains(.number) && !isNewline(b[i]) && i + n < b.count && cls(b, i + n).0.contains(.letter) {
            return run(b, i + n, .letter)
        }
        // \p{N}{1,3}
        if c.contains(.number) {
            var j = i + n, count = 1
            while count < 3 && j < b.count {
                let (cj, nj) = cls(b, j)
                if !cj.contains(.number) { break }
                j += nj
                count += 1
            }
            return j
        }
        // ' ?[^\s\p{L}\p{N}]+[\r\n]*'
        let j = (b[i] == 0x20 && i + 1 < b.count) ? i + 1 : i
        let cj = j == i ? c : cls(b, j).0
        if cj.isDisjoint(with: [.whitespace, .letter, .number]) {
            var end = otherRun(b, j)
            while end < b.count && isNewline(b[end]) { end += 1 }
            return end
        }
        // Only whitespace is left at i. \s*[\r\n]+: up to the last newline of the run.
        let runEnd = run(b, i, .whitespace)
        var k = runEnd
        while k > i {
            let p = UTF8Scan.previousStart(b, k)
            if isNewline(b[p]) { return k }
            k = p
        }
        return whitespace(b, i)
    }
}
