/// One token of a template: literal text, or a token inside `{{ }}` / `{% %}`.
struct Token: Equatable {
    enum Kind: Equatable {
        case text(String)
        case variableBegin, variableEnd, blockBegin, blockEnd
        case name(String)
        case string(String)
        case int(Int)
        case float(Double)
        /// An operator or punctuation: `+ - * / // % ** ~ == != < <= > >= = . : | , ( ) [ ] { }`.
        case op(String)
        case end
    }
    let kind: Kind
    let line: Int
}

/// Splits a template into tokens the way jinja2's lexer does under transformers' settings:
/// `trim_blocks` (the newline after a block or comment tag is dropped), `lstrip_blocks`
/// (spaces and tabs before a block or comment tag on its own line are dropped), `-` on a tag
/// strips all whitespace on that side, `+` keeps it, newlines are normalised to "\n", and one
/// trailing newline of the template is dropped (`keep_trailing_newline=False`).
struct Lexer {
    private let source: [Unicode.Scalar]
    private var position = 0
    private var line = 1
    private var tokens: [Token] = []
    /// Whether the text about to be read starts a line (for lstrip_blocks).
    private var lineStarting = true

    init(_ template: String) {
        var text = template.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
        if text.hasSuffix("\n") { text.removeLast() }
        source = Array(text.unicodeScalars)
    }

    static func tokenize(_ template: String) throws -> [Token] {
        var lexer = Lexer(template)
        try lexer.run()
        return lexer.tokens
    }

    private func peek(_ offset: Int = 0) -> Unicode.Scalar? {
        position + offset < source.count ? source[position + offset] : nil
    }

    private func starts(with s: String, at index: Int) -> Bool {
        var i = index
        for c in s.unicodeScalars {
            guard i < source.count, source[i] == c else { return false }
            i += 1
        }
        return true
    }

    private mutating func run() throws {
        var text: [Unicode.Scalar] = []
        var textLine = line
        func flush(_ tokens: inout [Token]) {
            if !text.isEmpty { tokens.append(Token(kind: .text(String(String.UnicodeScalarView(text))), line: textLine)) }
            text = []
        }
        while position < source.count {
            let c = source[position]
            if c == "{", let next = peek(1), next == "{" || next == "%" || next == "#" {
                let sign = peek(2).flatMap { $0 == "-" || $0 == "+" ? Character($0) : nil }
                // Whitespace control on the text before the tag.
                if sign == "-" {
                    while let last = text.last, last.properties.isWhitespace { text.removeLast() }
                } else if sign != "+", next != "{" {
                    stripIndentation(&text)
                }
                flush(&tokens)
                position += sign == nil ? 2 : 3
                switch next {
                case "#": try skipComment()
                case "{": try readTag(begin: .variableBegin, close: "}}")
                default:
                    if try readRawBlock() { textLine = line; continue }
                    try readTag(begin: .blockBegin, close: "%}")
                }
                textLine = line
                continue
            }
            if text.isEmpty { textLine = line }
            if c == "\n" { line += 1 }
            text.append(c)
            position += 1
        }
        flush(&tokens)
        tokens.append(Token(kind: .end, line: line))
    }

    /// lstrip_blocks: drops the spaces and tabs between the line's start and a block tag.
    private func stripIndentation(_ text: inout [Unicode.Scalar]) {
        let lineStart = text.lastIndex(of: "\n").map { $0 + 1 }
        guard lineStart != nil || lineStarting else { return }
        let from = lineStart ?? 0
        guard from < text.count, text[from...].allSatisfy({ $0.properties.isWhitespace }) else { return }
        text.removeSubrange(from...)
    }

    /// After a tag's closing delimiter: `-` strips all following whitespace; a block or comment
    /// tag without `+` drops one following newline (trim_blocks).
    private mutating func afterTag(sign: Character?, trims: Bool) {
        lineStarting = false
        if sign == "-" {
            while let c = peek(), c.properties.isWhitespace {
                if c == "\n" { line += 1 }
                lineStarting = c == "\n"
                position += 1
            }
        } else if sign != "+", trims, peek() == "\n" {
            position += 1
            line += 1
            lineStarting = true
        }
    }

    private mutating func skipComment() throws {
        let startLine = line
        while position < source.count {
            if let sign = closing("#}") {
                afterTag(sign: sign, trims: true)
                return
            }
            if source[position] == "\n" { line += 1 }
            position += 1
        }
        throw TemplateError.syntax(line: startLine, "comment not closed (missing '#}')")
    }

    /// If a closing delimiter (optionally `-` or `+` first) starts here, consumes it and returns
    /// its sign (" " for none).
    private mutating func closing(_ delimiter: String) -> Character? {
        for sign in ["-", "+", ""] where starts(with: sign + delimiter, at: position) {
            position += sign.count + delimiter.count
            return sign.isEmpty ? " " : Character(sign)
        }
        return nil
    }

    /// `{% raw %} ... {% endraw %}`: the text between is kept verbatim, as a text token of its
    /// own (the newline after `{% raw %}` too: jinja2 does not trim it).
    private mutating func readRawBlock() throws -> Bool {
        var i = position
        while i < source.count, source[i] == " " || source[i] == "\t" || source[i] == "\n" { i += 1 }
        guard starts(with: "raw", at: i) else { return false }
        var j = i + 3
        while j < source.count, source[j] == " " || source[j] == "\t" || source[j] == "\n" { j += 1 }
        let closeSign: Character? = j < source.count && (source[j] == "-" || source[j] == "+") ? Character(source[j]) : nil
        guard starts(with: "%}", at: j + (closeSign == nil ? 0 : 1)) else { return false }
        let startLine = line
        position = j + (closeSign == nil ? 2 : 3)
        afterTag(sign: closeSign, trims: false)
        var body: [Unicode.Scalar] = []
        while position < source.count {
            if source[position] == "{", peek(1) == "%" {
                var k = position + 2
                let openSign: Character? = k < source.count && (source[k] == "-" || source[k] == "+") ? Character(source[k]) : nil
                if openSign != nil { k += 1 }
                while k < source.count, source[k] == " " || source[k] == "\t" || source[k] == "\n" { k += 1 }
                if starts(with: "endraw", at: k) {
                    k += 6
                    while k < source.count, source[k] == " " || source[k] == "\t" || source[k] == "\n" { k += 1 }
                    let endSign: Character? = k < source.count && (source[k] == "-" || source[k] == "+") ? Character(source[k]) : nil
                    if starts(with: "%}", at: k + (endSign == nil ? 0 : 1)) {
                        if openSign == "-" { while let last = body.last, last.properties.isWhitespace { body.removeLast() } }
                        else if openSign != "+" { stripIndentation(&body) }
                        if !body.isEmpty { tokens.append(Token(kind: .text(String(String.UnicodeScalarView(body))), line: startLine)) }
                        position = k + (endSign == nil ? 2 : 3)
                        afterTag(sign: endSign, trims: true)
                        return true
                    }
                }
            }
            if source[position] == "\n" { line += 1 }
            body.append(source[position])
            position += 1
        }
        throw TemplateError.syntax(line: startLine, "raw block not closed (missing '{% endraw %}')")
    }

    private static let operators = ["**", "//", "==", "!=", "<=", ">=", "+", "-", "*", "/", "%", "~", "<", ">", "=", ".",
                                    ":", "|", ",", "(", ")", "[", "]", "{", "}"]

    /// The tokens inside `{{ }}` or `{% %}`, up to the closing delimiter.
    private mutating func readTag(begin: Token.Kind, close: String) throws {
        let startLine = line
        tokens.append(Token(kind: begin, line: line))
        var depth = 0
        while true {
            guard let c = peek() else {
                throw TemplateError.syntax(line: startLine, "tag not closed (missing '\(close)')")
            }
            if c == "\n" { line += 1; position += 1; continue }
            if c.properties.isWhitespace { position += 1; continue }
            if depth == 0, begin == .variableBegin, starts(with: "+}}", at: position) {
                throw TemplateError.syntax(line: line, "'+' is not whitespace control for '}}'")
            }
            if depth == 0, let sign = closing(close) {
                tokens.append(Token(kind: begin == .variableBegin ? .variableEnd : .blockEnd, line: line))
                afterTag(sign: sign, trims: begin == .blockBegin)
                return
            }
            if c == "'" || c == "\"" { tokens.append(Token(kind: .string(try readString(quote: c)), line: line)); continue }
            if c.properties.numericType != nil, ("0"..."9").contains(c) { tokens.append(try readNumber()); continue }
            if c == "_" || c.properties.isAlphabetic {
                var name = ""
                while let d = peek(), d == "_" || d.properties.isAlphabetic || ("0"..."9").contains(d) {
                    name.unicodeScalars.append(d)
                    position += 1
                }
                tokens.append(Token(kind: .name(name), line: line))
                continue
            }
            guard let op = Self.operators.first(where: { starts(with: $0, at: position) }) else {
                throw TemplateError.syntax(line: line, "unexpected character '\(c)'")
            }
            if op == "(" || op == "[" || op == "{" { depth += 1 }
            if op == ")" || op == "]" || op == "}" { depth = max(0, depth - 1) }
            position += op.unicodeScalars.count
            tokens.append(Token(kind: .op(op), line: line))
        }
    }

    private mutating func readNumber() throws -> Token {
        var digits = ""
        var isFloat = false
        func take(_ allowed: (Unicode.Scalar) -> Bool) {
            while let c = peek(), allowed(c) || (c == "_" && peek(1).map { ("0"..."9").contains($0) } == true) {
                if c != "_" { digits.unicodeScalars.append(c) }
                position += 1
            }
        }
        let isDigit: (Unicode.Scalar) -> Bool = { ("0"..."9").contains($0) }
        take(isDigit)
        if peek() == ".", let d = peek(1), isDigit(d) {
            isFloat = true
            digits += "."
            position += 1
            take(isDigit)
        }
        if let e = peek(), e == "e" || e == "E" {
            var k = 1
            if let s = peek(1), s == "+" || s == "-" { k = 2 }
            if let d = peek(k), isDigit(d) {
                isFloat = true
                for _ in 0..<k { digits.unicodeScalars.append(peek()!); position += 1 }
                take(isDigit)
            }
        }
        if isFloat, let value = Double(digits) { return Token(kind: .float(value), line: line) }
        guard let value = Int(digits) else { throw TemplateError.syntax(line: line, "number \(digits) is out of range") }
        return Token(kind: .int(value), line: line)
    }

    /// A quoted string with Python's escapes (jinja2 decodes them as `unicode-escape`).
    private mutating func readString(quote: Unicode.Scalar) throws -> String {
        let startLine = line
        position += 1
        var out = String.UnicodeScalarView()
        while let c = peek() {
            position += 1
            if c == quote { return String(out) }
            if c == "\n" { line += 1 }
            guard c == "\\", let e = peek() else { out.append(c); continue }
            position += 1
            func hex(_ n: Int) throws -> Unicode.Scalar {
                var v: UInt32 = 0
                for _ in 0..<n {
                    guard let h = peek(), let digit = Int(String(h), radix: 16) else {
                        throw TemplateError.syntax(line: line, "truncated \\\(e) escape in a string")
                    }
                    v = v * 16 + UInt32(digit)
                    position += 1
                }
                guard let scalar = Unicode.Scalar(v) else { throw TemplateError.syntax(line: line, "invalid \\\(e) escape in a string") }
                return scalar
            }
            switch e {
            case "n": out.append("\n")
            case "t": out.append("\t")
            case "r": out.append("\r")
            case "\\": out.append("\\")
            case "'": out.append("'")
            case "\"": out.append("\"")
            case "a": out.append("\u{07}")
            case "b": out.append("\u{08}")
            case "f": out.append("\u{0C}")
            case "v": out.append("\u{0B}")
            case "\n": line += 1
            case "x": out.append(try hex(2))
            case "u": out.append(try hex(4))
            case "U": out.append(try hex(8))
            case "0"..."7":
                var v = e.value - 48
                for _ in 0..<2 {
                    guard let d = peek(), ("0"..."7").contains(d) else { break }
                    v = v * 8 + d.value - 48
                    position += 1
                }
                out.append(Unicode.Scalar(v)!)
            default:
                out.append("\\")
                out.append(e)
            }
        }
        throw TemplateError.syntax(line: startLine, "string not closed")
    }
}
