import OrderedCollections

/// Runs parsed statements against variables, writing text and recording where `{% generation %}`
/// blocks put theirs. Scoping follows jinja2: each loop iteration, macro call and `with` block
/// gets its own scope, `if` does not, and only a `namespace()` carries values out of a scope.
final class Interpreter: @unchecked Sendable {
    private var scopes: [[String: Value]]
    private(set) var output = ""
    /// UTF-8 byte ranges of the output written inside `{% generation %}` blocks.
    private(set) var generationRanges: [Range<Int>] = []
    /// Above 0 while a macro body, set block or filter block writes to a buffer of its own.
    private var captureDepth = 0
    /// Macro calls in progress: a macro calling itself without end is an error, as Python's
    /// recursion limit makes it in jinja2, not a stack overflow.
    private var callDepth = 0
    static let maximumCallDepth = 64

    private enum Flow { case normal, breakLoop, continueLoop }

    init(globals: [String: Value]) {
        scopes = [globals, [:]]
    }

    func run(_ statements: [Statement]) throws {
        if try execute(statements) != .normal { throw TemplateError.value("'break' or 'continue' outside a loop") }
    }

    // MARK: Scopes

    func lookup(_ name: String) -> Value {
        for scope in scopes.reversed() { if let value = scope[name] { return value } }
        return .undefined(name: "'\(name)' is undefined")
    }

    private func assign(_ target: Target, _ value: Value) throws {
        switch target {
        case .name(let name):
            scopes[scopes.count - 1][name] = value
        case .tuple(let targets):
            let items = try value.iterated()
            guard items.count == targets.count else {
                throw TemplateError.value("cannot unpack \(items.count) values into \(targets.count) names")
            }
            for (t, v) in zip(targets, items) { try assign(t, v) }
        case .attribute(let object, let attribute):
            if attribute.hasPrefix("_") { throw TemplateError.value("access to attribute '\(attribute)' is unsafe (the sandbox refuses names starting with '_')") }
            guard case .namespace(let namespace) = lookup(object) else {
                throw TemplateError.type("cannot assign attribute '\(attribute)' on '\(object)': only a namespace() takes attributes")
            }
            namespace.values[attribute] = value
        }
    }

    private func withScope<T>(_ variables: [String: Value], _ body: () throws -> T) rethrows -> T {
        scopes.append(variables)
        defer { scopes.removeLast() }
        return try body()
    }

    /// Runs `body` writing into a buffer of its own and returns the buffer.
    func capture(_ body: () throws -> Void) rethrows -> String {
        let saved = output
        output = ""
        captureDepth += 1
        defer { output = saved; captureDepth -= 1 }
        try body()
        return output
    }

    // MARK: Statements

    private func execute(_ statements: [Statement]) throws -> Flow {
        for statement in statements {
            let flow = try execute(statement)
            if flow != .normal { return flow }
        }
        return .normal
    }

    private func execute(_ statement: Statement) throws -> Flow {
        switch statement {
        case .text(let text):
            output += text
        case .output(let expression, let line):
            try at(line) { output += try evaluate(expression).text }
        case .if(let branches, let otherwise, let line):
            for (condition, body) in branches where try at(line, { try evaluate(condition).isTruthy }) {
                return try execute(body)
            }
            return try execute(otherwise)
        case .for(let target, let iterable, let condition, let body, let otherwise, let recursive, let line):
            if recursive { throw TemplateError.syntax(line: line, "recursive loops are not supported") }
            return try at(line) { try loop(target, iterable, condition: condition, body: body, otherwise: otherwise) }
        case .set(let target, let expression, let line):
            try at(line) { try assign(target, try evaluate(expression)) }
        case .setBlock(let target, let body, let filters, let line):
            try at(line) {
                var value = Value.string(try capture { _ = try execute(body) })
                for (name, arguments) in filters { value = try applyFilter(name, value, arguments) }
                try assign(target, value)
            }
        case .macro(let macro, _):
            scopes[scopes.count - 1][macro.name] = makeMacro(macro, closure: scopes)
        case .callBlock(let arguments, let parameters, let body, let line, let callee):
            try at(line) {
                let caller = makeMacro(Macro(name: "caller", parameters: parameters, body: body), closure: scopes)
                var call = try evaluateArguments(arguments)
                call.keywords["caller"] = caller
                guard case .callable(let function) = try evaluate(callee) else { throw TemplateError.type("'{% call %}' needs a macro") }
                output += try function.call(call).text
            }
        case .filterBlock(let filters, let body, let line):
            try at(line) {
                var value = Value.string(try capture { _ = try execute(body) })
                for (name, arguments) in filters { value = try applyFilter(name, value, arguments) }
                output += value.text
            }
        case .with(let assignments, let body, let line):
            let values = try at(line) { try assignments.map { try evaluate($0.1) } }
            return try withScope([:]) {
                for ((target, _), value) in zip(assignments, values) { try at(line) { try assign(target, value) } }
                return try execute(body)
            }
        case .generation(let body):
            let start = output.utf8.count
            let flow = try execute(body)
            if captureDepth == 0 { generationRanges.append(start..<output.utf8.count) }
            return flow
        case .break:
            return .breakLoop
        case .continue:
            return .continueLoop
        }
        return .normal
    }

    /// Runs `body`, adding `line` to an error that has none.
    private func at<T>(_ line: Int, _ body: () throws -> T) throws -> T {
        do { return try body() } catch let error as TemplateError {
            switch error {
            case .at: throw error
            case .syntax(0, let message): throw TemplateError.syntax(line: line, message)
            case .syntax: throw error
            default: throw TemplateError.at(line: line, error)
            }
        }
    }

    private func loop(_ target: Target, _ iterable: Expression, condition: Expression?, body: [Statement], otherwise: [Statement]) throws -> Flow {
        var items = try evaluate(iterable).iterated()
        if let condition {
            items = try items.filter { item in try withScope([:]) { try assign(target, item); return try evaluate(condition).isTruthy } }
        }
        let count = items.count
        // jinja2 runs `else` unless some iteration reached the end of its body (a `break` or
        // `continue` in every iteration leaves it to run, as jinja2's generated code does).
        var finishedAnIteration = false
        let changed = Box<Value?>(nil)
        for (i, item) in items.enumerated() {
            let loop: OrderedDictionary<String, Value> = [
                "index": .int(i + 1), "index0": .int(i), "revindex": .int(count - i), "revindex0": .int(count - i - 1),
                "first": .bool(i == 0), "last": .bool(i == count - 1), "length": .int(count), "depth": .int(1), "depth0": .int(0),
                "previtem": i > 0 ? items[i - 1] : .undefined(name: "there is no previous item"),
                "nextitem": i + 1 < count ? items[i + 1] : .undefined(name: "there is no next item"),
                "cycle": .callable(Callable(name: "cycle") { arguments in
                    guard !arguments.positional.isEmpty else { throw TemplateError.type("no items for cycling given") }
                    return arguments.positional[i % arguments.positional.count]
                }),
                "changed": .callable(Callable(name: "changed") { arguments in
                    let now = Value.tuple(arguments.positional)
                    defer { changed.value = now }
                    return .bool(changed.value.map { !Operators.equal($0, now) } ?? true)
                }),
            ]
            let flow = try withScope(["loop": .dict(loop)]) { () throws -> Flow in
                try assign(target, item)
                return try execute(body)
            }
            if flow == .breakLoop { break }
            if flow == .normal { finishedAnIteration = true }
        }
        if !finishedAnIteration { _ = try withScope([:]) { try execute(otherwise) } }
        return .normal
    }

    /// A macro as a callable: its parameters bound Python's way (defaults computed in the macro's
    /// own scope, after the parameters before them), run in a scope of its own above the scopes
    /// where it was defined (a macro inside a loop sees the loop's variables).
    private func makeMacro(_ macro: Macro, closure: [[String: Value]]) -> Value {
        let takesVarargs = macro.reads("varargs"), takesKwargs = macro.reads("kwargs"), takesCaller = macro.reads("caller")
        return .callable(Callable(name: macro.name) { [unowned self] arguments in
            if arguments.positional.count > macro.parameters.count, !takesVarargs {
                throw TemplateError.type("macro '\(macro.name)' takes not more than \(macro.parameters.count) argument(s)")
            }
            if !takesKwargs, let unknown = arguments.keywords.keys.first(where: { key in
                !macro.parameters.contains { $0.0 == key } && !(key == "caller" && takesCaller)
            }) {
                throw TemplateError.type("macro '\(macro.name)' has no argument named '\(unknown)'")
            }
            self.callDepth += 1
            defer { self.callDepth -= 1 }
            if self.callDepth > Self.maximumCallDepth {
                throw TemplateError.value("macro '\(macro.name)' called more than \(Self.maximumCallDepth) levels deep (recursion without end?)")
            }
            // The template's top level is read as it is now (jinja2 looks those names up at
            // call time); the scopes of loops around the definition as they were then.
            let saved = self.scopes
            self.scopes = Array(saved.prefix(2)) + closure.dropFirst(2) + [[:]]
            defer { self.scopes = saved }
            let extra = Array(arguments.positional.dropFirst(macro.parameters.count))
            for (i, (name, fallback)) in macro.parameters.enumerated() {
                let value: Value
                if i < arguments.positional.count {
                    value = arguments.positional[i]
                } else if let given = arguments.keywords[name] {
                    value = given
                } else if let fallback {
                    value = try self.evaluate(fallback)
                } else {
                    value = .undefined(name: "parameter '\(name)' was not provided")
                }
                self.scopes[self.scopes.count - 1][name] = value
            }
            var kwargs = OrderedDictionary<String, Value>()
            for (key, value) in arguments.keywords where !macro.parameters.contains(where: { $0.0 == key }) {
                if key == "caller" { self.scopes[self.scopes.count - 1]["caller"] = value } else { kwargs[key] = value }
            }
            self.scopes[self.scopes.count - 1]["varargs"] = .tuple(extra)
            self.scopes[self.scopes.count - 1]["kwargs"] = .dict(kwargs)
            return .string(try self.capture { _ = try self.execute(macro.body) })
        })
    }

    // MARK: Expressions

    func evaluate(_ expression: Expression) throws -> Value {
        switch expression {
        case .literal(let value): return value
        case .name(let name): return lookup(name)
        case .list(let items): return .list(try items.map(evaluate))
        case .tuple(let items): return .tuple(try items.map(evaluate))
        case .dict(let pairs):
            var dict = OrderedDictionary<String, Value>()
            for (k, v) in pairs {
                guard case .string(let key) = try evaluate(k) else { throw TemplateError.type("dict keys in a template must be strings") }
                dict[key] = try evaluate(v)
            }
            return .dict(dict)
        case .attribute(let object, let name):
            return try attribute(of: try evaluate(object), name)
        case .subscript_(let object, let index):
            return try item(of: try evaluate(object), try evaluate(index))
        case .slice(let object, let start, let stop, let step):
            return try slice(try evaluate(object), start: try start.map(evaluate), stop: try stop.map(evaluate), step: try step.map(evaluate))
        case .call(let function, let arguments):
            let callee = try evaluate(function)
            let call = try evaluateArguments(arguments)
            switch callee {
            case .callable(let c): return try c.call(call)
            case .undefined(let message): throw TemplateError.undefined(message)
            default: throw TemplateError.type("'\(callee.typeName)' object is not callable")
            }
        case .filter(let value, let name, let arguments):
            return try applyFilter(name, try evaluate(value), arguments)
        case .test(let value, let name, let arguments, let negated):
            let result = try applyTest(name, try evaluate(value), try evaluateArguments(arguments))
            return .bool(result != negated)
        case .unary(let op, let operand):
            return try Operators.unary(op, try evaluate(operand))
        case .binary(let op, let left, let right):
            return try Operators.binary(op, try evaluate(left), try evaluate(right))
        case .compare(let first, let operations):
            var left = try evaluate(first)
            for (op, next) in operations {
                let right = try evaluate(next)
                if !(try Operators.compare(op, left, right)) { return .bool(false) }
                left = right
            }
            return .bool(true)
        case .and(let left, let right):
            let l = try evaluate(left)
            return l.isTruthy ? try evaluate(right) : l
        case .or(let left, let right):
            let l = try evaluate(left)
            return l.isTruthy ? l : try evaluate(right)
        case .not(let operand):
            return .bool(!(try evaluate(operand).isTruthy))
        case .conditional(let then, let condition, let otherwise):
            if try evaluate(condition).isTruthy { return try evaluate(then) }
            return try otherwise.map(evaluate) ?? .undefined(name: "the conditional expression had no else branch")
        }
    }

    func evaluateArguments(_ arguments: CallArguments) throws -> Arguments {
        var result = Arguments(try arguments.positional.map(evaluate))
        if let star = arguments.star { result.positional += try evaluate(star).iterated() }
        for (name, expression) in arguments.keywords { result.keywords[name] = try evaluate(expression) }
        if let doubleStar = arguments.doubleStar {
            guard case .dict(let d) = try evaluate(doubleStar) else { throw TemplateError.type("argument after ** must be a mapping") }
            for (k, v) in d { result.keywords[k] = v }
        }
        return result
    }

    func applyFilter(_ name: String, _ value: Value, _ arguments: CallArguments) throws -> Value {
        try Filters.apply(name, value, try evaluateArguments(arguments), self)
    }

    func applyTest(_ name: String, _ value: Value, _ arguments: Arguments) throws -> Bool {
        try Predicates.apply(name, value, arguments, self)
    }

    /// `object.name`: jinja2 tries the Python attribute (a method) first, then the key.
    func attribute(of object: Value, _ name: String) throws -> Value {
        // The sandbox hides attributes starting with '_' (a key of that name is still a key).
        if name.hasPrefix("_"), !object.isUndefined {
            if case .dict(let d) = object, let value = d[name] { return value }
            return .undefined(name: "access to attribute '\(name)' of '\(object.typeName)' object is unsafe")
        }
        switch object {
        case .undefined(let message): throw TemplateError.undefined(message)
        case .dict(let d):
            if let method = Methods.bound(object, name) { return method }
            return d[name] ?? .undefined(name: "'dict object' has no attribute '\(name)'")
        case .namespace(let n):
            return n.values[name] ?? .undefined(name: "'Namespace' object has no attribute '\(name)'")
        default:
            return Methods.bound(object, name) ?? .undefined(name: "'\(object.typeName) object' has no attribute '\(name)'")
        }
    }

    /// `object[index]`: jinja2 tries the key or index first, then the attribute.
    func item(of object: Value, _ index: Value) throws -> Value {
        switch (object, index) {
        case (.undefined(let message), _): throw TemplateError.undefined(message)
        case (.dict(let d), .string(let key)):
            if let value = d[key] { return value }
            return Methods.bound(object, key) ?? .undefined(name: "'dict object' has no attribute '\(key)'")
        case (.namespace, .string(let key)):
            return try attribute(of: object, key)
        case (.list(let a), _), (.tuple(let a), _):
            guard let i = Operators.integer(index) else { return .undefined(name: "list indices must be integers") }
            let k = i < 0 ? a.count + i : i
            return a.indices.contains(k) ? a[k] : .undefined(name: "list index \(i) out of range")
        case (.string(let s), _):
            guard let i = Operators.integer(index) else { return .undefined(name: "string indices must be integers") }
            let scalars = Array(s.unicodeScalars)
            let k = i < 0 ? scalars.count + i : i
            return scalars.indices.contains(k) ? .string(String(scalars[k])) : .undefined(name: "string index \(i) out of range")
        case (_, .string(let key)):
            return try attribute(of: object, key)
        default:
            return .undefined(name: "'\(object.typeName) object' has no item \(index.repr)")
        }
    }

    /// Python's `sequence[start:stop:step]`.
    func slice(_ object: Value, start: Value?, stop: Value?, step: Value?) throws -> Value {
        func bound(_ v: Value?) throws -> Int? {
            guard let v, !(v.isUndefined), v.isNone == false else { return nil }
            guard let i = Operators.integer(v) else { throw TemplateError.type("slice indices must be integers or None") }
            return i
        }
        let stride = try bound(step) ?? 1
        if stride == 0 { throw TemplateError.value("slice step cannot be zero") }
        func pick<T>(_ items: [T]) throws -> [T] {
            let n = items.count
            func clamp(_ i: Int?, _ fallback: Int) -> Int {
                guard var i else { return fallback }
                if i < 0 { i += n }
                return stride > 0 ? min(max(i, 0), n) : min(max(i, -1), n - 1)
            }
            var i = clamp(try bound(start), stride > 0 ? 0 : n - 1)
            let end = clamp(try bound(stop), stride > 0 ? n : -1)
            var result: [T] = []
            while stride > 0 ? i < end : i > end {
                result.append(items[i])
                let (next, overflow) = i.addingReportingOverflow(stride)
                if overflow { break }
                i = next
            }
            return result
        }
        switch object {
        case .undefined(let message): throw TemplateError.undefined(message)
        case .list(let a): return .list(try pick(a))
        case .tuple(let a): return .tuple(try pick(a))
        case .string(let s):
            var view = String.UnicodeScalarView()
            view.append(contentsOf: try pick(Array(s.unicodeScalars)))
            return .string(String(view))
        default: throw TemplateError.type("'\(object.typeName)' object is not subscriptable")
        }
    }
}

