/// tokenizer.json `decoder`: ByteLevel, Metaspace, ByteFallback, Fuse, Strip, Replace,
/// Sequence. Each works on the list of token strings, as the reference's `decode_chain`.
indirect enum Decoder {
    case byteLevel
    case metaspace(replacement: Unicode.Scalar, stripFirst: Bool)
    case byteFallback
    case fuse
    case strip(content: Unicode.Scalar, start: Int, stop: Int)
    case replace(Pattern, [UInt8])
    case sequence([Decoder])

    static func parse(_ node: JSONNode) throws -> Decoder? {
        if node.isNull { return nil }
        let type = try node.type()
        switch type {
        case "ByteLevel": return .byteLevel
        case "Metaspace":
            let replacement = try node["replacement"].string()
            guard replacement.unicodeScalars.count == 1 else { throw node["replacement"].fail("expected one character") }
            var stripFirst = true
            if let scheme = try node["prepend_scheme"].optionalString() {
                guard PrependScheme(rawValue: scheme) != nil else {
                    throw TokenizerError.unsupported(field: node["prepend_scheme"].path, what: "prepend_scheme \(scheme.debugDescription)")
                }
                stripFirst = scheme != "never"
            } else if node.has("add_prefix_space") {
                stripFirst = try node["add_prefix_space"].bool()
            }
            return .metaspace(replacement: replacement.unicodeScalars.first!, stripFirst: stripFirst)
        case "ByteFallback": return .byteFallback
        case "Fuse": return .fuse
        case "Strip":
            let content = try node["content"].string()
            guard content.unicodeScalars.count == 1 else { throw node["content"].fail("expected one character") }
            return .strip(content: content.unicodeScalars.first!, start: try node["start"].int(), stop: try node["stop"].int())
        case "Replace":
            return .replace(try Pattern.parse(node["pattern"]), Array(try node["content"].string().utf8))
        case "Sequence":
            return .sequence(try node["decoders"].array().compactMap { try parse($0) })
        default:
            throw TokenizerError.unsupported(field: node["type"].path, what: "decoder \(type.debugDescription)")
        }
    }

    func decodeChain(_ tokens: [String]) -> [String] {
        switch self {
        case .byteLevel:
            // All tokens' bytes, decoded once (lossily, as the reference); a token with a
            // character outside the byte alphabet stands for its own UTF-8.
            var bytes: [UInt8] = []
            for t in tokens { bytes += ByteLevelAlphabet.bytes(of: t) ?? Array(t.utf8) }
            return [String(decoding: bytes, as: UTF8.self)]
        case let .metaspace(replacement, stripFirst):
            return tokens.enumerated().map { i, t in
                var s = String.UnicodeScalarView()
                for c in t.unicodeScalars {
                    if c == replacement { if !(i == 0 && stripFirst) { s.append(" ") } } else { s.append(c) }
                }
                return String(s)
            }
        case .byteFallback:
            var out: [String] = []
            var pending: [UInt8] = []
            func flush() {
                guard !pending.isEmpty else { return }
                if let s = String(validating: pending, as: UTF8.self) { out.append(s) } else {
                    out += Array(repeating: "\u{FFFD}", count: pending.count)
                }
                pending.removeAll()
            }
            for t in tokens {
                let u = Array(t.utf8)
                if u.count == 6 && t.hasPrefix("<0x") && u[5] == UInt8(ascii: ">"),
                   let b = UInt8(String(decoding: u[3..<5], as: UTF8.self), radix: 16) {
                    pending.append(b)
                } else {
                    flush()
                    out.append(t)
                }
            }
            flush()
            return out
        case .fuse:
            return [tokens.joined()]
        case let .strip(content, start, stop):
            return tokens.map { t in
                let chars = Array(t.unicodeScalars)
                var lo = 0, hi = chars.count
                while lo < min(start, chars.count) && chars[lo] == content { lo += 1 }
                var cut = 0
                while cut < stop && hi > lo && chars[hi - 1] == content { hi -= 1; cut += 1 }
                return String(String.UnicodeScalarView(chars[lo..<hi]))
            }
        case let .replace(pattern, content):
            return tokens.map { t in
                let text = NormalizedText(input: Array(t.utf8))
                return text.replacing(pattern.matches(in: text.bytes), with: content).string
            }
        case .sequence(let steps):
            return steps.reduce(tokens) { $1.decodeChain($0) }
        }
    }
}
