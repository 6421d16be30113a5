/// jinja2's tests (`value is defined`, `x is string`, `n is divisibleby 3`).
enum Predicates {
    static func apply(_ name: String, _ value: Value, _ args: Arguments, _ interpreter: Interpreter) throws -> Bool {
        func argument() throws -> Value {
            guard let a = args.positional.first ?? args.keywords.values.first else { throw TemplateError.type("test '\(name)' needs an argument") }
            return a
        }
        switch name {
        case "defined": return !value.isUndefined
        case "undefined": return value.isUndefined
        case "none": return value.isNone
        case "boolean": if case .bool = value { return true } else { return false }
        case "true": if case .bool(true) = value { return true } else { return false }
        case "false": if case .bool(false) = value { return true } else { return false }
        case "integer": if case .int = value { return true } else { return false }
        case "float": if case .double = value { return true } else { return false }
        case "number":
            switch value { case .int, .double, .bool: return true; default: return false }
        case "string": if case .string = value { return true } else { return false }
        case "mapping":
            switch value { case .dict, .namespace: return true; default: return false }
        case "iterable":
            switch value { case .list, .tuple, .dict, .string, .undefined, .namespace: return true; default: return false }
        case "sequence":
            switch value { case .list, .tuple, .dict, .string: return true; default: return false }
        case "callable": if case .callable = value { return true } else { return false }
        case "odd", "even":
            guard let x = Operators.number(value) else { throw TemplateError.type("test '\(name)' needs a number") }
            let remainder = x - 2 * (x / 2).rounded(.down)
            return name == "odd" ? remainder == 1 : remainder == 0
        case "divisibleby":
            guard let i = Operators.integer(value), let n = Operators.integer(try argument()), n != 0 else {
                throw TemplateError.value("divisibleby needs integers, the divisor not 0")
            }
            return n == -1 || i % n == 0
        case "eq", "equalto", "==": return Operators.equal(value, try argument())
        case "ne", "!=": return !Operators.equal(value, try argument())
        case "lt", "lessthan", "<": return try Operators.less(value, try argument())
        case "le", "<=": return try Operators.compare("<=", value, try argument())
        case "gt", "greaterthan", ">": return try Operators.less(try argument(), value)
        case "ge", ">=": return try Operators.compare(">=", value, try argument())
        case "in": return try Operators.contains(try argument(), value)
        case "sameas":
            let other = try argument()
            switch (value, other) {
            case (.none, .none): return true
            case (.bool(let a), .bool(let b)): return a == b
            // CPython keeps one object for each small int.
            case (.int(let a), .int(let b)): return a == b && (-5...256).contains(a)
            case (.namespace(let a), .namespace(let b)): return a === b
            default: return false
            }
        case "lower": return stringProperty("islower", value.text)
        case "upper": return stringProperty("isupper", value.text)
        case "escaped": return false
        case "filter": return Filters.names.contains(value.text)
        case "test": return Self.names.contains(value.text)
        default: throw TemplateError.syntax(line: 0, "no test named '\(name)'")
        }
    }

    static let names: Set<String> = [
        "defined", "undefined", "none", "boolean", "true", "false", "integer", "float", "number", "string", "mapping",
        "iterable", "sequence", "callable", "odd", "even", "divisibleby", "eq", "equalto", "==", "ne", "!=", "lt", "lessthan",
        "<", "le", "<=", "gt", "greaterthan", ">", "ge", ">=", "in", "sameas", "lower", "upper", "escaped", "filter", "test",
    ]

    /// Python's str.isdigit / isalpha / isspace / isupper / islower / isalnum.
    static func stringProperty(_ name: String, _ s: String) -> Bool {
        let scalars = Array(s.unicodeScalars)
        guard !scalars.isEmpty else { return false }
        switch name {
        case "isdigit": return scalars.allSatisfy { $0.properties.numericType == .digit || $0.properties.numericType == .decimal }
        case "isalpha": return scalars.allSatisfy { $0.properties.isAlphabetic }
        case "isalnum": return scalars.allSatisfy { $0.properties.isAlphabetic || $0.properties.numericType != nil }
        case "isspace": return scalars.allSatisfy(Methods.isSpace)
        case "isupper", "islower":
            let cased = scalars.filter { $0.properties.isCased }
            return !cased.isEmpty && cased.allSatisfy { name == "isupper" ? !$0.properties.isLowercase : $0.properties.isLowercase }
        default: return false
        }
    }
}
