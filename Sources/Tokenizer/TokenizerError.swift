import Foundation

/// Errors loading or running a tokenizer. Each names the file, the JSON field (as a path such
/// as `pre_tokenizer.pretokenizers[1].pattern`) or the record it is about.
public enum TokenizerError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The file could not be read.
    case cannotRead(path: String, reason: String)
    /// The file is not JSON (or not the JSON shape expected at its top level).
    case malformedFile(path: String, reason: String)
    /// A field is missing, has the wrong type, or holds an impossible value.
    case invalidField(field: String, reason: String)
    /// A component (normalizer, pre-tokenizer, model, ...) or option this implementation does
    /// not support: never silently replaced by something else.
    case unsupported(field: String, what: String)
    /// Input text that is not valid UTF-8.
    case invalidUTF8(record: String)

    public var description: String {
        switch self {
        case let .cannotRead(path, reason): return "\(path): cannot read: \(reason)"
        case let .malformedFile(path, reason): return "\(path): malformed: \(reason)"
        case let .invalidField(field, reason): return "\(field): \(reason)"
        case let .unsupported(field, what): return "\(field): unsupported \(what)"
        case let .invalidUTF8(record): return "\(record): text is not valid UTF-8"
        }
    }
}

/// A JSON value from JSONSerialization, with the path it was found at, so every type error
/// names its field.
struct JSONNode {
    let value: Any?
    let path: String

    init(_ value: Any?, path: String) {
        self.value = value
        self.path = path
    }

    var isNull: Bool { value == nil || value is NSNull }

    subscript(key: String) -> JSONNode {
        let dict = value as? [String: Any]
        return JSONNode(dict?[key], path: path.isEmpty ? key : "\(path).\(key)")
    }

    func has(_ key: String) -> Bool { (value as? [String: Any])?[key] != nil }

    func fail(_ reason: String) -> TokenizerError { .invalidField(field: path, reason: reason) }

    func string() throws -> String {
        guard let s = value as? String else { throw fail(isNull ? "missing (expected a string)" : "expected a string") }
        return s
    }

    func optionalString() throws -> String? { isNull ? nil : try string() }

    func bool(default fallback: Bool? = nil) throws -> Bool {
        if isNull, let fallback { return fallback }
        // JSONSerialization gives NSNumber for both numbers and booleans: accept only booleans.
        guard let n = value as? NSNumber, Self.isBoolean(n) else {
            throw fail(isNull ? "missing (expected true or false)" : "expected true or false")
        }
        return n.boolValue
    }

    func int(default fallback: Int? = nil) throws -> Int {
        if isNull, let fallback { return fallback }
        guard let n = value as? NSNumber, !Self.isBoolean(n),
              let i = Int(exactly: n.doubleValue) else {
            throw fail(isNull ? "missing (expected an integer)" : "expected an integer")
        }
        return i
    }

    /// JSONSerialization gives NSNumber for numbers and booleans alike; booleans are its
    /// boolean subclass.
    private static func isBoolean(_ n: NSNumber) -> Bool {
        String(describing: Swift.type(of: n)).contains("Boolean")
    }

    func array() throws -> [JSONNode] {
        guard let a = value as? [Any] else { throw fail(isNull ? "missing (expected an array)" : "expected an array") }
        return a.enumerated().map { JSONNode($1, path: "\(path)[\($0)]") }
    }

    func object() throws -> [String: JSONNode] {
        guard let d = value as? [String: Any] else { throw fail(isNull ? "missing (expected an object)" : "expected an object") }
        var out: [String: JSONNode] = [:]
        for (k, v) in d { out[k] = JSONNode(v, path: path.isEmpty ? k : "\(path).\(k)") }
        return out
    }

    /// The component's `type` field.
    func type() throws -> String { try self["type"].string() }
}
