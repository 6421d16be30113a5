import Foundation
import OrderedCollections

/// The Python methods of strings, dicts and lists that chat templates call
/// (`content.strip()`, `message.get('tool_calls')`, `text.split('</think>')`). Methods that
/// change a list or dict are missing on purpose: transformers renders in jinja2's immutable
/// sandbox, where they are refused too.
enum Methods {
    static func bound(_ object: Value, _ name: String) -> Value? {
        let method: (@Sendable (Arguments) throws -> Value)?
        switch object {
        case .string(let s): method = string(s, name)
        case .dict(let d): method = dict(d, name)
        case .list(let a), .tuple(let a): method = list(a, name)
        default: method = nil
        }
        return method.map { body in .callable(Callable(name: name) { try body($0) }) }
    }

    static func string(_ s: String, _ name: String) -> (@Sendable (Arguments) throws -> Value)? {
        switch name {
        case "strip", "lstrip", "rstrip":
            return { args in
                try args.check(name, max: 1, names: ["chars"])
                let chars = try optionalString(args.value(0, "chars"))
                return .string(strip(s, chars: chars, leading: name != "rstrip", trailing: name != "lstrip"))
            }
        case "split", "rsplit":
            return { args in
                try args.check(name, max: 2, names: ["sep", "maxsplit"])
                let separator = try optionalString(args.value(0, "sep"))
                let limit = args.value(1, "maxsplit").flatMap(Operators.integer) ?? -1
                return .list(split(s, separator: separator, limit: limit, fromEnd: name == "rsplit").map(Value.string))
            }
        case "splitlines":
            return { _ in .list(splitLines(s).map(Value.string)) }
        case "startswith", "endswith":
            return { args in
                try args.check(name, max: 3, names: [])
                let all = Array(s.unicodeScalars)
                func position(_ v: Value?, _ fallback: Int) -> Int {
                    guard let i = v.flatMap(Operators.integer) else { return fallback }
                    return min(max(i < 0 ? i + all.count : i, 0), all.count)
                }
                let from = position(args.value(1, "start"), 0), to = position(args.value(2, "end"), all.count)
                let window = from <= to ? Array(all[from..<to]) : nil
                let candidates: [Value]
                switch args.value(0, "prefix") {
                case .tuple(let items)?, .list(let items)?: candidates = items
                case let v?: candidates = [v]
                case nil: throw TemplateError.type("\(name)() takes at least 1 argument")
                }
                for c in candidates {
                    guard case .string(let p) = c else { throw TemplateError.type("\(name) first arg must be str or a tuple of str") }
                    guard let a = window else { continue }
                    let b = Array(p.unicodeScalars)
                    if name == "startswith" ? a.starts(with: b) : a.reversed().starts(with: b.reversed()) { return .bool(true) }
                }
                return .bool(false)
            }
        case "upper": return { _ in .string(s.uppercased()) }
        case "swapcase":
            return { _ in .string(s.unicodeScalars.map { $0.properties.isLowercase ? String($0).uppercased() : String($0).lowercased() }.joined()) }
        case "zfill", "center", "ljust", "rjust":
            return { args in
                guard let width = args.value(0, "width").flatMap(Operators.integer) else { throw TemplateError.type("\(name)() needs a width") }
                let fill = args.value(1, "fillchar")?.text ?? " "
                let n = s.unicodeScalars.count
                guard width > n else { return .string(s) }
                let pad = width - n
                switch name {
                case "zfill":
                    let sign = s.first.map { $0 == "-" || $0 == "+" } ?? false
                    return .string(sign ? String(s.first!) + String(repeating: "0", count: pad) + s.dropFirst() : String(repeating: "0", count: pad) + s)
                case "ljust": return .string(s + String(repeating: fill, count: pad))
                case "rjust": return .string(String(repeating: fill, count: pad) + s)
                default:
                    // Python's centre puts the odd space on the left when the width is odd.
                    let left = pad / 2 + (pad & width & 1)
                    return .string(String(repeating: fill, count: left) + s + String(repeating: fill, count: pad - left))
                }
            }
        case "removeprefix", "removesuffix":
            return { args in
                let affix = args.value(0, name == "removeprefix" ? "prefix" : "suffix")?.text ?? ""
                let a = Array(s.unicodeScalars), b = Array(affix.unicodeScalars)
                if name == "removeprefix", a.starts(with: b) { return .string(String(String.UnicodeScalarView(a.dropFirst(b.count)))) }
                if name == "removesuffix", !b.isEmpty, a.reversed().starts(with: b.reversed()) { return .string(String(String.UnicodeScalarView(a.dropLast(b.count)))) }
                return .string(s)
            }
        case "partition", "rpartition":
            return { args in
                let separator = args.value(0, "sep")?.text ?? ""
                guard !separator.isEmpty else { throw TemplateError.value("empty separator") }
                let parts = split(s, separator: separator, limit: 1, fromEnd: name == "rpartition")
                if parts.count == 2 { return .tuple([.string(parts[0]), .string(separator), .string(parts[1])]) }
                return name == "partition" ? .tuple([.string(s), .string(""), .string("")]) : .tuple([.string(""), .string(""), .string(s)])
            }
        case "lower": return { _ in .string(s.lowercased()) }
        case "title": return { _ in .string(pythonTitle(s)) }
        case "capitalize": return { _ in .string(capitalize(s)) }
        case "replace":
            return { args in
                guard case .string(let old)? = args.value(0, "old"), case .string(let new)? = args.value(1, "new") else {
                    throw TemplateError.type("replace() takes two strings")
                }
                let count = args.value(2, "count").flatMap(Operators.integer) ?? -1
                return .string(replace(s, old, new, count: count))
            }
        case "find", "index", "rfind", "rindex", "count":
            return { args in
                guard case .string(let sub)? = args.value(0, "sub") else { throw TemplateError.type("\(name)() needs a string") }
                let hay = Array(s.unicodeScalars), needle = Array(sub.unicodeScalars)
                var hits: [Int] = []
                var i = 0
                while i + needle.count <= hay.count {
                    if hay[i..<(i + needle.count)].elementsEqual(needle) {
                        hits.append(i)
                        if name == "count" { i += max(needle.count, 1); continue }
                    }
                    i += 1
                }
                if name == "count" { return .int(hits.count) }
                let found = name.hasPrefix("r") ? hits.last : hits.first
                if found == nil, name.hasSuffix("index") { throw TemplateError.value("substring not found") }
                return .int(found ?? -1)
            }
        case "join":
            return { args in
                guard let items = try args.value(0, "iterable")?.iterated() else { throw TemplateError.type("join() takes one argument") }
                return .string(try items.map { item -> String in
                    guard case .string(let t) = item else { throw TemplateError.type("sequence item: expected str instance, \(item.typeName) found") }
                    return t
                }.joined(separator: s))
            }
        case "format":
            return { args in .string(try format(s, args)) }
        case "isdigit", "isalpha", "isspace", "isupper", "islower", "isalnum":
            return { _ in .bool(Predicates.stringProperty(name, s)) }
        default: return nil
        }
    }

    static func dict(_ d: OrderedDictionary<String, Value>, _ name: String) -> (@Sendable (Arguments) throws -> Value)? {
        switch name {
        case "items": return { _ in .list(d.map { .tuple([.string($0.key), $0.value]) }) }
        case "keys": return { _ in .list(d.keys.map(Value.string)) }
        case "copy": return { _ in .dict(d) }
        case "values": return { _ in .list(Array(d.values)) }
        case "get":
            return { args in
                guard case .string(let key)? = args.value(0, "key") else { return args.value(1, "default") ?? .none }
                return d[key] ?? args.value(1, "default") ?? .none
            }
        default: return nil
        }
    }

    static func list(_ a: [Value], _ name: String) -> (@Sendable (Arguments) throws -> Value)? {
        switch name {
        case "index":
            return { args in
                guard let v = args.value(0, "value"), let i = a.firstIndex(where: { Operators.equal($0, v) }) else {
                    throw TemplateError.value("value is not in list")
                }
                return .int(i)
            }
        case "count":
            return { args in .int(a.filter { Operators.equal($0, args.value(0, "value") ?? .none) }.count) }
        default: return nil
        }
    }

    // MARK: Python's string algorithms

    private static func optionalString(_ v: Value?) throws -> String? {
        switch v {
        case nil, .none?: return nil
        case .string(let s)?: return s
        case let other?: throw TemplateError.type("expected a string or None, not \(other.typeName)")
        }
    }

    /// Python's whitespace (str.isspace), which `strip()` and `split()` use.
    static func isSpace(_ c: Unicode.Scalar) -> Bool {
        switch c.value {
        case 0x09...0x0D, 0x1C...0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000: return true
        default: return false
        }
    }

    static func strip(_ s: String, chars: String?, leading: Bool = true, trailing: Bool = true) -> String {
        let set = chars.map { Set($0.unicodeScalars) }
        let drop: (Unicode.Scalar) -> Bool = { c in set.map { $0.contains(c) } ?? isSpace(c) }
        var scalars = Array(s.unicodeScalars)[...]
        if leading { while let f = scalars.first, drop(f) { scalars.removeFirst() } }
        if trailing { while let l = scalars.last, drop(l) { scalars.removeLast() } }
        return String(String.UnicodeScalarView(scalars))
    }

    static func split(_ s: String, separator: String?, limit: Int, fromEnd: Bool = false) -> [String] {
        let scalars = Array(s.unicodeScalars)
        func text(_ part: ArraySlice<Unicode.Scalar>) -> String { String(String.UnicodeScalarView(part)) }
        guard let separator else {
            // Runs of whitespace, no empty strings; past `limit` splits the rest is kept as it is
            // (with its whitespace on the far side).
            var words: [String] = []
            if fromEnd {
                var i = scalars.count
                while true {
                    while i > 0, isSpace(scalars[i - 1]) { i -= 1 }
                    if i == 0 { break }
                    if limit >= 0, words.count == limit { words.insert(text(scalars[0..<i]), at: 0); break }
                    let end = i
                    while i > 0, !isSpace(scalars[i - 1]) { i -= 1 }
                    words.insert(text(scalars[i..<end]), at: 0)
                }
                return words
            }
            var i = 0
            while true {
                while i < scalars.count, isSpace(scalars[i]) { i += 1 }
                if i == scalars.count { break }
                if limit >= 0, words.count == limit { words.append(text(scalars[i...])); break }
                let start = i
                while i < scalars.count, !isSpace(scalars[i]) { i += 1 }
                words.append(text(scalars[start..<i]))
            }
            return words
        }
        let sep = Array(separator.unicodeScalars)
        guard !sep.isEmpty else { return [s] }
        var parts: [String] = []
        if fromEnd {
            var end = scalars.count, i = scalars.count - sep.count
            while i >= 0, limit < 0 || parts.count < limit {
                if scalars[i..<(i + sep.count)].elementsEqual(sep) {
                    parts.insert(text(scalars[(i + sep.count)..<end]), at: 0)
                    end = i
                    i -= sep.count
                } else {
                    i -= 1
                }
            }
            return [text(scalars[0..<end])] + parts
        }
        var start = 0, i = 0
        while i + sep.count <= scalars.count, limit < 0 || parts.count < limit {
            if scalars[i..<(i + sep.count)].elementsEqual(sep) {
                parts.append(text(scalars[start..<i]))
                i += sep.count
                start = i
            } else {
                i += 1
            }
        }
        parts.append(text(scalars[start...]))
        return parts
    }

    /// Python's str.splitlines (no line ends kept).
    static func splitLines(_ s: String) -> [String] {
        var lines: [String] = [], current = String.UnicodeScalarView()
        let scalars = Array(s.unicodeScalars)
        var i = 0
        while i < scalars.count {
            let c = scalars[i]
            switch c.value {
            case 0x0A, 0x0B, 0x0C, 0x0D, 0x1C, 0x1D, 0x1E, 0x85, 0x2028, 0x2029:
                lines.append(String(current))
                current = String.UnicodeScalarView()
                if c == "\r", i + 1 < scalars.count, scalars[i + 1] == "\n" { i += 1 }
            default:
                current.append(c)
            }
            i += 1
        }
        if !current.isEmpty { lines.append(String(current)) }
        return lines
    }

    static func replace(_ s: String, _ old: String, _ new: String, count: Int) -> String {
        if count == 0 { return s }
        if old.isEmpty {
            var out = new, done = 1
            for c in s.unicodeScalars {
                out.unicodeScalars.append(c)
                if count < 0 || done < count { out += new; done += 1 }
            }
            return out
        }
        let parts = split(s, separator: old, limit: count)
        return parts.joined(separator: new)
    }

    /// Python's str.title: a cased character after an uncased one is upper-cased, the rest lower-cased.
    static func pythonTitle(_ s: String) -> String {
        var out = "", previousCased = false
        for c in s.unicodeScalars {
            let cased = c.properties.isCased
            out += previousCased ? String(c).lowercased() : String(c).uppercased()
            previousCased = cased
        }
        return out
    }

    static func capitalize(_ s: String) -> String {
        guard let first = s.unicodeScalars.first else { return s }
        return String(first).uppercased() + String(String.UnicodeScalarView(s.unicodeScalars.dropFirst())).lowercased()
    }

    /// `"{} and {name}".format(...)`: positional, numbered and named fields, no format specs.
    static func format(_ s: String, _ args: Arguments) throws -> String {
        var out = "", chars = Array(s), i = 0, next = 0
        while i < chars.count {
            let c = chars[i]
            if c == "{", i + 1 < chars.count, chars[i + 1] == "{" { out += "{"; i += 2; continue }
            if c == "}", i + 1 < chars.count, chars[i + 1] == "}" { out += "}"; i += 2; continue }
            guard c == "{" else { out.append(c); i += 1; continue }
            guard let close = chars[i...].firstIndex(of: "}") else { throw TemplateError.value("Single '{' encountered in format string") }
            let field = String(chars[(i + 1)..<close])
            let value: Value?
            if field.isEmpty { value = next < args.positional.count ? args.positional[next] : nil; next += 1 }
            else if let n = Int(field) { value = args.positional.indices.contains(n) ? args.positional[n] : nil }
            else { value = args.keywords[field] }
            guard let value else { throw TemplateError.value("format field '{\(field)}' has no argument") }
            out += value.text
            i = close + 1
        }
        return out
    }
}
