/// Why a template could not be read or rendered. Syntax errors carry the template line;
/// runtime errors get it added by the statement that raised them.
public enum TemplateError: Error, Equatable, CustomStringConvertible {
    /// The template text is not valid Jinja (or uses a statement xtf does not render).
    case syntax(line: Int, String)
    /// `raise_exception(message)`: the template refused the conversation.
    case raised(String)
    /// A name that does not exist was used where a value is needed.
    case undefined(String)
    /// An operation on values of the wrong type (Python's TypeError).
    case type(String)
    /// Anything else that fails while rendering (division by zero, a bad argument).
    case value(String)
    /// One of the above, at a line of the template.
    indirect case at(line: Int, TemplateError)

    public var description: String {
        switch self {
        case .syntax(let line, let message): return "line \(line): \(message)"
        case .raised(let message): return "the template raised an exception: \(message)"
        case .undefined(let message), .type(let message), .value(let message): return message
        case .at(let line, let error): return "line \(line): \(error)"
        }
    }

    /// The error without its line.
    public var underlying: TemplateError {
        if case .at(_, let error) = self { return error.underlying }
        return self
    }
}
