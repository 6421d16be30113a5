/// Errors reading or importing a GGUF file; each names the file and the field, key or tensor.
public enum GGUFError: Error, CustomStringConvertible, Equatable, Sendable {
    case io(path: String, detail: String)
    case badMagic(path: String, found: [UInt8])
    case unsupportedVersion(path: String, version: UInt32)
    /// The file ends before `field` does.
    case truncated(path: String, field: String, detail: String)
    /// A field whose value is impossible: a size that overflows, an offset past the end, a bad type.
    case invalidField(path: String, field: String, detail: String)
    case missingField(path: String, field: String)
    case missingTensor(path: String, tensor: String)
    case unsupportedTensorType(path: String, tensor: String, type: String)
    case unsupportedArchitecture(path: String, architecture: String, supported: [String])
    /// Something this importer does not translate (a tokenizer kind, a tensor, a rope scaling).
    case unsupported(path: String, field: String, detail: String)

    public var description: String {
        switch self {
        case let .io(path, detail): return "\(path): \(detail)"
        case let .badMagic(path, found):
            return "\(path): not a GGUF file (magic \(found.map { String(format: "%02x", $0) }.joined()), expected 47475546 \"GGUF\")"
        case let .unsupportedVersion(path, version):
            let hint = version > 0xFFFF ? " (a big-endian file?)" : version == 1 ? " (GGUF v1 is obsolete; convert it again)" : ""
            return "\(path): unsupported GGUF version \(version)\(hint); supported: 2, 3"
        case let .truncated(path, field, detail): return "\(path): truncated GGUF file: \(field): \(detail)"
        case let .invalidField(path, field, detail): return "\(path): \(field): \(detail)"
        case let .missingField(path, field): return "\(path): missing metadata key \(field)"
        case let .missingTensor(path, tensor): return "\(path): no tensor \(tensor)"
        case let .unsupportedTensorType(path, tensor, type):
            return "\(path): tensor \(tensor): unsupported quantization type \(type) (supported: \(GGMLType.dequantizable.map(\.name).joined(separator: ", ")))"
        case let .unsupportedArchitecture(path, architecture, supported):
            return "\(path): general.architecture: unsupported architecture \"\(architecture)\" (supported: \(supported.joined(separator: ", ")))"
        case let .unsupported(path, field, detail): return "\(path): \(field): unsupported \(detail)"
        }
    }
}
