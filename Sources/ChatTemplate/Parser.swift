/// Turns tokens into statements, with jinja2's grammar and operator precedence (lowest first):
/// `a if b else c`, `or`, `and`, `not`, comparisons and `in`, `+ -`, `~`, `* / // %`, `**`
/// (left-associative, as in jinja2), unary `- +`, then postfix `.x [i] (args)`, filters `|f` and
/// tests `is t` applied to the unary operand.
struct Parser {
    private let tokens: [Token]
    private var index = 0
    /// How deeply expressions and statements nest: bounded so that a hostile template is an
    /// error, not a stack overflow (real chat templates nest a few levels).
    private var depth = 0
    static let maximumDepth = 100

    private mutating func enter() throws {
        depth += 1
        if depth > Self.maximumDepth { throw TemplateError.syntax(line: line, "nested more than \(Self.maximumDepth) levels deep") }
    }

    static func parse(_ template: String) throws -> [Statement] {
        var parser = Parser(tokens: try Lexer.tokenize(template))
        let (body, end) = try parser.parseBody(until: [])
        if let end { throw TemplateError.syntax(line: parser.line, "unexpected '{% \(end) %}'") }
        return body
    }

    private init(tokens: [Token]) { self.tokens = tokens }

    private var current: Token { tokens[index] }
    private var line: Int { current.line }
    private func peek(_ offset: Int) -> Token { tokens[min(index + offset, tokens.count - 1)] }
    private mutating func advance() { if index < tokens.count - 1 { index += 1 } }

    private func isOp(_ op: String) -> Bool { current.kind == .op(op) }
    private func isName(_ name: String) -> Bool { current.kind == .name(name) }

    private mutating func skipOp(_ op: String) -> Bool {
        guard isOp(op) else { return false }
        advance()
        return true
    }

    private mutating func skipName(_ name: String) -> Bool {
        guard isName(name) else { return false }
        advance()
        return true
    }

    private mutating func expectOp(_ op: String) throws {
        guard skipOp(op) else { throw TemplateError.syntax(line: line, "expected '\(op)', found \(describe(current))") }
    }

    private mutating func expectName() throws -> String {
        guard case .name(let name) = current.kind else {
            throw TemplateError.syntax(line: line, "expected a name, found \(describe(current))")
        }
        advance()
        return name
    }

    private mutating func expectBlockEnd() throws {
        guard current.kind == .blockEnd else {
            throw TemplateError.syntax(line: line, "expected the end of the statement ('%}'), found \(describe(current))")
        }
        advance()
    }

    private func describe(_ token: Token) -> String {
        switch token.kind {
        case .text: return "text"
        case .variableBegin: return "'{{'"
        case .variableEnd: return "'}}'"
        case .blockBegin: return "'{%'"
        case .blockEnd: return "'%}'"
        case .name(let n): return "'\(n)'"
        case .string(let s): return "string \(Value.pythonRepr(s))"
        case .int(let i): return "\(i)"
        case .float(let d): return "\(d)"
        case .op(let o): return "'\(o)'"
        case .end: return "the end of the template"
        }
    }

    // MARK: Statements

    /// Statements up to a `{% name %}` tag whose name is in `until` (returned, the tag's name
    /// consumed), or to the end of the template (nil).
    private mutating func parseBody(until: Set<String>) throws -> ([Statement], String?) {
        try enter()
        defer { depth -= 1 }
        var body: [Statement] = []
        while true {
            switch current.kind {
            case .end:
                return (body, nil)
            case .text(let text):
                body.append(.text(text))
                advance()
            case .variableBegin:
                let line = self.line
                advance()
                let expression = try parseTuple()
                guard current.kind == .variableEnd else {
                    throw TemplateError.syntax(line: self.line, "expected '}}', found \(describe(current))")
                }
                advance()
                body.append(.output(expression, line: line))
            case .blockBegin:
                advance()
                guard case .name(let keyword) = current.kind else {
                    throw TemplateError.syntax(line: line, "expected a statement name, found \(describe(current))")
                }
                if until.contains(keyword) {
                    advance()
                    return (body, keyword)
                }
                body.append(try parseStatement(keyword))
            default:
                throw TemplateError.syntax(line: line, "unexpected \(describe(current))")
            }
        }
    }

    private mutating func parseBlock(_ statement: String, until: Set<String>) throws -> ([Statement], String) {
        let startLine = line
        let (body, end) = try parseBody(until: until)
        guard let end else {
            let names = until.sorted().map { "'{% \($0) %}'" }.joined(separator: " or ")
            throw TemplateError.syntax(line: startLine, "'{% \(statement) %}' is not closed: expected \(names)")
        }
        return (body, end)
    }

    private mutating func parseStatement(_ keyword: String) throws -> Statement {
        let line = self.line
        advance()
        switch keyword {
        case "if":
            var branches: [(Expression, [Statement])] = []
            var condition = try parseExpression()
            while true {
                try expectBlockEnd()
                let (body, end) = try parseBlock("if", until: ["elif", "else", "endif"])
                branches.append((condition, body))
                if end == "elif" { condition = try parseExpression(); continue }
                if end == "else" {
                    try expectBlockEnd()
                    let (otherwise, _) = try parseBlock("if", until: ["endif"])
                    try expectBlockEnd()
                    return .if(branches, otherwise: otherwise, line: line)
                }
                try expectBlockEnd()
                return .if(branches, otherwise: [], line: line)
            }
        case "for":
            let target = try parseAssignTarget(namespace: false)
            guard skipName("in") else { throw TemplateError.syntax(line: self.line, "expected 'in' in the for statement") }
            let iterable = try parseTuple(conditional: false, endNames: ["recursive", "if"])
            let condition = skipName("if") ? try parseExpression() : nil
            let recursive = skipName("recursive")
            try expectBlockEnd()
            let (body, end) = try parseBlock("for", until: ["endfor", "else"])
            var otherwise: [Statement] = []
            if end == "else" {
                try expectBlockEnd()
                otherwise = try parseBlock("for", until: ["endfor"]).0
            }
            try expectBlockEnd()
            return .for(target, iterable, condition: condition, body: body, otherwise: otherwise, recursive: recursive, line: line)
        case "set":
            let target = try parseAssignTarget(namespace: true)
            if skipOp("=") {
                let value = try parseTuple()
                try expectBlockEnd()
                return .set(target, value, line: line)
            }
            let filters = try parseFilterChain()
            try expectBlockEnd()
            let (body, _) = try parseBlock("set", until: ["endset"])
            try expectBlockEnd()
            return .setBlock(target, body, filters: filters, line: line)
        case "macro":
            let name = try expectName()
            let parameters = try parseParameters()
            try expectBlockEnd()
            let (body, _) = try parseBlock("macro", until: ["endmacro"])
            if case .name = current.kind { advance() }  // `{% endmacro name %}`
            try expectBlockEnd()
            return .macro(Macro(name: name, parameters: parameters, body: body), line: line)
        case "call":
            let parameters = isOp("(") ? try parseParameters() : []
            let callee = try parseExpression()
            guard case .call(let function, let arguments) = callee else {
                throw TemplateError.syntax(line: line, "expected a call after '{% call %}'")
            }
            try expectBlockEnd()
            let (body, _) = try parseBlock("call", until: ["endcall"])
            try expectBlockEnd()
            return .callBlock(arguments, parameters: parameters, body: body, line: line, callee: function)
        case "filter":
            var filters = [(try dottedName(), isOp("(") ? try parseCallArguments() : CallArguments())]
            filters += try parseFilterChain()
            try expectBlockEnd()
            let (body, _) = try parseBlock("filter", until: ["endfilter"])
            try expectBlockEnd()
            return .filterBlock(filters, body, line: line)
        case "with":
            var assignments: [(Target, Expression)] = []
            while current.kind != .blockEnd {
                if !assignments.isEmpty { try expectOp(",") }
                let target = try parseAssignTarget(namespace: false)
                try expectOp("=")
                assignments.append((target, try parseExpression()))
            }
            try expectBlockEnd()
            let (body, _) = try parseBlock("with", until: ["endwith"])
            try expectBlockEnd()
            return .with(assignments, body, line: line)
        case "generation":
            try expectBlockEnd()
            let (body, _) = try parseBlock("generation", until: ["endgeneration"])
            try expectBlockEnd()
            return .generation(body)
        case "break", "continue":
            try expectBlockEnd()
            return keyword == "break" ? .break(line: line) : .continue(line: line)
        case "include", "import", "from", "extends", "block":
            throw TemplateError.syntax(line: line, "'{% \(keyword) %}' needs other template files; a chat template must be one file")
        default:
            throw TemplateError.syntax(line: line, "unknown statement '{% \(keyword) %}'")
        }
    }

    private mutating func parseAssignTarget(namespace: Bool) throws -> Target {
        var targets: [Target] = []
        let parenthesised = skipOp("(")
        repeat {
            if parenthesised, isOp(")") { break }
            let name = try expectName()
            if namespace, skipOp(".") {
                targets.append(.attribute(name, try expectName()))
            } else {
                targets.append(.name(name))
            }
        } while skipOp(",")
        if parenthesised { try expectOp(")") }
        return targets.count == 1 && !parenthesised ? targets[0] : .tuple(targets)
    }

    /// `(a, b=default, ...)` of a macro or a call block.
    private mutating func parseParameters() throws -> [(String, Expression?)] {
        try expectOp("(")
        var parameters: [(String, Expression?)] = []
        while !isOp(")") {
            if !parameters.isEmpty { try expectOp(",") }
            if isOp(")") { break }
            let name = try expectName()
            parameters.append((name, skipOp("=") ? try parseExpression() : nil))
        }
        try expectOp(")")
        return parameters
    }

    private mutating func dottedName() throws -> String {
        var name = try expectName()
        while skipOp(".") { name += "." + (try expectName()) }
        return name
    }

    private mutating func parseFilterChain() throws -> [(String, CallArguments)] {
        var filters: [(String, CallArguments)] = []
        while skipOp("|") {
            filters.append((try dottedName(), isOp("(") ? try parseCallArguments() : CallArguments()))
        }
        return filters
    }

    // MARK: Expressions

    /// Expressions separated by commas: one expression, or a tuple of them.
    private mutating func parseTuple(conditional: Bool = true, endNames: Set<String> = []) throws -> Expression {
        var items: [Expression] = []
        var sawComma = false
        while true {
            if !items.isEmpty {
                guard skipOp(",") else { break }
                sawComma = true
            }
            if current.kind == .variableEnd || current.kind == .blockEnd || isOp(")") { break }
            if case .name(let n) = current.kind, endNames.contains(n) { break }
            items.append(conditional ? try parseExpression() : try parseOr())
        }
        if items.count == 1 && !sawComma { return items[0] }
        if items.isEmpty { throw TemplateError.syntax(line: line, "expected an expression, found \(describe(current))") }
        return .tuple(items)
    }

    mutating func parseExpression() throws -> Expression {
        try enter()
        defer { depth -= 1 }
        var expression = try parseOr()
        while skipName("if") {
            let condition = try parseOr()
            let otherwise = skipName("else") ? try parseExpression() : nil
            expression = .conditional(then: expression, condition: condition, otherwise: otherwise)
        }
        return expression
    }

    private mutating func parseOr() throws -> Expression {
        var left = try parseAnd()
        while skipName("or") { left = .or(left, try parseAnd()) }
        return left
    }

    private mutating func parseAnd() throws -> Expression {
        var left = try parseNot()
        while skipName("and") { left = .and(left, try parseNot()) }
        return left
    }

    private mutating func parseNot() throws -> Expression {
        if skipName("not") {
            try enter()
            defer { depth -= 1 }
            return .not(try parseNot())
        }
        return try parseCompare()
    }

    private mutating func parseCompare() throws -> Expression {
        let left = try parseMath1()
        var operations: [(String, Expression)] = []
        while true {
            if case .op(let op) = current.kind, ["==", "!=", "<", "<=", ">", ">="].contains(op) {
                advance()
                operations.append((op, try parseMath1()))
            } else if skipName("in") {
                operations.append(("in", try parseMath1()))
            } else if isName("not"), peek(1).kind == .name("in") {
                advance(); advance()
                operations.append(("not in", try parseMath1()))
            } else {
                break
            }
        }
        return operations.isEmpty ? left : .compare(left, operations)
    }

    private mutating func parseMath1() throws -> Expression {
        var left = try parseConcat()
        while case .op(let op) = current.kind, op == "+" || op == "-" {
            advance()
            left = .binary(op, left, try parseConcat())
        }
        return left
    }

    private mutating func parseConcat() throws -> Expression {
        var left = try parseMath2()
        while skipOp("~") { left = .binary("~", left, try parseMath2()) }
        return left
    }

    private mutating func parseMath2() throws -> Expression {
        var left = try parsePow()
        while case .op(let op) = current.kind, ["*", "/", "//", "%"].contains(op) {
            advance()
            left = .binary(op, left, try parsePow())
        }
        return left
    }

    private mutating func parsePow() throws -> Expression {
        var left = try parseUnary()
        while skipOp("**") { left = .binary("**", left, try parseUnary()) }
        return left
    }

    private mutating func parseUnary(withFilters: Bool = true) throws -> Expression {
        try enter()
        defer { depth -= 1 }
        var expression: Expression
        if skipOp("-") {
            expression = .unary("-", try parseUnary(withFilters: false))
        } else if skipOp("+") {
            expression = .unary("+", try parseUnary(withFilters: false))
        } else {
            expression = try parsePrimary()
        }
        expression = try parsePostfix(expression)
        return withFilters ? try parseFilters(expression) : expression
    }

    private mutating func parsePrimary() throws -> Expression {
        let token = current
        switch token.kind {
        case .name(let name):
            advance()
            switch name {
            case "true", "True": return .literal(.bool(true))
            case "false", "False": return .literal(.bool(false))
            case "none", "None": return .literal(.none)
            default: return .name(name)
            }
        case .string(var text):
            advance()
            while case .string(let more) = current.kind { text += more; advance() }
            return .literal(.string(text))
        case .int(let i):
            advance()
            return .literal(.int(i))
        case .float(let d):
            advance()
            return .literal(.double(d))
        case .op("("):
            advance()
            if skipOp(")") { return .tuple([]) }
            let inner = try parseTuple()
            try expectOp(")")
            return inner
        case .op("["):
            advance()
            var items: [Expression] = []
            while !isOp("]") {
                if !items.isEmpty { try expectOp(","); if isOp("]") { break } }
                items.append(try parseExpression())
            }
            try expectOp("]")
            return .list(items)
        case .op("{"):
            advance()
            var pairs: [(Expression, Expression)] = []
            while !isOp("}") {
                if !pairs.isEmpty { try expectOp(","); if isOp("}") { break } }
                let key = try parseExpression()
                try expectOp(":")
                pairs.append((key, try parseExpression()))
            }
            try expectOp("}")
            return .dict(pairs)
        default:
            throw TemplateError.syntax(line: token.line, "unexpected \(describe(token))")
        }
    }

    private mutating func parsePostfix(_ base: Expression) throws -> Expression {
        var expression = base
        while true {
            if skipOp(".") {
                switch current.kind {
                case .name(let name): advance(); expression = .attribute(expression, name)
                case .int(let i): advance(); expression = .subscript_(expression, .literal(.int(i)))
                default: throw TemplateError.syntax(line: line, "expected an attribute name after '.', found \(describe(current))")
                }
            } else if skipOp("[") {
                expression = try parseSubscript(expression)
            } else if isOp("(") {
                expression = .call(expression, try parseCallArguments())
            } else {
                return expression
            }
        }
    }

    private mutating func parseSubscript(_ base: Expression) throws -> Expression {
        func part() throws -> Expression? { isOp(":") || isOp("]") ? nil : try parseExpression() }
        let start = try part()
        if skipOp(":") {
            let stop = try part()
            var step: Expression?
            if skipOp(":") { step = try part() }
            try expectOp("]")
            return .slice(base, start: start, stop: stop, step: step)
        }
        guard let start else { throw TemplateError.syntax(line: line, "expected an index inside '[]'") }
        var items = [start]
        while skipOp(",") { if isOp("]") { break }; items.append(try parseExpression()) }
        try expectOp("]")
        return .subscript_(base, items.count == 1 ? start : .tuple(items))
    }

    private mutating func parseCallArguments() throws -> CallArguments {
        try expectOp("(")
        var arguments = CallArguments()
        var first = true
        while !isOp(")") {
            if !first { try expectOp(","); if isOp(")") { break } }
            first = false
            if skipOp("**") {
                arguments.doubleStar = try parseExpression()
            } else if skipOp("*") {
                arguments.star = try parseExpression()
            } else if case .name(let name) = current.kind, peek(1).kind == .op("=") {
                advance(); advance()
                arguments.keywords.append((name, try parseExpression()))
            } else {
                if !arguments.keywords.isEmpty {
                    throw TemplateError.syntax(line: line, "a positional argument follows a keyword argument")
                }
                arguments.positional.append(try parseExpression())
            }
        }
        try expectOp(")")
        return arguments
    }

    private mutating func parseFilters(_ base: Expression) throws -> Expression {
        var expression = base
        while true {
            if skipOp("|") {
                let name = try dottedName()
                expression = .filter(expression, name: name, isOp("(") ? try parseCallArguments() : CallArguments())
            } else if skipName("is") {
                let negated = skipName("not")
                let name = try dottedName()
                var arguments = CallArguments()
                if isOp("(") {
                    arguments = try parseCallArguments()
                } else if startsTestArgument {
                    arguments.positional = [try parsePostfix(try parsePrimary())]
                }
                if isName("is") { throw TemplateError.syntax(line: line, "tests cannot be chained with 'is'") }
                expression = .test(expression, name: name, arguments, negated: negated)
            } else if isOp("(") {
                expression = .call(expression, try parseCallArguments())
            } else {
                return expression
            }
        }
    }

    /// jinja2 takes one argument without parentheses after a test name (`is divisibleby 3`)
    /// when a literal or a name other than `else`/`or`/`and` follows.
    private var startsTestArgument: Bool {
        switch current.kind {
        case .name(let n): return !["else", "or", "and", "is", "if", "in", "not"].contains(n)
        case .string, .int, .float: return true
        case .op(let o): return o == "[" || o == "{"
        default: return false
        }
    }
}
