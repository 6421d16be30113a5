import Foundation
import OrderedCollections

/// jinja2's built-in filters that chat templates use, with transformers' `tojson`
/// (`json.dumps` with `ensure_ascii=False`, unlike jinja2's HTML-safe one). Filters that yield
/// generators in jinja2 (map, select, reverse, ...) give lists here, which iterate, join and
/// print through `|list` the same way.
enum Filters {
    static let names: Set<String> = [
        "trim", "tojson", "length", "count", "items", "string", "list", "first", "last", "join", "upper", "lower", "capitalize",
        "title", "replace", "default", "d", "int", "float", "abs", "round", "reverse", "sort", "dictsort", "unique", "min", "max",
        "sum", "map", "select", "reject", "selectattr", "rejectattr", "attr", "indent", "safe", "escape", "e", "forceescape",
        "wordcount", "center", "batch", "format", "truncate", "slice",
    ]

    static func apply(_ name: String, _ value: Value, _ args: Arguments, _ interpreter: Interpreter) throws -> Value {
        switch name {
        case "trim":
            return .string(Methods.strip(value.text, chars: args.value(0, "chars").map(\.text)))
        case "tojson":
            // transformers' signature: tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False).
            try args.check("tojson", max: 4, names: ["indent", "ensure_ascii", "separators", "sort_keys"])
            var indent: String?
            switch args.value(1, "indent") {
            case .string(let s)?: indent = s
            case let v?: indent = Operators.integer(v).map { String(repeating: " ", count: max(0, $0)) }
            case nil: indent = nil
            }
            var separators: (String, String)?
            if let s = args.value(2, "separators"), !s.isNone, case let items = try s.iterated(), items.count == 2 {
                separators = (items[0].text, items[1].text)
            }
            let ensureASCII = args.value(0, "ensure_ascii")?.isTruthy ?? false
            return .string(try PythonJSON.dumps(value, indent: indent, separators: separators,
                                               sortKeys: args.value(3, "sort_keys")?.isTruthy ?? false, ensureASCII: ensureASCII))
        case "length", "count":
            switch value {
            case .string(let s): return .int(s.unicodeScalars.count)
            case .undefined: return .int(0)
            case .list(let a), .tuple(let a): return .int(a.count)
            case .dict(let d): return .int(d.count)
            case .namespace(let n): return .int(n.values.count)
            default: throw TemplateError.type("object of type '\(value.typeName)' has no len()")
            }
        case "items":
            switch value {
            case .undefined: return .list([])
            case .dict(let d): return .list(d.map { .tuple([.string($0.key), $0.value]) })
            default: throw TemplateError.value("'items' filter on \(value.typeName): expected a mapping")
            }
        case "string": return .string(value.text)
        case "list": return .list(try value.iterated())
        case "first":
            let items = try value.iterated()
            return items.first ?? .undefined(name: "No first item, sequence was empty.")
        case "last":
            let items = try value.iterated()
            return items.last ?? .undefined(name: "No last item, sequence was empty.")
        case "join":
            var items = try value.iterated()
            if let attribute = args.value(1, "attribute") { items = try items.map { try path(attribute, of: $0, interpreter) } }
            return .string(items.map(\.text).joined(separator: args.value(0, "d")?.text ?? ""))
        case "upper": return .string(value.text.uppercased())
        case "lower": return .string(value.text.lowercased())
        case "capitalize": return .string(Methods.capitalize(value.text))
        case "title": return .string(title(value.text))
        case "replace":
            guard let old = args.value(0, "old"), let new = args.value(1, "new") else { throw TemplateError.type("replace needs old and new") }
            let count = args.value(2, "count").flatMap(Operators.integer) ?? -1
            return .string(Methods.replace(value.text, old.text, new.text, count: count))
        case "default", "d":
            let fallback = args.value(0, "default_value") ?? .string("")
            let boolean = args.value(1, "boolean")?.isTruthy ?? false
            return value.isUndefined || (boolean && !value.isTruthy) ? fallback : value
        case "int":
            let fallback = args.value(0, "default") ?? .int(0)
            switch value {
            case .undefined(let message): throw TemplateError.undefined(message)
            case .int, .bool: return .int(Operators.integer(value)!)
            case .double(let d): return try Operators.int(d).map(Value.int) ?? fallback
            case .string(let s):
                let t = Methods.strip(s, chars: nil).replacingOccurrences(of: "_", with: "")
                if let i = Int(t) { return .int(i) }
                if let d = Double(t), let i = try Operators.int(d) { return .int(i) }
                return fallback
            default: return fallback
            }
        case "float":
            let fallback = args.value(0, "default") ?? .double(0)
            switch value {
            case .undefined(let message): throw TemplateError.undefined(message)
            case .string(let s): return Double(Methods.strip(s, chars: nil)).map(Value.double) ?? fallback
            default: return Operators.number(value).map(Value.double) ?? fallback
            }
        case "abs":
            if let i = Operators.integer(value) {
                guard i != .min else { throw TemplateError.value("integer overflow in abs") }
                return .int(abs(i))
            }
            if case .double(let d) = value { return .double(abs(d)) }
            throw TemplateError.type("bad operand type for abs(): '\(value.typeName)'")
        case "round":
            guard let x = Operators.number(value) else { throw TemplateError.type("round needs a number") }
            let precision = min(max(args.value(0, "precision").flatMap(Operators.integer) ?? 0, -300), 300)
            let method = args.value(1, "method")?.text ?? "common"
            let scale = pow(10.0, Double(precision))
            switch method {
            case "common":
                // Python's round: an int stays an int; a float is rounded on its exact binary
                // value, half to even, which is what printf does.
                if let i = Operators.integer(value) {
                    guard precision < 0 else { return .int(i) }
                    return .int(try Operators.int((Double(i) * scale).rounded(.toNearestOrEven) / scale) ?? 0)
                }
                if precision >= 0 { return .double(Double(String(format: "%.\(min(precision, 300))f", x)) ?? x) }
                return .double((x * scale).rounded(.toNearestOrEven) / scale)
            case "ceil": return .double((x * scale).rounded(.up) / scale)
            case "floor": return .double((x * scale).rounded(.down) / scale)
            default: throw TemplateError.value("method must be common, ceil or floor")
            }
        case "reverse":
            if case .string(let s) = value { return .string(String(String.UnicodeScalarView(s.unicodeScalars.reversed()))) }
            return .list(try value.iterated().reversed())
        case "sort":
            let reverse = args.value(0, "reverse")?.isTruthy ?? false
            let caseSensitive = args.value(1, "case_sensitive")?.isTruthy ?? false
            let attribute = args.value(2, "attribute")
            return .list(try sorted(try value.iterated(), reverse: reverse, caseSensitive: caseSensitive, attribute: attribute, interpreter))
        case "dictsort":
            guard case .dict(let d) = value else { throw TemplateError.type("dictsort needs a mapping") }
            let caseSensitive = args.value(0, "case_sensitive")?.isTruthy ?? false
            let byValue = args.value(1, "by")?.text == "value"
            let reverse = args.value(2, "reverse")?.isTruthy ?? false
            let pairs = d.map { Value.tuple([.string($0.key), $0.value]) }
            return .list(try sorted(pairs, reverse: reverse, caseSensitive: caseSensitive, attribute: .int(byValue ? 1 : 0), interpreter))
        case "unique":
            let caseSensitive = args.value(0, "case_sensitive")?.isTruthy ?? false
            let attribute = args.value(1, "attribute")
            var seen: [Value] = [], result: [Value] = []
            for item in try value.iterated() {
                var key = try attribute.map { try path($0, of: item, interpreter) } ?? item
                if !caseSensitive, case .string(let s) = key { key = .string(s.lowercased()) }
                if !seen.contains(where: { Operators.equal($0, key) }) { seen.append(key); result.append(item) }
            }
            return .list(result)
        case "min", "max":
            let caseSensitive = args.value(0, "case_sensitive")?.isTruthy ?? false
            let attribute = args.value(1, "attribute")
            // Python's min/max: the first of the equal smallest (largest) items.
            var best: (item: Value, key: [Value])?
            for item in try value.iterated() {
                let key = try sortKey(item, caseSensitive: caseSensitive, attributes: attributeList(attribute), interpreter)
                if let current = best {
                    let better = name == "min" ? try Operators.less(.list(key), .list(current.key)) : try Operators.less(.list(current.key), .list(key))
                    if !better { continue }
                }
                best = (item, key)
            }
            return best?.item ?? .undefined(name: "No aggregated item, sequence was empty.")
        case "sum":
            var total = args.value(1, "start") ?? .int(0)
            for item in try value.iterated() {
                total = try Operators.binary("+", total, try args.value(0, "attribute").map { try path($0, of: item, interpreter) } ?? item)
            }
            return total
        case "map":
            let items = try value.iterated()
            if let attribute = args.keywords["attribute"] {
                let fallback = args.keywords["default"]
                return .list(try items.map { item in
                    let v = try path(attribute, of: item, interpreter)
                    return v.isUndefined ? fallback ?? v : v
                })
            }
            guard case .string(let filter)? = args.positional.first else { throw TemplateError.type("map needs a filter name or attribute=") }
            let rest = Arguments(Array(args.positional.dropFirst()), args.keywords)
            return .list(try items.map { try apply(filter, $0, rest, interpreter) })
        case "select", "reject":
            let keep = name == "select"
            let items = try value.iterated()
            guard case .string(let test)? = args.positional.first else { return .list(items.filter { $0.isTruthy == keep }) }
            let rest = Arguments(Array(args.positional.dropFirst()), args.keywords)
            return .list(try items.filter { try interpreter.applyTest(test, $0, rest) == keep })
        case "selectattr", "rejectattr":
            let keep = name == "selectattr"
            guard let attribute = args.positional.first else { throw TemplateError.type("\(name) needs an attribute") }
            return .list(try value.iterated().filter { item in
                let v = try path(attribute, of: item, interpreter)
                guard args.positional.count > 1, case .string(let test) = args.positional[1] else { return v.isTruthy == keep }
                return try interpreter.applyTest(test, v, Arguments(Array(args.positional.dropFirst(2)), args.keywords)) == keep
            })
        case "attr":
            // A Python attribute only, never a key.
            let attribute = args.value(0, "name")?.text ?? ""
            if case .namespace = value { return try interpreter.attribute(of: value, attribute) }
            return Methods.bound(value, attribute) ?? .undefined(name: "'\(value.typeName) object' has no attribute '\(attribute)'")
        case "indent":
            return .string(indent(value.text, width: args.value(0, "width") ?? .int(4), first: args.value(1, "first")?.isTruthy ?? false,
                                  blank: args.value(2, "blank")?.isTruthy ?? false))
        case "safe", "escape", "e", "forceescape":
            return name == "safe" ? value : .string(htmlEscape(value.text))
        case "wordcount":
            // jinja2 counts runs of \w (letters, digits, underscore).
            let isWord: (Unicode.Scalar) -> Bool = { $0 == "_" || $0.properties.isAlphabetic || $0.properties.numericType != nil }
            var words = 0, inWord = false
            for c in value.text.unicodeScalars {
                if isWord(c) { if !inWord { words += 1 }; inWord = true } else { inWord = false }
            }
            return .int(words)
        case "center":
            let width = args.value(0, "width").flatMap(Operators.integer) ?? 80
            let s = value.text, n = s.unicodeScalars.count
            guard width > n else { return value }
            let left = (width - n) / 2 + ((width - n) & width & 1)
            return .string(String(repeating: " ", count: left) + s + String(repeating: " ", count: width - n - left))
        case "batch":
            guard let size = args.value(0, "linecount").flatMap(Operators.integer), size > 0 else { throw TemplateError.value("batch needs a positive size") }
            let items = try value.iterated()
            var batches: [Value] = []
            for start in stride(from: 0, to: items.count, by: size) {
                var batch = Array(items[start..<min(start + size, items.count)])
                if let fill = args.value(1, "fill_with") { while batch.count < size { batch.append(fill) } }
                batches.append(.list(batch))
            }
            return .list(batches)
        case "format":
            let arguments: Value = args.keywords.isEmpty ? .tuple(args.positional) : .dict(args.keywords)
            return .string(try Operators.percentFormat(value.text, arguments))
        case "truncate":
            let length = args.value(0, "length").flatMap(Operators.integer) ?? 255
            let killwords = args.value(1, "killwords")?.isTruthy ?? false
            let end = args.value(2, "end")?.text ?? "..."
            let leeway = args.value(3, "leeway").flatMap(Operators.integer) ?? 5
            let s = Array(value.text.unicodeScalars), e = end.unicodeScalars.count
            guard length >= e else { throw TemplateError.value("expected length >= \(e), got \(length)") }
            guard leeway >= 0 else { throw TemplateError.value("expected leeway >= 0, got \(leeway)") }
            if length > Int.max - leeway || s.count <= length + leeway { return .string(value.text) }
            var kept = Array(s.prefix(length - e))
            if !killwords, let space = kept.lastIndex(of: " ") { kept = Array(kept[..<space]) }
            return .string(String(String.UnicodeScalarView(kept)) + end)
        case "slice":
            guard let slices = args.value(0, "slices").flatMap(Operators.integer), slices > 0 else { throw TemplateError.value("slice needs a positive count") }
            let items = try value.iterated()
            let per = items.count / slices, extra = items.count % slices
            var offset = 0, result: [Value] = []
            for n in 0..<slices {
                let size = per + (n < extra ? 1 : 0)
                var part = Array(items[offset..<(offset + size)])
                offset += size
                if let fill = args.value(1, "fill_with"), n >= extra, extra > 0 { part.append(fill) }
                result.append(.list(part))
            }
            return .list(result)
        default:
            throw TemplateError.syntax(line: 0, "no filter named '\(name)'")
        }
    }

    /// An attribute path ("a.b", or an int index) looked up on `item` jinja2's way.
    static func path(_ attribute: Value, of item: Value, _ interpreter: Interpreter) throws -> Value {
        if case .int = attribute { return try interpreter.item(of: item, attribute) }
        var value = item
        for part in attribute.text.split(separator: ".", omittingEmptySubsequences: false) {
            value = try interpreter.item(of: value, Int(part).map(Value.int) ?? .string(String(part)))
        }
        return value
    }

    /// "a,b" as the list of attribute paths sort, min and max compare by.
    private static func attributeList(_ attribute: Value?) -> [Value] {
        attribute.map { a -> [Value] in
            if case .string(let s) = a { return s.split(separator: ",").map { Value.string(String($0)) } }
            return [a]
        } ?? []
    }

    /// What an item is compared by: its attributes (or itself), strings lower-cased unless case-sensitive.
    private static func sortKey(_ item: Value, caseSensitive: Bool, attributes: [Value], _ interpreter: Interpreter) throws -> [Value] {
        let keys = attributes.isEmpty ? [item] : try attributes.map { try path($0, of: item, interpreter) }
        return keys.map { k in
            if !caseSensitive, case .string(let s) = k { return .string(s.lowercased()) }
            return k
        }
    }

    private static func sorted(_ items: [Value], reverse: Bool, caseSensitive: Bool, attribute: Value?, _ interpreter: Interpreter) throws -> [Value] {
        let attributes = attributeList(attribute)
        let keyed = try items.map { (try sortKey($0, caseSensitive: caseSensitive, attributes: attributes, interpreter), $0) }
        var failure: Error?
        // A stable sort, as Python's sorted; reversed order keeps equal items in input order too.
        let order = keyed.enumerated().sorted { a, b in
            do {
                let (x, y) = reverse ? (b.element.0, a.element.0) : (a.element.0, b.element.0)
                if try Operators.less(.list(x), .list(y)) { return true }
                if try Operators.less(.list(y), .list(x)) { return false }
            } catch { failure = error }
            return a.offset < b.offset
        }
        if let failure { throw failure }
        return order.map(\.element.1)
    }

    /// jinja2's title filter: each word (split at whitespace and `-([{<`) upper-cases its first character.
    private static func title(_ s: String) -> String {
        var out = "", atStart = true
        for c in s.unicodeScalars {
            let separator = Methods.isSpace(c) || "-([{<".unicodeScalars.contains(c)
            out += separator ? String(c) : atStart ? String(c).uppercased() : String(c).lowercased()
            atStart = separator
        }
        return out
    }

    private static func indent(_ s: String, width: Value, first: Bool, blank: Bool) -> String {
        let pad: String
        if case .string(let w) = width { pad = w } else { pad = String(repeating: " ", count: min(max(0, Operators.integer(width) ?? 4), 10_000)) }
        let lines = Methods.splitLines(s + "\n")
        var out: String
        if blank {
            out = lines.joined(separator: "\n" + pad)
        } else {
            out = lines.first ?? ""
            let rest = lines.dropFirst()
            if !rest.isEmpty { out += "\n" + rest.map { $0.isEmpty ? $0 : pad + $0 }.joined(separator: "\n") }
        }
        return first ? pad + out : out
    }

    private static func htmlEscape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
            .replacingOccurrences(of: "\"", with: "&#34;").replacingOccurrences(of: "'", with: "&#39;")
    }
}
