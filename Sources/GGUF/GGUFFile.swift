import Foundation
#if canImport(Glibc)
import Glibc
#endif

// GGUF (llama.cpp's model file), versions 2 and 3, little-endian:
//   "GGUF", version u32, tensor count u64, metadata count u64,
//   metadata: key (string), value type u32, value,
//   tensor infos: name (string), n_dims u32, dims u64 x n_dims (fastest first), type u32, offset u64,
//   padding to `general.alignment` (default 32), tensor data (offsets relative to its start).
// A string is a u64 byte count and UTF-8 bytes; an array is an element type u32, a u64 count
// and the elements.

/// One tensor's entry: its ggml dims (fastest-varying first), type and where its bytes are.
public struct GGUFTensorInfo: Sendable, Equatable {
    public let name: String
    /// ggml order: dims[0] is the row length.
    public let dims: [Int]
    public let type: GGMLType
    /// Byte offset in the file (the data section's start plus the stored offset).
    public let fileOffset: Int
    public let byteCount: Int

    /// Row-major shape, as PyTorch and safetensors write it (the dims reversed).
    public var shape: [Int] { dims.reversed() }
    public var elementCount: Int { dims.reduce(1, *) }
}

/// A GGUF file, memory-mapped read-only. Opening it reads and checks everything but the
/// tensor data: every length and count is checked against the bytes left before anything is
/// allocated for it, every tensor's byte range against the file's size.
public final class GGUFFile: @unchecked Sendable {
    public let path: String
    public let version: UInt32
    /// Metadata in file order.
    public let metadata: [(key: String, value: GGUFValue)]
    public let tensors: [GGUFTensorInfo]
    public let alignment: Int
    /// Where the tensor data starts.
    public let dataOffset: Int
    private let values: [String: GGUFValue]
    private let byName: [String: Int]
    private let base: UnsafeRawPointer
    private let mappedLength: Int

    /// Nesting of arrays in arrays past this is refused (each level costs only 12 bytes, so a
    /// small file could otherwise recurse deep enough to overflow the stack).
    static let maxArrayDepth = 8

    public init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw GGUFError.io(path: path, detail: "cannot open: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw GGUFError.io(path: path, detail: "cannot stat: \(String(cString: strerror(errno)))") }
        let size = Int(st.st_size)
        guard size >= 24 else { throw GGUFError.truncated(path: path, field: "header", detail: "\(size) bytes, the header alone needs 24") }
        guard let map = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), map != MAP_FAILED else {
            throw GGUFError.io(path: path, detail: "mmap failed: \(String(cString: strerror(errno)))")
        }
        base = UnsafeRawPointer(map)
        mappedLength = size
        do {
            var cursor = ByteCursor(bytes: UnsafeRawBufferPointer(start: base, count: size), path: path)
            let magic = try cursor.bytes(4, field: "magic")
            guard Array(magic) == Array("GGUF".utf8) else { throw GGUFError.badMagic(path: path, found: Array(magic)) }
            version = try cursor.read(UInt32.self, field: "version")
            guard version == 2 || version == 3 else { throw GGUFError.unsupportedVersion(path: path, version: version) }
            let tensorCount = try cursor.count(field: "tensor_count", minimumBytesEach: 24)
            let kvCount = try cursor.count(field: "metadata_kv_count", minimumBytesEach: 13)

            var metadata: [(key: String, value: GGUFValue)] = []
            var values: [String: GGUFValue] = [:]
            metadata.reserveCapacity(kvCount)
            for i in 0..<kvCount {
                let key = try cursor.string(field: "metadata[\(i)].key")
                let type = try cursor.read(UInt32.self, field: key + " (value type)")
                let value = try cursor.value(type: type, field: key, depth: 0)
                guard values.updateValue(value, forKey: key) == nil else {
                    throw GGUFError.invalidField(path: path, field: key, detail: "metadata key appears twice")
                }
                metadata.append((key, value))
            }
            self.metadata = metadata
            self.values = values

            var alignment = 32
            if let a = values["general.alignment"] {
                guard case let .uint32(n) = a, n > 0, n & (n - 1) == 0 else {
                    throw GGUFError.invalidField(path: path, field: "general.alignment", detail: "expected a uint32 power of two, found \(a)")
                }
                alignment = Int(n)
            }
            self.alignment = alignment

            var infos: [(name: String, dims: [Int], type: GGMLType, offset: Int, bytes: Int)] = []
            infos.reserveCapacity(tensorCount)
            var byName: [String: Int] = [:]
            for i in 0..<tensorCount {
                let name = try cursor.string(field: "tensor_infos[\(i)].name")
                let nDims = try cursor.read(UInt32.self, field: "tensor \(name): n_dims")
                guard (1...4).contains(nDims) else {
                    throw GGUFError.invalidField(path: path, field: "tensor \(name): n_dims", detail: "\(nDims), ggml tensors have 1 to 4")
                }
                var dims: [Int] = []
                for d in 0..<Int(nDims) {
                    let n = try cursor.read(UInt64.self, field: "tensor \(name): dims[\(d)]")
                    guard let dim = Int(exactly: n), dim > 0 else {
                        throw GGUFError.invalidField(path: path, field: "tensor \(name): dims[\(d)]", detail: "\(n) is not a size")
                    }
                    dims.append(dim)
                }
                let rawType = try cursor.read(UInt32.self, field: "tensor \(name): type")
                guard let type = GGMLType(rawValue: rawType) else {
                    throw GGUFError.unsupportedTensorType(path: path, tensor: name, type: "unknown type id \(rawType)")
                }
                let offset = try cursor.read(UInt64.self, field: "tensor \(name): offset")
                guard let start = Int(exactly: offset), start % alignment == 0 else {
                    throw GGUFError.invalidField(path: path, field: "tensor \(name): offset", detail: "\(offset) is not a multiple of the alignment \(alignment)")
                }
                let bytes = try Self.byteCount(dims: dims, type: type, tensor: name, path: path)
                guard byName.updateValue(i, forKey: name) == nil else {
                    throw GGUFError.invalidField(path: path, field: "tensor \(name)", detail: "tensor name appears twice")
                }
                infos.append((name, dims, type, start, bytes))
            }
            self.byName = byName

            // The data starts at the next multiple of the alignment after the tensor infos.
            let dataOffset = (cursor.position + alignment - 1) / alignment * alignment
            guard dataOffset <= size else {
                throw GGUFError.truncated(path: path, field: "tensor data", detail: "starts at byte \(dataOffset), the file has \(size)")
            }
            self.dataOffset = dataOffset
            tensors = try infos.map { t in
                let available = size - dataOffset
                guard t.offset <= available, t.bytes <= available - t.offset else {
                    throw GGUFError.truncated(path: path, field: "tensor \(t.name)",
                                              detail: "\(t.bytes) bytes at data offset \(t.offset) end past the \(available) bytes of tensor data")
                }
                return GGUFTensorInfo(name: t.name, dims: t.dims, type: t.type, fileOffset: dataOffset + t.offset, byteCount: t.bytes)
            }
        } catch {
            munmap(map, size)
            throw error
        }
    }

    deinit { munmap(UnsafeMutableRawPointer(mutating: base), mappedLength) }

    /// Bytes of a tensor of `dims` and `type`, with errors instead of traps when the dims do not
    /// fill whole blocks or the product overflows.
    static func byteCount(dims: [Int], type: GGMLType, tensor: String, path: String) throws -> Int {
        let (elements, bytes) = type.block
        guard dims[0] % elements == 0 else {
            throw GGUFError.invalidField(path: path, field: "tensor \(tensor): dims",
                                         detail: "row length \(dims[0]) is not a multiple of \(type.name)'s block of \(elements)")
        }
        var total = bytes
        for d in [dims[0] / elements] + dims.dropFirst() {
            let (product, overflow) = total.multipliedReportingOverflow(by: d)
            guard !overflow else {
                throw GGUFError.invalidField(path: path, field: "tensor \(tensor): dims", detail: "\(dims) of \(type.name) overflow a byte count")
            }
            total = product
        }
        return total
    }

    // MARK: Access

    public subscript(key: String) -> GGUFValue? { values[key] }

    public func tensor(_ name: String) -> GGUFTensorInfo? { byName[name].map { tensors[$0] } }

    /// The raw bytes of a tensor (valid while this file object lives).
    public func bytes(of tensor: GGUFTensorInfo) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: base + tensor.fileOffset, count: tensor.byteCount)
    }

    /// A tensor dequantized to Float, in row-major order (`shape`).
    public func floats(_ tensor: GGUFTensorInfo) throws -> [Float] {
        guard GGMLType.dequantizable.contains(tensor.type) else {
            throw GGUFError.unsupportedTensorType(path: path, tensor: tensor.name, type: tensor.type.name)
        }
        return [Float](unsafeUninitializedCapacity: tensor.elementCount) { buffer, count in
            Dequantize.floats(tensor.type, from: bytes(of: tensor), into: buffer)
            count = tensor.elementCount
        }
    }

    // MARK: Typed metadata, errors naming the key

    public func string(_ key: String) throws -> String {
        guard let v = values[key] else { throw GGUFError.missingField(path: path, field: key) }
        guard let s = v.string else { throw typeError(key, v, "a string") }
        return s
    }

    public func optionalString(_ key: String) throws -> String? {
        guard values[key] != nil else { return nil }
        return try string(key)
    }

    public func optionalInt(_ key: String) throws -> Int? {
        guard let v = values[key] else { return nil }
        guard let n = v.int, n >= 0 else { throw typeError(key, v, "a non-negative integer") }
        return n
    }

    public func int(_ key: String) throws -> Int {
        guard let n = try optionalInt(key) else { throw GGUFError.missingField(path: path, field: key) }
        return n
    }

    public func optionalDouble(_ key: String) throws -> Double? {
        guard let v = values[key] else { return nil }
        guard let d = v.double else { throw typeError(key, v, "a number") }
        return d
    }

    public func optionalBool(_ key: String) throws -> Bool? {
        guard let v = values[key] else { return nil }
        guard let b = v.bool else { throw typeError(key, v, "a bool") }
        return b
    }

    /// An array of strings (`tokenizer.ggml.tokens`, `merges`); nil when absent.
    public func optionalStrings(_ key: String) throws -> [String]? { try optionalArray(key, "strings", "a string") { $0.string } }

    /// An array of integers (`tokenizer.ggml.token_type`); nil when absent.
    public func optionalInts(_ key: String) throws -> [Int]? { try optionalArray(key, "integers", "an integer") { $0.int } }

    /// An array of bools (a per-layer switch); nil when absent.
    public func optionalBools(_ key: String) throws -> [Bool]? { try optionalArray(key, "bools", "a bool") { $0.bool } }

    /// An array of numbers (`tokenizer.ggml.scores`); nil when absent.
    public func optionalDoubles(_ key: String) throws -> [Double]? { try optionalArray(key, "numbers", "a number") { $0.double } }

    /// The value of `key`, nil when absent (for keys that may hold one of several types).
    public func value(_ key: String) -> GGUFValue? { values[key] }

    /// An array whose every element `element` reads; errors name the key and the element.
    private func optionalArray<T>(_ key: String, _ plural: String, _ expected: String, _ element: (GGUFValue) -> T?) throws -> [T]? {
        guard let v = values[key] else { return nil }
        guard let a = v.array else { throw typeError(key, v, "an array of \(plural)") }
        return try a.enumerated().map { i, e in
            guard let x = element(e) else { throw typeError("\(key)[\(i)]", e, expected) }
            return x
        }
    }

    private func typeError(_ key: String, _ v: GGUFValue, _ expected: String) -> GGUFError {
        .invalidField(path: path, field: key, detail: "expected \(expected), found \(v.typeName)")
    }
}

/// Reads little-endian values from the mapped file; every read checks the bytes left first.
struct ByteCursor {
    let bytes: UnsafeRawBufferPointer
    let path: String
    private(set) var position = 0

    init(bytes: UnsafeRawBufferPointer, path: String) {
        self.bytes = bytes
        self.path = path
    }

    var remaining: Int { bytes.count - position }

    mutating func bytes(_ n: Int, field: String) throws -> UnsafeRawBufferPointer {
        guard n <= remaining else {
            throw GGUFError.truncated(path: path, field: field, detail: "needs \(n) bytes at offset \(position), the file has \(remaining) left")
        }
        defer { position += n }
        return UnsafeRawBufferPointer(rebasing: bytes[position..<(position + n)])
    }

    mutating func read<T: FixedWidthInteger>(_: T.Type, field: String) throws -> T {
        T(littleEndian: try bytes(MemoryLayout<T>.size, field: field).loadUnaligned(as: T.self))
    }

    /// A u64 count of items that each take at least `minimumBytesEach`: a count the rest of
    /// the file cannot hold is an error before anything is reserved for it.
    mutating func count(field: String, minimumBytesEach: Int) throws -> Int {
        let n = try read(UInt64.self, field: field)
        guard n <= UInt64(remaining / minimumBytesEach) else {
            throw GGUFError.truncated(path: path, field: field, detail: "\(n) items of at least \(minimumBytesEach) bytes, the file has \(remaining) left")
        }
        return Int(n)
    }

    mutating func string(field: String) throws -> String {
        let length = try count(field: field + " (length)", minimumBytesEach: 1)
        let raw = try bytes(length, field: field)
        guard let s = String(validating: raw, as: UTF8.self) else {
            throw GGUFError.invalidField(path: path, field: field, detail: "string is not valid UTF-8")
        }
        return s
    }

    mutating func value(type: UInt32, field: String, depth: Int) throws -> GGUFValue {
        switch type {
        case 0: return .uint8(try read(UInt8.self, field: field))
        case 1: return .int8(try read(Int8.self, field: field))
        case 2: return .uint16(try read(UInt16.self, field: field))
        case 3: return .int16(try read(Int16.self, field: field))
        case 4: return .uint32(try read(UInt32.self, field: field))
        case 5: return .int32(try read(Int32.self, field: field))
        case 6: return .float32(Float(bitPattern: try read(UInt32.self, field: field)))
        case 7:
            let b = try read(UInt8.self, field: field)
            guard b <= 1 else { throw GGUFError.invalidField(path: path, field: field, detail: "bool holds \(b)") }
            return .bool(b == 1)
        case 8: return .string(try string(field: field))
        case 9:
            guard depth < GGUFFile.maxArrayDepth else {
                throw GGUFError.invalidField(path: path, field: field, detail: "arrays nested more than \(GGUFFile.maxArrayDepth) deep")
            }
            let elementType = try read(UInt32.self, field: field + " (element type)")
            // The smallest encoding of one element: its fixed size, a string's length, an array's header.
            let minimum: Int
            switch elementType {
            case 0, 1, 7: minimum = 1
            case 2, 3: minimum = 2
            case 4, 5, 6: minimum = 4
            case 8, 10, 11, 12: minimum = 8
            case 9: minimum = 12
            default: throw GGUFError.invalidField(path: path, field: field, detail: "unknown array element type \(elementType)")
            }
            let n = try count(field: field + " (count)", minimumBytesEach: minimum)
            var elements: [GGUFValue] = []
            elements.reserveCapacity(n)
            for i in 0..<n { elements.append(try value(type: elementType, field: "\(field)[\(i)]", depth: depth + 1)) }
            return .array(elements)
        case 10: return .uint64(try read(UInt64.self, field: field))
        case 11: return .int64(try read(Int64.self, field: field))
        case 12: return .float64(Double(bitPattern: try read(UInt64.self, field: field)))
        default: throw GGUFError.invalidField(path: path, field: field, detail: "unknown value type \(type)")
        }
    }
}
