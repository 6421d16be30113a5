/// An expression of the template language.
indirect enum Expression: Sendable {
    case literal(Value)
    case name(String)
    case list([Expression])
    case tuple([Expression])
    case dict([(Expression, Expression)])
    /// `object.name`: an attribute (method) first, then a key.
    case attribute(Expression, String)
    /// `object[index]`: a key first, then an attribute.
    case subscript_(Expression, Expression)
    case slice(Expression, start: Expression?, stop: Expression?, step: Expression?)
    case call(Expression, CallArguments)
    case filter(Expression, name: String, CallArguments)
    case test(Expression, name: String, CallArguments, negated: Bool)
    case unary(String, Expression)
    case binary(String, Expression, Expression)
    /// `a < b <= c`: Python's chained comparison.
    case compare(Expression, [(String, Expression)])
    case and(Expression, Expression)
    case or(Expression, Expression)
    case not(Expression)
    case conditional(then: Expression, condition: Expression, otherwise: Expression?)
}

struct CallArguments: Sendable {
    var positional: [Expression] = []
    var keywords: [(String, Expression)] = []
    var star: Expression?
    var doubleStar: Expression?
}

/// Where `{% set %}` and `{% for %}` put values: names, a tuple of them, or a namespace attribute.
indirect enum Target: Sendable {
    case name(String)
    case tuple([Target])
    case attribute(String, String)
}

struct Macro: Sendable {
    let name: String
    let parameters: [(String, Expression?)]
    let body: [Statement]
}

/// A statement, with the template line it starts on for errors.
indirect enum Statement: Sendable {
    case text(String)
    case output(Expression, line: Int)
    case `if`([(Expression, [Statement])], otherwise: [Statement], line: Int)
    case `for`(Target, Expression, condition: Expression?, body: [Statement], otherwise: [Statement], recursive: Bool, line: Int)
    case set(Target, Expression, line: Int)
    case setBlock(Target, [Statement], filters: [(String, CallArguments)], line: Int)
    case macro(Macro, line: Int)
    /// `{% call(args) macro(...) %}body{% endcall %}`: the body is the macro's `caller()`.
    case callBlock(CallArguments, parameters: [(String, Expression?)], body: [Statement], line: Int, callee: Expression)
    case filterBlock([(String, CallArguments)], [Statement], line: Int)
    /// `{% with a = x, b = y %}`: the values computed in the outer scope, then a scope of their own.
    case with([(Target, Expression)], [Statement], line: Int)
    /// transformers' `{% generation %}`: the text inside is what the assistant writes.
    case generation([Statement])
    case `break`(line: Int)
    case `continue`(line: Int)
}

extension Macro {
    /// Whether the body reads `name` (jinja2 lets a macro take extra positional arguments
    /// only when its body reads `varargs`, and unknown keywords only when it reads `kwargs`).
    func reads(_ name: String) -> Bool { body.contains { $0.reads(name) } }
}

extension Statement {
    func reads(_ name: String) -> Bool {
        switch self {
        case .text, .break, .continue: return false
        case .output(let e, _), .set(_, let e, _): return e.reads(name)
        case .if(let branches, let otherwise, _):
            return branches.contains { $0.0.reads(name) || $0.1.contains { $0.reads(name) } } || otherwise.contains { $0.reads(name) }
        case .for(_, let iterable, let condition, let body, let otherwise, _, _):
            return iterable.reads(name) || condition?.reads(name) == true || (body + otherwise).contains { $0.reads(name) }
        case .setBlock(_, let body, _, _), .filterBlock(_, let body, _), .generation(let body): return body.contains { $0.reads(name) }
        case .with(let assignments, let body, _): return assignments.contains { $0.1.reads(name) } || body.contains { $0.reads(name) }
        case .macro: return false
        case .callBlock(let arguments, _, let body, _, let callee):
            return arguments.reads(name) || callee.reads(name) || body.contains { $0.reads(name) }
        }
    }
}

extension CallArguments {
    func reads(_ name: String) -> Bool {
        positional.contains { $0.reads(name) } || keywords.contains { $0.1.reads(name) } || star?.reads(name) == true
            || doubleStar?.reads(name) == true
    }
}

extension Expression {
    func reads(_ name: String) -> Bool {
        switch self {
        case .literal: return false
        case .name(let n): return n == name
        case .list(let items), .tuple(let items): return items.contains { $0.reads(name) }
        case .dict(let pairs): return pairs.contains { $0.0.reads(name) || $0.1.reads(name) }
        case .attribute(let e, _), .unary(_, let e), .not(let e): return e.reads(name)
        case .subscript_(let a, let b), .binary(_, let a, let b), .and(let a, let b), .or(let a, let b): return a.reads(name) || b.reads(name)
        case .slice(let e, let start, let stop, let step):
            return e.reads(name) || start?.reads(name) == true || stop?.reads(name) == true || step?.reads(name) == true
        case .call(let e, let arguments), .filter(let e, _, let arguments), .test(let e, _, let arguments, _):
            return e.reads(name) || arguments.reads(name)
        case .compare(let first, let rest): return first.reads(name) || rest.contains { $0.1.reads(name) }
        case .conditional(let then, let condition, let otherwise):
            return then.reads(name) || condition.reads(name) || otherwise?.reads(name) == true
        }
    }
}
