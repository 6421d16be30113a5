/// Errors reading datasets. Each names the file and, where there is one, the line and field.
public enum DataError: Error, CustomStringConvertible, Equatable {
    case cannotOpen(file: String, reason: String)
    case emptyFile(file: String)
    case malformed(file: String, line: Int, reason: String)
    case unsupported(String)

    public var description: String {
        switch self {
        case let .cannotOpen(file, reason): return "\(file): cannot read: \(reason)"
        case let .emptyFile(file): return "\(file): the file holds no records"
        case let .malformed(file, line, reason): return "\(file):\(line): \(reason)"
        case let .unsupported(text): return text
        }
    }
}

/// Why a record was not used: kept in the run's manifest so that every input record is
/// either used or listed with its reason.
public struct RejectedRecord: Codable, Equatable, Sendable {
    public let id: String
    /// The line the record starts on in its file.
    public let line: Int
    public let reason: String

    public init(id: String, line: Int, reason: String) {
        self.id = id
        self.line = line
        self.reason = reason
    }
}

/// What to do with a record that cannot be used: stop with an error naming file and line,
/// or skip it and list it with its reason.
public enum BadRecordPolicy: String, Codable, Sendable, CaseIterable {
    case fail, skip
}
