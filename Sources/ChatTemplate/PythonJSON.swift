import OrderedCollections

/// Python's `json.dumps`, byte for byte, as transformers' `tojson` filter calls it: separators
/// `", "` and `": "` (`","` between items when indenting), keys in insertion order unless
/// sorted, floats as Python's repr, non-ASCII kept unless `ensure_ascii`.
public enum PythonJSON {
    public static func dumps(_ value: Value, indent: String? = nil, separators: (String, String)? = nil, sortKeys: Bool = false,
                      ensureASCII: Bool = false) throws -> String {
        let (itemSeparator, keySeparator) = separators ?? (indent == nil ? ", " : ",", ": ")
        var out = ""
        func write(_ value: Value, level: Int) throws {
            switch value {
            case .none: out += "null"
            case .bool(let b): out += b ? "true" : "false"
            case .int(let i): out += String(i)
            case .double(let d):
                out += d.isNaN ? "NaN" : d.isInfinite ? (d < 0 ? "-Infinity" : "Infinity") : Value.pythonFloat(d)
            case .string(let s): out += quote(s, ensureASCII: ensureASCII)
            case .list(let items), .tuple(let items):
                guard !items.isEmpty else { out += "[]"; return }
                out += "["
                for (i, item) in items.enumerated() {
                    if i > 0 { out += itemSeparator }
                    newline(level + 1)
                    try write(item, level: level + 1)
                }
                newline(level)
                out += "]"
            case .dict(let d):
                try writeObject(Array(d), level: level)
            case .namespace(let n):
                try writeObject(Array(n.values), level: level)
            case .undefined, .callable:
                throw TemplateError.type("Object of type \(value.typeName) is not JSON serializable")
            }
        }
        func writeObject(_ pairs: [(key: String, value: Value)], level: Int) throws {
            guard !pairs.isEmpty else { out += "{}"; return }
            let ordered = sortKeys ? pairs.sorted { $0.key.unicodeScalars.lexicographicallyPrecedes($1.key.unicodeScalars) { $0.value < $1.value } } : pairs
            out += "{"
            for (i, pair) in ordered.enumerated() {
                if i > 0 { out += itemSeparator }
                newline(level + 1)
                out += quote(pair.key, ensureASCII: ensureASCII) + keySeparator
                try write(pair.value, level: level + 1)
            }
            newline(level)
            out += "}"
        }
        func newline(_ level: Int) {
            guard let indent else { return }
            out += "\n" + String(repeating: indent, count: level)
        }
        try write(value, level: 0)
        return out
    }

    static func quote(_ s: String, ensureASCII: Bool) -> String {
        var out = "\""
        for c in s.unicodeScalars {
            switch c {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if c.value < 0x20 {
                    out += hex(c.value)
                } else if ensureASCII, c.value > 0x7E {
                    if c.value > 0xFFFF {
                        let v = c.value - 0x10000
                        out += hex(0xD800 + (v >> 10)) + hex(0xDC00 + (v & 0x3FF))
                    } else {
                        out += hex(c.value)
                    }
                } else {
                    out.unicodeScalars.append(c)
                }
            }
        }
        return out + "\""
    }

    private static func hex(_ v: UInt32) -> String {
        let digits = String(v, radix: 16)
        return "\\u" + String(repeating: "0", count: 4 - digits.count) + digits
    }
}

extension PythonJSON {
    /// Python's `json.loads` into template values: key order kept (tool schemas are printed
    /// back with `tojson`), numbers with a fraction or exponent are floats, the rest ints.
    public static func loads(_ text: String) throws -> Value {
        var reader = Reader(bytes: Array(text.utf8))
        reader.skipSpace()
        let value = try reader.value(depth: 0)
        reader.skipSpace()
        guard reader.index == reader.bytes.count else { throw reader.fail("extra data after the JSON value") }
        return value
    }

    struct Reader {
        let bytes: [UInt8]
        var index = 0

        func fail(_ message: String) -> TemplateError { .value("invalid JSON at byte \(index): \(message)") }

        mutating func skipSpace() {
            while index < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) { index += 1 }
        }

        mutating func expect(_ literal: String) throws {
            let l = Array(literal.utf8)
            guard index + l.count <= bytes.count, Array(bytes[index..<(index + l.count)]) == l else { throw fail("expected \(literal)") }
            index += l.count
        }

        mutating func value(depth: Int) throws -> Value {
            guard depth < 512 else { throw fail("nested too deeply") }
            guard index < bytes.count else { throw fail("unexpected end") }
            switch bytes[index] {
            case UInt8(ascii: "{"):
                index += 1
                var d = OrderedDictionary<String, Value>()
                skipSpace()
                if index < bytes.count, bytes[index] == UInt8(ascii: "}") { index += 1; return .dict(d) }
                while true {
                    skipSpace()
                    guard case .string(let key) = try value(depth: depth + 1) else { throw fail("object keys must be strings") }
                    skipSpace()
                    try expect(":")
                    skipSpace()
                    d[key] = try value(depth: depth + 1)
                    skipSpace()
                    if index < bytes.count, bytes[index] == UInt8(ascii: ",") { index += 1; continue }
                    try expect("}")
                    return .dict(d)
                }
            case UInt8(ascii: "["):
                index += 1
                var items: [Value] = []
                skipSpace()
                if index < bytes.count, bytes[index] == UInt8(ascii: "]") { index += 1; return .list(items) }
                while true {
                    skipSpace()
                    items.append(try value(depth: depth + 1))
                    skipSpace()
                    if index < bytes.count, bytes[index] == UInt8(ascii: ",") { index += 1; continue }
                    try expect("]")
                    return .list(items)
                }
            case UInt8(ascii: "\""):
                return .string(try string())
            case UInt8(ascii: "t"): try expect("true"); return .bool(true)
            case UInt8(ascii: "f"): try expect("false"); return .bool(false)
            case UInt8(ascii: "n"): try expect("null"); return .none
            default:
                let start = index
                var isFloat = false
                while index < bytes.count, let c = Optional(bytes[index]),
                      (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(c) || [UInt8(ascii: "-"), UInt8(ascii: "+"), UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E")].contains(c) {
                    if c == UInt8(ascii: ".") || c == UInt8(ascii: "e") || c == UInt8(ascii: "E") { isFloat = true }
                    index += 1
                }
                let text = String(decoding: bytes[start..<index], as: UTF8.self)
                if !isFloat, let i = Int(text) { return .int(i) }
                guard let d = Double(text), !text.isEmpty else { throw fail("unexpected character") }
                return .double(d)
            }
        }

        mutating func string() throws -> String {
            index += 1
            var out: [UInt8] = []
            while index < bytes.count {
                let c = bytes[index]
                index += 1
                if c == UInt8(ascii: "\"") { return String(decoding: out, as: UTF8.self) }
                guard c == UInt8(ascii: "\\") else { out.append(c); continue }
                guard index < bytes.count else { break }
                let e = bytes[index]
                index += 1
                switch e {
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "u"):
                    var v = try hex4()
                    if (0xD800..<0xDC00).contains(v), index + 5 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") {
                        let mark = index
                        index += 2
                        let low = try hex4()
                        // A high surrogate needs a low one; otherwise the character is replaced, as a lone surrogate is.
                        if (0xDC00..<0xE000).contains(low) { v = 0x10000 + ((v - 0xD800) << 10) + (low - 0xDC00) } else { index = mark }
                    }
                    out.append(contentsOf: Array(String(Unicode.Scalar(v).map(Character.init) ?? "\u{FFFD}").utf8))
                default: out.append(e)
                }
            }
            throw fail("string not closed")
        }

        mutating func hex4() throws -> UInt32 {
            guard index + 4 <= bytes.count, let v = UInt32(String(decoding: bytes[index..<(index + 4)], as: UTF8.self), radix: 16) else {
                throw fail("bad \\u escape")
            }
            index += 4
            return v
        }
    }
}
