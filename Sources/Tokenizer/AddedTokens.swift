/// A token of `added_tokens`: matched in the text before the model runs, never split.
struct AddedToken {
    let id: UInt32
    let content: [UInt8]
    let singleWord: Bool
    let lstrip: Bool
    let rstrip: Bool
    let normalized: Bool
    let special: Bool

    static func parse(_ node: JSONNode) throws -> AddedToken {
        let content = try node["content"].string()
        guard !content.isEmpty else { throw node["content"].fail("empty token") }
        let id = try node["id"].int()
        guard id >= 0 && id <= Int(UInt32.max - 1) else { throw node["id"].fail("id out of range") }
        return AddedToken(id: UInt32(id), content: Array(content.utf8),
                          singleWord: try node["single_word"].bool(default: false),
                          lstrip: try node["lstrip"].bool(default: false), rstrip: try node["rstrip"].bool(default: false),
                          normalized: try node["normalized"].bool(default: !(try node["special"].bool(default: false))),
                          special: try node["special"].bool(default: false))
    }
}

/// A part of the input after added tokens are taken out: an added token, or text for the
/// pre-tokenizer and model.
enum Segment {
    case token(AddedToken, original: Range<Int>)
    case text(NormalizedText)
}

/// Finds added tokens leftmost-longest (as the reference's Aho-Corasick automaton), with
/// single_word, lstrip and rstrip applied as the reference applies them.
struct AddedTokenMatcher {
    private let patterns: [(content: [UInt8], token: AddedToken)]
    /// Indices into `patterns` by first byte, longest pattern first.
    private let byFirstByte: [[Int]]

    init(_ tokens: [(content: [UInt8], token: AddedToken)]) {
        patterns = tokens
        var table = [[Int]](repeating: [], count: 256)
        for (i, p) in tokens.enumerated() { table[Int(p.content[0])].append(i) }
        for b in 0..<256 { table[b].sort { tokens[$0].content.count > tokens[$1].content.count } }
        byFirstByte = table
    }

    var isEmpty: Bool { patterns.isEmpty }

    /// Splits `text` into added tokens and the text between them (empty text dropped).
    func split(_ text: NormalizedText, into out: inout [Segment]) {
        if patterns.isEmpty || text.isEmpty {
            if !text.isEmpty { out.append(.text(text)) }
            return
        }
        let bytes = text.bytes
        let lo = bytes.startIndex, hi = bytes.endIndex
        var emitted = lo  // text before this index is already out
        var i = lo
        scan: while i < hi {
            for p in byFirstByte[Int(bytes[i])] {
                let pattern = patterns[p]
                let stop = i + pattern.content.count
                guard stop <= hi, bytes[i..<stop].elementsEqual(pattern.content) else { continue }
                let token = pattern.token
                var start = i, end = stop
                if token.singleWord {
                    let wordBefore = i > lo && isWord(text, before: i)
                    let wordAfter = stop < hi && isWord(text, at: stop)
                    if wordBefore || wordAfter { i = stop; continue scan }  // the match is consumed
                }
                if token.lstrip {
                    var s = start
                    while s > emitted, let (r, v) = scalar(text, before: s), CharClass.of(v).contains(.whitespace) { s = r.lowerBound }
                    start = s
                }
                if token.rstrip {
                    while end < hi, let (r, v) = scalar(text, at: end), CharClass.of(v).contains(.whitespace) { end = r.upperBound }
                }
                if emitted < start { out.append(.text(text.slice(emitted..<start))) }
                out.append(.token(token, original: text.originalRange(start..<end)))
                emitted = end
                i = end
                continue scan
            }
            i += 1
        }
        if emitted < hi { out.append(.text(text.slice(emitted..<hi))) }
    }

    private func scalar(_ text: NormalizedText, at i: Int) -> (Range<Int>, UInt32)? {
        text.bytes.withUnsafeBufferPointer { buf in
            let local = i - text.bytes.startIndex
            let (v, n) = UTF8Scan.scalar(buf, local)
            return (i..<(i + n), v)
        }
    }

    private func scalar(_ text: NormalizedText, before i: Int) -> (Range<Int>, UInt32)? {
        guard i > text.bytes.startIndex else { return nil }
        return text.bytes.withUnsafeBufferPointer { buf in
            let start = UTF8Scan.previousStart(buf, i - text.bytes.startIndex)
            let (v, n) = UTF8Scan.scalar(buf, start)
            return ((text.bytes.startIndex + start)..<(text.bytes.startIndex + start + n), v)
        }
    }

    private func isWord(_ text: NormalizedText, at i: Int) -> Bool {
        scalar(text, at: i).map { CharClass.of($0.1).contains(.word) } ?? false
    }

    private func isWord(_ text: NormalizedText, before i: Int) -> Bool {
        scalar(text, before: i).map { CharClass.of($0.1).contains(.word) } ?? false
    }
}
