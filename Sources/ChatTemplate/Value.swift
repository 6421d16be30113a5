import Foundation
import OrderedCollections

/// A value inside a template, with Python's semantics, because chat templates are written for
/// jinja2 running on Python objects: `{{ true }}` prints `True`, `1/2` is `0.5`, `[1, 'a']`
/// prints as Python's repr, and a missing key is `undefined` rather than an error.
public indirect enum Value: Sendable {
    /// A name or key that does not exist; `name` is kept for the error when it is used.
    case undefined(name: String)
    case none
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case list([Value])
    /// A Python tuple: behaves as a list, prints with parentheses.
    case tuple([Value])
    /// A dict with Python's insertion order, keyed by strings (chat data never has other keys).
    case dict(OrderedDictionary<String, Value>)
    /// `namespace()`: the one mutable object, so loops can carry state out of their scope.
    case namespace(Namespace)
    case callable(Callable)

    var isUndefined: Bool { if case .undefined = self { return true } else { return false } }

    /// Python's truthiness.
    public var isTruthy: Bool {
        switch self {
        case .undefined, .none: return false
        case .bool(let b): return b
        case .int(let i): return i != 0
        case .double(let d): return d != 0
        case .string(let s): return !s.isEmpty
        case .list(let a), .tuple(let a): return !a.isEmpty
        case .dict(let d): return !d.isEmpty
        case .namespace, .callable: return true
        }
    }

    /// The items of a sequence as a for loop sees them (a dict gives its keys, a string its characters).
    func iterated() throws -> [Value] {
        switch self {
        case .undefined: return []
        case .list(let a), .tuple(let a): return a
        case .dict(let d): return d.keys.map(Value.string)
        case .string(let s): return s.unicodeScalars.map { .string(String($0)) }
        case .namespace(let n): return n.values.keys.map(Value.string)
        default: throw TemplateError.type("'\(typeName)' object is not iterable")
        }
    }

    /// Python's type name, for errors.
    var typeName: String {
        switch self {
        case .undefined: return "Undefined"
        case .none: return "NoneType"
        case .bool: return "bool"
        case .int: return "int"
        case .double: return "float"
        case .string: return "str"
        case .list: return "list"
        case .tuple: return "tuple"
        case .dict: return "dict"
        case .namespace: return "Namespace"
        case .callable: return "function"
        }
    }

    /// Python's `str()`: what `{{ value }}` prints.
    public var text: String {
        switch self {
        case .undefined: return ""
        case .string(let s): return s
        default: return repr
        }
    }

    /// Python's `repr()`.
    var repr: String {
        switch self {
        case .undefined: return "Undefined"
        case .none: return "None"
        case .bool(let b): return b ? "True" : "False"
        case .int(let i): return String(i)
        case .double(let d): return Self.pythonFloat(d)
        case .string(let s): return Self.pythonRepr(s)
        case .list(let a): return "[" + a.map(\.repr).joined(separator: ", ") + "]"
        case .tuple(let a): return a.count == 1 ? "(\(a[0].repr),)" : "(" + a.map(\.repr).joined(separator: ", ") + ")"
        case .dict(let d): return "{" + d.map { "\(Self.pythonRepr($0.key)): \($0.value.repr)" }.joined(separator: ", ") + "}"
        case .namespace(let n): return "<Namespace " + Value.dict(n.values).repr + ">"
        case .callable(let c): return "<function \(c.name)>"
        }
    }

    /// Python's float repr: the shortest round-trip digits, exponent outside 1e-4 ..< 1e16.
    static func pythonFloat(_ d: Double) -> String {
        if d.isNaN { return "nan" }
        if d.isInfinite { return d < 0 ? "-inf" : "inf" }
        // Swift's description has Python's shortest digits and its exponent below 1e-4, but
        // writes whole numbers up to 2^53 in full where Python switches to an exponent at 1e16.
        let text = d.description
        guard abs(d) >= 1e16, !text.contains("e") else { return text }
        let sign = d < 0 ? "-" : ""
        var digits = String(text.drop { $0 == "-" }.prefix { $0 != "." })
        let exponent = digits.count - 1
        while digits.count > 1, digits.hasSuffix("0") { digits.removeLast() }
        let mantissa = digits.count == 1 ? digits : digits.prefix(1) + "." + digits.dropFirst()
        return "\(sign)\(mantissa)e+\(exponent)"
    }

    /// Python's repr of a string: single quotes unless the text has a ' and no ".
    static func pythonRepr(_ s: String) -> String {
        let quote: Character = s.contains("'") && !s.contains("\"") ? "\"" : "'"
        var out = String(quote)
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if Character(scalar) == quote { out += "\\" + String(quote); continue }
                if isPrintable(scalar) { out.unicodeScalars.append(scalar); continue }
                let v = scalar.value
                out += v < 0x100 ? String(format: "\\x%02x", v) : v < 0x10000 ? String(format: "\\u%04x", v) : String(format: "\\U%08x", v)
            }
        }
        out.append(quote)
        return out
    }

    /// Python's str.isprintable for one character: not a control, format, separator (other than
    /// the space), surrogate, private-use or unassigned code point.
    static func isPrintable(_ s: Unicode.Scalar) -> Bool {
        if s == " " { return true }
        switch s.properties.generalCategory {
        case .control, .format, .surrogate, .privateUse, .unassigned, .lineSeparator, .paragraphSeparator, .spaceSeparator:
            return false
        default: return true
        }
    }
}

extension Value {
    public var isNone: Bool { if case .none = self { return true } else { return false } }
}

/// Mutable state behind a callable (`loop.changed`, `cycler`, `joiner`).
final class Box<T>: @unchecked Sendable {
    var value: T
    init(_ value: T) { self.value = value }
}

/// `namespace(...)`: attributes set with `{% set ns.name = ... %}` are seen by every scope.
public final class Namespace: @unchecked Sendable {
    var values: OrderedDictionary<String, Value>
    init(_ values: OrderedDictionary<String, Value>) { self.values = values }
}

/// A function a template can call: a global (`range`, `namespace`, `raise_exception`), a
/// method bound to its object (`text.strip`), a macro, or `loop.cycle`.
public struct Callable: Sendable {
    let name: String
    let call: @Sendable (Arguments) throws -> Value
}

/// Positional and keyword arguments of a call, with Python's binding rules for the callee.
public struct Arguments: Sendable {
    var positional: [Value]
    var keywords: OrderedDictionary<String, Value>

    init(_ positional: [Value] = [], _ keywords: OrderedDictionary<String, Value> = [:]) {
        self.positional = positional
        self.keywords = keywords
    }

    /// The argument at `index` or named `name`, or nil when neither was given.
    func value(_ index: Int, _ name: String) -> Value? {
        if index >= 0, index < positional.count { return positional[index] }
        return keywords[name]
    }

    /// Refuses arguments the callee does not take.
    func check(_ function: String, max: Int, names: Set<String>) throws {
        if positional.count > max {
            throw TemplateError.type("\(function)() takes at most \(max) positional arguments (\(positional.count) given)")
        }
        if let unknown = keywords.keys.first(where: { !names.contains($0) }) {
            throw TemplateError.type("\(function)() got an unexpected keyword argument '\(unknown)'")
        }
    }
}
