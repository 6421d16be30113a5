import Foundation
import Randomness  // SplitMix64: a seeded generator that gives the same inputs on every machine

/// One way of changing an input; `name` goes into failure messages, so a reader can see
/// which mutations made the input that broke a parser.
struct Mutation: Sendable {
    let name: String
    let apply: @Sendable (inout Mutator, [UInt8]) -> [UInt8]
}

/// Picks mutations and their parameters from a seeded generator. `donors` are other inputs
/// (the seeds and inputs that parsed) that splicing copies from.
struct Mutator {
    var rng: SplitMix64
    var donors: [[UInt8]] = []

    init(seed: UInt64) { rng = SplitMix64(seed: seed) }

    mutating func below(_ n: Int) -> Int { n <= 1 ? 0 : Int.random(in: 0..<n, using: &rng) }
    mutating func pick<T>(_ items: [T]) -> T { items[below(items.count)] }
    mutating func chance(_ p: Double) -> Bool { Double.random(in: 0..<1, using: &rng) < p }

    /// Where to insert into `bytes`: 0...count.
    mutating func position(in bytes: [UInt8]) -> Int { below(bytes.count + 1) }

    /// A short range inside `bytes`, to delete or copy.
    mutating func range(in bytes: [UInt8], maxLength: Int = 64) -> Range<Int> {
        let start = below(bytes.count)
        return start..<min(bytes.count, start + 1 + below(maxLength))
    }

    /// Lengths that cross the usual limits: tiny, a page, past 16 bits, past the dataset
    /// reader's 1 MiB block.
    mutating func size() -> Int { pick([1, 2, 7, 255, 4096, 65_537, (1 << 20) + 1]) }
}

// MARK: Interesting values

enum Interesting {
    /// Bytes that end strings, open structure, end lines, or are not UTF-8.
    static let bytes: [UInt8] = [0x00, 0x0A, 0x0D, 0x20, 0x22, 0x2C, 0x3A, 0x5B, 0x5C, 0x5D, 0x7B, 0x7D,
                                 0x7F, 0x80, 0xBF, 0xC0, 0xE2, 0xF4, 0xFE, 0xFF]

    /// Byte sequences that are invalid or borderline UTF-8, NULs and line separators.
    static let sequences: [[UInt8]] = [
        [0x00], [0xFF, 0xFE], [0xC0, 0x80], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xE2, 0x82],
        [0x80], [0xEF, 0xBB, 0xBF], [0xE2, 0x80, 0xA8], [0x0D], [0x0D, 0x0A], [0x5C], [0x22],
    ]

    /// Numbers around the limits of Int32, UInt32, Int64 and Double, and non-integers.
    static let numbers = [
        "0", "-0", "1", "-1", "2147483647", "2147483648", "-2147483649", "4294967295", "4294967296",
        "9223372036854775807", "9223372036854775808", "-9223372036854775808", "18446744073709551615",
        "18446744073709551616", "123456789012345678901234567890", "1e308", "1e400", "-1e400", "1e-400",
        "0.5", "1.0", "2.5e3", "-7",
    ]

    /// Strings that are empty, hold escapes JSON allows but Swift strings may not (a lone
    /// surrogate), NULs, or names this project gives a meaning to.
    static let strings = [
        #""""#, #""\u0000""#, #""\ud800""#, #""\udc00x""#, #""\"""#, #""\\""#, #""\n""#, "\"\u{FEFF}\"",
        #""<|endoftext|>""#, #""Ġ""#, #""▁""#, #""__metadata__""#, #""F32""#, #""BOOL""#, #""F8_E4M3""#,
        #""I64""#, #""assistant""#, #""robot""#, #""Regex""#, #""(""#, #""BPE""#, #""Sequence""#, #""A""#,
    ]

    /// Values of every JSON type, for fields that expect another one.
    static let values = [
        "null", "true", "false", "0", "-1", "1.5", #""""#, #""x""#, "[]", "{}", "[0]", #"["a"]"#,
        #"{"a": 1}"#, "[[]]", #"[{"role": "assistant"}]"#,
    ]

    /// 64-bit lengths for the safetensors header: zero, around the file, and far past it.
    static func lengths(fileSize: Int) -> [UInt64] {
        let size = UInt64(fileSize)  // wrapping below: a tiny file gives huge lengths, as wanted
        return [0, 1, 2, size &- 8, size &- 7, size &- 9, size, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF,
                0x1_0000_0000, 0x7FFF_FFFF_FFFF_FFFF, 0x8000_0000_0000_0000, .max, .max - 7]
    }
}

// MARK: JSON tokens

/// The tokens of JSON text, found leniently (bytes that start no token are skipped), with
/// each bracket's partner, so a mutation can replace a whole value of a damaged file too.
struct JSONTokens {
    enum Kind { case string, number, literal, open, close, punctuation }

    struct Token {
        let kind: Kind
        let range: Range<Int>
        /// For an opening bracket with a partner: the whole container.
        var container: Range<Int>?
    }

    private(set) var tokens: [Token] = []

    init(_ bytes: [UInt8]) {
        var open: [Int] = []
        var i = 0
        while i < bytes.count {
            let start = i
            let kind: Kind
            switch bytes[i] {
            case UInt8(ascii: "\""):
                i += 1
                while i < bytes.count && bytes[i] != UInt8(ascii: "\"") { i += bytes[i] == UInt8(ascii: "\\") ? 2 : 1 }
                i = min(i + 1, bytes.count)
                kind = .string
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                while i < bytes.count && Array("0123456789+-.eE".utf8).contains(bytes[i]) { i += 1 }
                kind = .number
            case UInt8(ascii: "a")...UInt8(ascii: "z"):
                while i < bytes.count && (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(bytes[i]) { i += 1 }
                kind = .literal
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                open.append(tokens.count)
                i += 1
                kind = .open
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                i += 1
                if let o = open.popLast() { tokens[o].container = tokens[o].range.lowerBound..<i }
                kind = .close
            case UInt8(ascii: ","), UInt8(ascii: ":"):
                i += 1
                kind = .punctuation
            default:
                i += 1
                continue
            }
            tokens.append(Token(kind: kind, range: start..<i))
        }
    }

    func ranges(of kind: Kind) -> [Range<Int>] { tokens.filter { $0.kind == kind }.map(\.range) }

    /// Every value: strings, numbers, literals and whole containers.
    var values: [Range<Int>] {
        tokens.compactMap { t in
            switch t.kind {
            case .string, .number, .literal: return t.range
            case .open: return t.container
            case .close, .punctuation: return nil
            }
        }
    }
}

/// `bytes` with `range` replaced.
func replacing(_ bytes: [UInt8], _ range: Range<Int>, with new: some Collection<UInt8>) -> [UInt8] {
    var out = bytes
    out.replaceSubrange(range, with: new)
    return out
}

// MARK: Mutations

extension Mutation {
    /// Byte-level mutations: meaningful for any file, blind to its structure.
    static let bytes: [Mutation] = [
        Mutation(name: "flip a bit") { m, b in
            guard !b.isEmpty else { return b }
            var out = b
            let i = m.below(b.count)
            out[i] ^= 1 << UInt8(m.below(8))
            return out
        },
        Mutation(name: "set an interesting byte") { m, b in
            guard !b.isEmpty else { return b }
            var out = b
            out[m.below(b.count)] = m.pick(Interesting.bytes)
            return out
        },
        Mutation(name: "insert interesting bytes") { m, b in
            let at = m.position(in: b)
            return replacing(b, at..<at, with: m.pick(Interesting.sequences))
        },
        Mutation(name: "insert random bytes") { m, b in
            let count = 1 + m.below(16)
            var new: [UInt8] = []
            for _ in 0..<count { new.append(UInt8(truncatingIfNeeded: m.rng.next())) }
            let at = m.position(in: b)
            return replacing(b, at..<at, with: new)
        },
        Mutation(name: "delete bytes") { m, b in
            b.isEmpty ? b : replacing(b, m.range(in: b), with: [])
        },
        Mutation(name: "truncate") { m, b in Array(b.prefix(m.below(b.count))) },
        Mutation(name: "duplicate a chunk") { m, b in
            guard !b.isEmpty else { return b }
            let chunk = b[m.range(in: b, maxLength: 256)]
            let at = m.position(in: b)
            return replacing(b, at..<at, with: chunk)
        },
        Mutation(name: "splice with another input") { m, b in
            // This input's head, another input's tail: mixes structures.
            guard !m.donors.isEmpty else { return b }
            let donor = m.pick(m.donors)
            return Array(b.prefix(m.position(in: b))) + donor.suffix(from: m.below(donor.count))
        },
    ]

    /// Mutations of JSON text that keep most of it valid, so they reach the code behind the
    /// JSON parser: wrong types, extreme numbers, strange strings, deep nesting.
    static let json: [Mutation] = [
        Mutation(name: "interesting number") { m, b in
            let numbers = JSONTokens(b).ranges(of: .number)
            guard !numbers.isEmpty else { return b }
            return replacing(b, m.pick(numbers), with: Array(m.pick(Interesting.numbers).utf8))
        },
        Mutation(name: "interesting string") { m, b in
            let strings = JSONTokens(b).ranges(of: .string)
            guard !strings.isEmpty else { return b }
            return replacing(b, m.pick(strings), with: Array(m.pick(Interesting.strings).utf8))
        },
        Mutation(name: "string with raw bytes") { m, b in
            // Invalid UTF-8 or a NUL inside a string, where JSON parsers must refuse it.
            let strings = JSONTokens(b).ranges(of: .string).filter { $0.count >= 2 }
            guard !strings.isEmpty else { return b }
            let s = m.pick(strings)
            let at = s.lowerBound + 1 + m.below(s.count - 1)
            return replacing(b, at..<at, with: m.pick(Interesting.sequences))
        },
        Mutation(name: "value of another type") { m, b in
            let values = JSONTokens(b).values
            guard !values.isEmpty else { return b }
            return replacing(b, m.pick(values), with: Array(m.pick(Interesting.values).utf8))
        },
        Mutation(name: "value moved elsewhere") { m, b in
            let values = JSONTokens(b).values
            guard !values.isEmpty else { return b }
            return replacing(b, m.pick(values), with: b[m.pick(values)])
        },
        Mutation(name: "deep nesting") { m, b in
            // Balanced or not, past the depth limits parsers commonly set (512, 10000).
            let values = JSONTokens(b).values
            let at = m.position(in: b)
            let target = values.isEmpty ? at..<at : m.pick(values)
            let depth = m.pick([100, 513, 10_001, 100_000])
            let opener = Array(m.pick(["[", "{\"a\":"]).utf8), closer = opener == [0x5B] ? [UInt8(0x5D)] : [0x7D]
            let inner = Array(b[target])
            var new = [UInt8](); new.reserveCapacity(depth * (opener.count + 1) + inner.count)
            for _ in 0..<depth { new += opener }
            new += inner
            if m.chance(0.7) { for _ in 0..<depth { new += closer } }
            return replacing(b, target, with: new)
        },
        Mutation(name: "drop a token") { m, b in
            let tokens = JSONTokens(b).tokens
            guard !tokens.isEmpty else { return b }
            return replacing(b, m.pick(tokens).range, with: [])
        },
        Mutation(name: "very long string") { m, b in
            let strings = JSONTokens(b).ranges(of: .string).filter { $0.count >= 2 }
            guard !strings.isEmpty else { return b }
            let at = m.pick(strings).lowerBound + 1
            let unit = Array(m.pick(["x", " ", "é", "\\n"]).utf8)
            return replacing(b, at..<at, with: Array(repeating: unit, count: m.size()).joined())
        },
    ]

    /// JSON Lines: line endings, blank, repeated, missing and very long lines.
    static let jsonLines: [Mutation] = [
        Mutation(name: "line ending") { m, b in
            let newlines = b.indices.filter { b[$0] == 0x0A }
            guard !newlines.isEmpty else { return b + [0x0A] }
            let i = m.pick(newlines)
            return replacing(b, i..<(i + 1), with: Array(m.pick(["\r\n", "\r", "", "\n\n", "\n \t\r\n", "\n\n\n"]).utf8))
        },
        Mutation(name: "repeat, drop or swap lines") { m, b in
            var lines = b.split(separator: 0x0A, omittingEmptySubsequences: false).map(Array.init)
            let i = m.below(lines.count), j = m.below(lines.count)
            switch m.below(3) {
            case 0: lines.insert(lines[i], at: j)
            case 1: lines.remove(at: i)
            default: lines.swapAt(i, j)
            }
            return Array(lines.joined(separator: [0x0A]))
        },
        Mutation(name: "very long line") { m, b in
            // A run of spaces, letters or braces anywhere: inside a record or between records.
            let at = m.position(in: b)
            return replacing(b, at..<at, with: [UInt8](repeating: m.pick([0x20, 0x78, 0x7B]), count: m.size()))
        },
    ]

    /// Safetensors: the 8-byte header length, the JSON header (with the length kept right so
    /// the header's meaning is tested, not just its framing), and the data section's size.
    static let safetensors: [Mutation] = [
        Mutation(name: "header length") { m, b in
            var out = b + [UInt8](repeating: 0, count: max(0, 8 - b.count))
            let length = m.pick(Interesting.lengths(fileSize: b.count))
            withUnsafeBytes(of: length.littleEndian) { out.replaceSubrange(0..<8, with: $0) }
            return out
        },
        Mutation(name: "header JSON") { m, b in
            guard let (header, data) = SafetensorsLayout.split(b) else { return b }
            let mutation = m.pick(Mutation.json)
            return SafetensorsLayout.join(header: mutation.apply(&m, header), data: data)
        },
        Mutation(name: "data size") { m, b in
            guard let (header, data) = SafetensorsLayout.split(b) else { return b }
            let change = m.pick([-4096, -8, -1, 1, 8, 4096])
            let newData = change < 0 ? Array(data.dropLast(-change)) : data + [UInt8](repeating: 0xAB, count: change)
            return SafetensorsLayout.join(header: header, data: newData)
        },
    ]
}

/// A safetensors file's parts: the 8-byte little-endian header length, the header, the data.
enum SafetensorsLayout {
    static func split(_ bytes: [UInt8]) -> (header: [UInt8], data: [UInt8])? {
        guard bytes.count >= 8 else { return nil }
        let length = bytes[0..<8].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        guard length <= UInt64(bytes.count - 8) else { return nil }
        let end = 8 + Int(length)
        return (Array(bytes[8..<end]), Array(bytes[end...]))
    }

    static func join(header: [UInt8], data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { out += $0 }
        return out + header + data
    }
}
