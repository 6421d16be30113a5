import Foundation

/// Python's operators on template values: numbers mix (bool counts as int), `/` is true
/// division, `//` and `%` floor toward negative infinity, `+` joins strings and lists, `~`
/// joins the text of anything, and comparing unrelated types is an error except `==`/`!=`.
enum Operators {
    /// An int (or a bool as Python treats it), or nil.
    static func integer(_ v: Value) -> Int? {
        switch v {
        case .int(let i): return i
        case .bool(let b): return b ? 1 : 0
        default: return nil
        }
    }

    /// A float truncated to an int as Python's int() does; nil for NaN or infinity, an error
    /// past 64 bits (Python's ints are unbounded; xtf's are not).
    static func int(_ d: Double) throws -> Int? {
        guard d.isFinite else { return nil }
        let t = d.rounded(.towardZero)
        guard t >= -9.223372036854775e18, t <= 9.223372036854775e18 else { throw TemplateError.value("\(d) is too large for a 64-bit integer") }
        return Int(t)
    }

    static func number(_ v: Value) -> Double? {
        switch v {
        case .double(let d): return d
        default: return integer(v).map(Double.init)
        }
    }

    static func unary(_ op: String, _ v: Value) throws -> Value {
        if case .undefined(let message) = v { throw TemplateError.undefined(message) }
        if let i = integer(v) {
            if op == "+" { return .int(i) }
            guard i != Int.min else { throw TemplateError.value("integer overflow") }
            return .int(-i)
        }
        if case .double(let d) = v { return .double(op == "-" ? -d : d) }
        throw TemplateError.type("bad operand type for unary \(op): '\(v.typeName)'")
    }

    static func binary(_ op: String, _ l: Value, _ r: Value) throws -> Value {
        if op == "~" { return .string(l.text + r.text) }
        if case .undefined(let message) = l { throw TemplateError.undefined(message) }
        if case .undefined(let message) = r { throw TemplateError.undefined(message) }
        if let a = integer(l), let b = integer(r) { return try integers(op, a, b) }
        if let a = number(l), let b = number(r) { return try doubles(op, a, b) }
        switch (op, l, r) {
        case ("+", .string(let a), .string(let b)): return .string(a + b)
        case ("+", .list(let a), .list(let b)): return .list(a + b)
        case ("+", .tuple(let a), .tuple(let b)): return .tuple(a + b)
        case ("*", .string(let s), _), ("*", _, .string(let s)):
            guard let n = integer(l) ?? integer(r) else { break }
            return .string(String(repeating: s, count: try repetitions(n, of: s.utf8.count)))
        case ("*", .list(let a), _), ("*", _, .list(let a)):
            guard let n = integer(l) ?? integer(r) else { break }
            return .list(Array(repeating: a, count: try repetitions(n, of: a.count)).flatMap { $0 })
        case ("%", .string(let format), _):
            return .string(try percentFormat(format, r))
        default: break
        }
        throw TemplateError.type("unsupported operand type(s) for \(op): '\(l.typeName)' and '\(r.typeName)'")
    }

    /// How many copies `s * n` makes: none of an empty sequence, and at most 100 million items.
    private static func repetitions(_ n: Int, of count: Int) throws -> Int {
        guard n > 0, count > 0 else { return 0 }
        guard n <= 100_000_000 / count else { throw TemplateError.value("repetition too large (\(n) copies of \(count) items)") }
        return n
    }

    private static func integers(_ op: String, _ a: Int, _ b: Int) throws -> Value {
        func checked(_ result: (Int, Bool)) throws -> Value {
            if result.1 { throw TemplateError.value("integer overflow in \(a) \(op) \(b)") }
            return .int(result.0)
        }
        switch op {
        case "+": return try checked(a.addingReportingOverflow(b))
        case "-": return try checked(a.subtractingReportingOverflow(b))
        case "*": return try checked(a.multipliedReportingOverflow(by: b))
        case "/":
            if b == 0 { throw TemplateError.value("division by zero") }
            return .double(Double(a) / Double(b))
        case "//", "%":
            if b == 0 { throw TemplateError.value("integer division or modulo by zero") }
            if a == .min && b == -1 { return op == "//" ? try checked((a, true)) : .int(0) }
            var q = a / b, m = a % b
            if m != 0 && ((m < 0) != (b < 0)) { q -= 1; m += b }
            return .int(op == "//" ? q : m)
        case "**":
            if b < 0 { return .double(pow(Double(a), Double(b))) }
            var result = 1, base = a, e = b
            while e > 0 {
                if e & 1 == 1 { result = try checkedInt(result.multipliedReportingOverflow(by: base)) }
                e >>= 1
                if e > 0 { base = try checkedInt(base.multipliedReportingOverflow(by: base)) }
            }
            return .int(result)
        default: throw TemplateError.type("unknown operator \(op)")
        }
    }

    private static func checkedInt(_ r: (Int, Bool)) throws -> Int {
        if r.1 { throw TemplateError.value("integer overflow") }
        return r.0
    }

    private static func doubles(_ op: String, _ a: Double, _ b: Double) throws -> Value {
        switch op {
        case "+": return .double(a + b)
        case "-": return .double(a - b)
        case "*": return .double(a * b)
        case "/":
            if b == 0 { throw TemplateError.value("float division by zero") }
            return .double(a / b)
        case "//", "%":
            if b == 0 { throw TemplateError.value("float modulo") }
            let m = a - b * (a / b).rounded(.down)
            return .double(op == "//" ? (a / b).rounded(.down) : m)
        case "**": return .double(pow(a, b))
        default: throw TemplateError.type("unknown operator \(op)")
        }
    }

    /// Python's `==`.
    static func equal(_ l: Value, _ r: Value) -> Bool {
        if let a = number(l), let b = number(r) { return a == b }
        switch (l, r) {
        case (.undefined, .undefined), (.none, .none): return true
        case (.string(let a), .string(let b)): return a.unicodeScalars.elementsEqual(b.unicodeScalars)
        case (.list(let a), .list(let b)), (.tuple(let a), .tuple(let b)):
            return a.count == b.count && zip(a, b).allSatisfy { equal($0, $1) }
        case (.dict(let a), .dict(let b)):
            return a.count == b.count && a.allSatisfy { key, value in b[key].map { equal(value, $0) } ?? false }
        case (.namespace(let a), .namespace(let b)): return a === b
        default: return false
        }
    }

    /// Python's `<`, on numbers, strings (by code point) and sequences.
    static func less(_ l: Value, _ r: Value) throws -> Bool {
        if let a = number(l), let b = number(r) { return a < b }
        switch (l, r) {
        case (.string(let a), .string(let b)):
            return a.unicodeScalars.lexicographicallyPrecedes(b.unicodeScalars) { $0.value < $1.value }
        case (.list(let a), .list(let b)), (.tuple(let a), .tuple(let b)):
            for (x, y) in zip(a, b) where !equal(x, y) { return try less(x, y) }
            return a.count < b.count
        default:
            throw TemplateError.type("'<' not supported between instances of '\(l.typeName)' and '\(r.typeName)'")
        }
    }

    static func compare(_ op: String, _ l: Value, _ r: Value) throws -> Bool {
        switch op {
        case "==": return equal(l, r)
        case "!=": return !equal(l, r)
        case "<": return try less(l, r)
        case ">": return try less(r, l)
        case "<=": return try less(l, r) || equal(l, r)
        case ">=": return try less(r, l) || equal(l, r)
        case "in": return try contains(r, l)
        case "not in": return !(try contains(r, l))
        default: throw TemplateError.type("unknown comparison \(op)")
        }
    }

    /// Python's `needle in haystack`.
    static func contains(_ haystack: Value, _ needle: Value) throws -> Bool {
        switch haystack {
        case .string(let s):
            guard case .string(let n) = needle else {
                throw TemplateError.type("'in <string>' requires string as left operand, not \(needle.typeName)")
            }
            return n.isEmpty || s.unicodeScalars.count >= n.unicodeScalars.count && String(s.unicodeScalars).range(of: n, options: .literal) != nil
        case .list(let a), .tuple(let a): return a.contains { equal($0, needle) }
        case .dict(let d):
            guard case .string(let key) = needle else { return false }
            return d[key] != nil
        case .namespace(let n):
            guard case .string(let key) = needle else { return false }
            return n.values[key] != nil
        case .undefined: return false
        default: throw TemplateError.type("argument of type '\(haystack.typeName)' is not iterable")
        }
    }

    /// Python's `format % arguments`: `%(name)s` with a dict, flags `-+ 0#`, width and
    /// precision, conversions `s r d i u f F e E g G x X o c %`.
    static func percentFormat(_ format: String, _ arguments: Value) throws -> String {
        var values: [Value]
        var named: Value?
        switch arguments {
        case .tuple(let a): values = a
        case .dict: values = []; named = arguments
        default: values = [arguments]
        }
        var out = "", chars = Array(format.unicodeScalars), i = 0
        func next() throws -> Value {
            guard !values.isEmpty else { throw TemplateError.type("not enough arguments for format string") }
            return values.removeFirst()
        }
        while i < chars.count {
            guard chars[i] == "%" else { out.unicodeScalars.append(chars[i]); i += 1; continue }
            i += 1
            var key: String?
            if i < chars.count, chars[i] == "(" {
                guard let close = chars[i...].firstIndex(of: ")") else { throw TemplateError.value("incomplete format key") }
                key = String(String.UnicodeScalarView(chars[(i + 1)..<close]))
                i = close + 1
            }
            var flags = ""
            while i < chars.count, "-+ 0#".unicodeScalars.contains(chars[i]) { flags.unicodeScalars.append(chars[i]); i += 1 }
            var width = ""
            while i < chars.count, ("0"..."9").contains(chars[i]) { width.unicodeScalars.append(chars[i]); i += 1 }
            var precision: String?
            if i < chars.count, chars[i] == "." {
                i += 1
                var p = ""
                while i < chars.count, ("0"..."9").contains(chars[i]) { p.unicodeScalars.append(chars[i]); i += 1 }
                precision = p
            }
            guard i < chars.count else { throw TemplateError.value("incomplete format") }
            let conversion = Character(chars[i])
            i += 1
            if conversion == "%" { out += "%"; continue }
            let value: Value
            if let key {
                guard case .dict(let d)? = named else { throw TemplateError.type("format requires a mapping") }
                guard let v = d[key] else { throw TemplateError.value("format key '\(key)' is missing") }
                value = v
            } else {
                value = try next()
            }
            let spec = "%" + flags + width + (precision.map { "." + $0 } ?? "")
            switch conversion {
            case "s", "r", "a":
                var text = conversion == "s" ? value.text : value.repr
                if let precision, let p = Int(precision) { text = String(text.unicodeScalars.prefix(p).map(Character.init)) }
                let pad = max(0, (Int(width) ?? 0) - text.unicodeScalars.count)
                out += flags.contains("-") ? text + String(repeating: " ", count: pad) : String(repeating: " ", count: pad) + text
            case "d", "i", "u":
                guard let n = number(value) else { throw TemplateError.type("%\(conversion) format: a real number is required, not \(value.typeName)") }
                guard let i = try int(n) else { throw TemplateError.value("cannot convert float \(n) to integer") }
                out += String(format: spec + "lld", Int64(i))
            case "x", "X", "o":
                guard let n = integer(value) else { throw TemplateError.type("%\(conversion) format: an integer is required, not \(value.typeName)") }
                out += (n < 0 ? "-" : "") + String(format: spec + "ll" + String(conversion), UInt64(n.magnitude))
            case "f", "F", "e", "E", "g", "G":
                guard let n = number(value) else { throw TemplateError.type("must be real number, not \(value.typeName)") }
                out += String(format: spec + String(conversion), n)
            case "c":
                if case .string(let s) = value, s.unicodeScalars.count == 1 { out += s } else if let n = integer(value), (0...0x10FFFF).contains(n),
                                                                                                    let u = Unicode.Scalar(UInt32(n)) {
                    out.unicodeScalars.append(u)
                } else { throw TemplateError.type("%c requires an int or a single character") }
            default: throw TemplateError.value("unsupported format character '\(conversion)'")
            }
        }
        if !values.isEmpty, named == nil { throw TemplateError.type("not all arguments converted during string formatting") }
        return out
    }
}
