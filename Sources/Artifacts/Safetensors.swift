import Foundation
#if canImport(Glibc)
import Glibc
#endif

// safetensors: 8-byte little-endian header length, a JSON header
// {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {str: str}}, then the data.
// Offsets are relative to the end of the header. The format other tools (HF transformers,
// numpy via the safetensors package) read: checkpoints, score files and masks all use it.

/// Element types of safetensors; raw values are the format's spellings.
public enum SafetensorsDType: String, Sendable, Codable, CaseIterable {
    case f64 = "F64", f32 = "F32", f16 = "F16", bf16 = "BF16"
    case i64 = "I64", i32 = "I32", i16 = "I16", i8 = "I8"
    case u64 = "U64", u32 = "U32", u16 = "U16", u8 = "U8", bool = "BOOL"

    public var byteCount: Int {
        switch self {
        case .f64, .i64, .u64: return 8
        case .f32, .i32, .u32: return 4
        case .f16, .bf16, .i16, .u16: return 2
        case .i8, .u8, .bool: return 1
        }
    }
}

/// Errors reading or writing safetensors; each names the file and, where there is one, the tensor.
public enum SafetensorsError: Error, CustomStringConvertible, Equatable {
    case io(path: String, detail: String)
    case truncated(path: String, detail: String)
    case invalidHeader(path: String, detail: String)
    case invalidTensor(path: String, tensor: String, detail: String)
    case missingTensor(path: String, tensor: String)
    case dtypeMismatch(path: String, tensor: String, expected: String, found: SafetensorsDType)
    case shapeMismatch(path: String, tensor: String, expected: [Int], found: [Int])

    public var description: String {
        switch self {
        case let .io(path, detail): return "\(path): \(detail)"
        case let .truncated(path, detail): return "\(path): truncated safetensors file: \(detail)"
        case let .invalidHeader(path, detail): return "\(path): invalid safetensors header: \(detail)"
        case let .invalidTensor(path, tensor, detail): return "\(path): tensor \(tensor): \(detail)"
        case let .missingTensor(path, tensor): return "\(path): no tensor named \(tensor)"
        case let .dtypeMismatch(path, tensor, expected, found):
            return "\(path): tensor \(tensor) has dtype \(found.rawValue), expected \(expected)"
        case let .shapeMismatch(path, tensor, expected, found):
            return "\(path): tensor \(tensor) has shape \(found), expected \(expected)"
        }
    }
}

/// One tensor's entry in the header.
public struct SafetensorsTensorInfo: Sendable, Equatable {
    public let name: String
    public let dtype: SafetensorsDType
    public let shape: [Int]
    /// Byte range within the data section.
    public let begin: Int, end: Int
    public var elementCount: Int { shape.reduce(1, *) }
}

/// A safetensors file, memory-mapped read-only; the header is validated when it is opened
/// (lengths, JSON, dtypes, offsets inside the file and consistent with dtype x shape).
public final class SafetensorsFile: @unchecked Sendable {
    public let path: String
    public let tensors: [String: SafetensorsTensorInfo]
    public let metadata: [String: String]
    private let base: UnsafeRawPointer?
    private let mappedLength: Int
    private let dataStart: Int

    public init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw SafetensorsError.io(path: path, detail: "cannot open: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw SafetensorsError.io(path: path, detail: "cannot stat") }
        let size = Int(st.st_size)
        guard size >= 8 else { throw SafetensorsError.truncated(path: path, detail: "\(size) bytes, shorter than the 8-byte header length") }
        guard let map = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), map != MAP_FAILED else {
            throw SafetensorsError.io(path: path, detail: "mmap failed: \(String(cString: strerror(errno)))")
        }
        let raw = UnsafeRawPointer(map)
        base = raw
        mappedLength = size
        do {
            // Compared as UInt64 first: a length past Int.max must be an error, not a trap.
            let declaredLength = UInt64(littleEndian: raw.loadUnaligned(as: UInt64.self))
            guard declaredLength <= UInt64(size - 8) else {
                throw SafetensorsError.truncated(path: path, detail: "header of \(declaredLength) bytes, file has \(size - 8) after the length")
            }
            let headerLength = Int(declaredLength)
            dataStart = 8 + headerLength
            let headerBytes = Data(bytes: raw + 8, count: headerLength)
            let json: Any
            do { json = try JSONSerialization.jsonObject(with: headerBytes) } catch {
                throw SafetensorsError.invalidHeader(path: path, detail: "not JSON (\(error.localizedDescription))")
            }
            guard let object = json as? [String: Any] else { throw SafetensorsError.invalidHeader(path: path, detail: "not a JSON object") }
            var infos: [String: SafetensorsTensorInfo] = [:]
            var meta: [String: String] = [:]
            let dataSize = size - dataStart
            for (name, value) in object {
                if name == "__metadata__" {
                    guard let m = value as? [String: Any] else { throw SafetensorsError.invalidHeader(path: path, detail: "__metadata__ is not an object") }
                    for (k, v) in m {
                        guard let s = v as? String else { throw SafetensorsError.invalidHeader(path: path, detail: "__metadata__.\(k) is not a string") }
                        meta[k] = s
                    }
                    continue
                }
                infos[name] = try Self.parseEntry(name: name, value: value, dataSize: dataSize, path: path)
            }
            // As the reference reader demands: the tensors tile the data section, no byte read
            // by two tensors (one write would change both) and none left over.
            var cursor = 0, previous: String?
            for info in infos.values.sorted(by: { ($0.begin, $0.end, $0.name) < ($1.begin, $1.end, $1.name) }) {
                guard info.begin >= cursor else {
                    throw SafetensorsError.invalidHeader(path: path, detail: "tensor \(info.name) (bytes \(info.begin)..<\(info.end)) overlaps tensor \(previous ?? "?") (which ends at \(cursor))")
                }
                guard info.begin == cursor else {
                    throw SafetensorsError.invalidHeader(path: path, detail: "bytes \(cursor)..<\(info.begin) of the data section, before tensor \(info.name), belong to no tensor")
                }
                cursor = info.end
                previous = info.name
            }
            guard cursor == dataSize else {
                throw SafetensorsError.invalidHeader(path: path, detail: "bytes \(cursor)..<\(dataSize) at the end of the data section belong to no tensor")
            }
            tensors = infos
            metadata = meta
        } catch {
            munmap(map, size)
            throw error
        }
    }

    private static func parseEntry(name: String, value: Any, dataSize: Int, path: String) throws -> SafetensorsTensorInfo {
        func bad(_ detail: String) -> SafetensorsError { .invalidTensor(path: path, tensor: name, detail: detail) }
        guard let entry = value as? [String: Any] else { throw bad("entry is not an object") }
        guard let dtypeName = entry["dtype"] as? String else { throw bad("no dtype") }
        guard let dtype = SafetensorsDType(rawValue: dtypeName) else { throw bad("unsupported dtype \(dtypeName)") }
        guard let shapeValues = entry["shape"] as? [Any], let offsetValues = entry["data_offsets"] as? [Any] else {
            throw bad("missing shape or data_offsets")
        }
        let shape = try shapeValues.map { v -> Int in
            guard let n = (v as? NSNumber)?.intValue, n >= 0 else { throw bad("invalid shape \(shapeValues)") }
            return n
        }
        let offsets = try offsetValues.map { v -> Int in
            guard let n = (v as? NSNumber)?.intValue, n >= 0 else { throw bad("invalid data_offsets \(offsetValues)") }
            return n
        }
        guard offsets.count == 2, offsets[0] <= offsets[1] else { throw bad("invalid data_offsets \(offsets)") }
        // Products that overflow Int are errors (no file holds that many bytes), not traps.
        var byteCount = dtype.byteCount
        for n in shape {
            let (product, overflow) = byteCount.multipliedReportingOverflow(by: n)
            guard !overflow else { throw bad("shape \(shape) of \(dtype.rawValue) needs more bytes than a file can hold") }
            byteCount = product
        }
        guard offsets[1] - offsets[0] == byteCount else {
            throw bad("data_offsets \(offsets) hold \(offsets[1] - offsets[0]) bytes, shape \(shape) of \(dtype.rawValue) needs \(byteCount)")
        }
        guard offsets[1] <= dataSize else {
            throw SafetensorsError.truncated(path: path, detail: "tensor \(name) ends at byte \(offsets[1]) of the data section, which has \(dataSize)")
        }
        return SafetensorsTensorInfo(name: name, dtype: dtype, shape: shape, begin: offsets[0], end: offsets[1])
    }

    deinit {
        if let base { munmap(UnsafeMutableRawPointer(mutating: base), mappedLength) }
    }

    public var names: [String] { tensors.keys.sorted() }

    public func info(_ name: String) throws -> SafetensorsTensorInfo {
        guard let info = tensors[name] else { throw SafetensorsError.missingTensor(path: path, tensor: name) }
        return info
    }

    /// The raw bytes of a tensor (valid while this file object lives).
    public func rawBytes(_ name: String) throws -> UnsafeRawBufferPointer {
        let i = try info(name)
        return UnsafeRawBufferPointer(start: base! + dataStart + i.begin, count: i.end - i.begin)
    }

    /// Converts a floating tensor (F32, F16, BF16, F64) to Float into `destination`, checking
    /// its shape against `expectedShape` when given.
    public func readFloats(_ name: String, expectedShape: [Int]? = nil, into destination: UnsafeMutableBufferPointer<Float>) throws {
        let i = try info(name)
        if let expectedShape, expectedShape != i.shape {
            throw SafetensorsError.shapeMismatch(path: path, tensor: name, expected: expectedShape, found: i.shape)
        }
        guard destination.count == i.elementCount else {
            throw SafetensorsError.invalidTensor(path: path, tensor: name, detail: "has \(i.elementCount) elements, destination \(destination.count)")
        }
        try readFloats(name, elements: 0..<i.elementCount, into: destination.baseAddress!)
    }

    /// Converts `elements` of a floating tensor (in its flat order) to Float at `out`: a slice
    /// of a tensor widened where it is needed, the rest left in the mapped file.
    public func readFloats(_ name: String, elements: Range<Int>, into out: UnsafeMutablePointer<Float>) throws {
        let i = try info(name)
        guard elements.lowerBound >= 0, elements.upperBound <= i.elementCount else {
            throw SafetensorsError.invalidTensor(path: path, tensor: name, detail: "has \(i.elementCount) elements, asked for \(elements)")
        }
        let src = UnsafeRawBufferPointer(rebasing: try rawBytes(name)[(elements.lowerBound * i.dtype.byteCount)...])
        let n = elements.count
        switch i.dtype {
        case .f32:
            for k in 0..<n { out[k] = Float(bitPattern: UInt32(littleEndian: src.loadUnaligned(fromByteOffset: 4 * k, as: UInt32.self))) }
        case .bf16:
            // bfloat16 is the top half of a float32.
            for k in 0..<n { out[k] = Float(bitPattern: UInt32(UInt16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * k, as: UInt16.self))) << 16) }
        case .f16:
            for k in 0..<n { out[k] = Float(Float16(bitPattern: UInt16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * k, as: UInt16.self)))) }
        case .f64:
            for k in 0..<n { out[k] = Float(Double(bitPattern: UInt64(littleEndian: src.loadUnaligned(fromByteOffset: 8 * k, as: UInt64.self)))) }
        default:
            throw SafetensorsError.dtypeMismatch(path: path, tensor: name, expected: "F32, F16, BF16 or F64", found: i.dtype)
        }
    }

    /// A floating tensor as [Float].
    public func floats(_ name: String, expectedShape: [Int]? = nil) throws -> [Float] {
        let n = try info(name).elementCount
        var result = [Float](repeating: 0, count: n)
        try result.withUnsafeMutableBufferPointer { try readFloats(name, expectedShape: expectedShape, into: $0) }
        return result
    }

    /// An integer tensor (I8...I64, U8...U64, BOOL) as [Int].
    public func ints(_ name: String) throws -> [Int] {
        let i = try info(name)
        let src = try rawBytes(name)
        return try (0..<i.elementCount).map { k -> Int in
            switch i.dtype {
            case .i64: return Int(Int64(littleEndian: src.loadUnaligned(fromByteOffset: 8 * k, as: Int64.self)))
            case .u64: return Int(UInt64(littleEndian: src.loadUnaligned(fromByteOffset: 8 * k, as: UInt64.self)))
            case .i32: return Int(Int32(littleEndian: src.loadUnaligned(fromByteOffset: 4 * k, as: Int32.self)))
            case .u32: return Int(UInt32(littleEndian: src.loadUnaligned(fromByteOffset: 4 * k, as: UInt32.self)))
            case .i16: return Int(Int16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * k, as: Int16.self)))
            case .u16: return Int(UInt16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * k, as: UInt16.self)))
            case .i8: return Int(src.load(fromByteOffset: k, as: Int8.self))
            case .u8, .bool: return Int(src.load(fromByteOffset: k, as: UInt8.self))
            default: throw SafetensorsError.dtypeMismatch(path: path, tensor: name, expected: "an integer dtype", found: i.dtype)
            }
        }
    }
}

/// Collects named tensors and writes them as one safetensors file, atomically (AtomicFile).
/// General on purpose: checkpoints (F32/BF16), score files (F32), masks (U8), ids (I32/I64).
public struct SafetensorsWriter {
    public var metadata: [String: String]
    private var entries: [(name: String, dtype: SafetensorsDType, shape: [Int], bytes: [UInt8])] = []

    public init(metadata: [String: String] = [:]) { self.metadata = metadata }

    /// Adds a tensor from its little-endian bytes; the byte count must match dtype x shape.
    public mutating func add(_ name: String, dtype: SafetensorsDType, shape: [Int], bytes: [UInt8]) {
        precondition(name != "__metadata__", "safetensors: __metadata__ is reserved")
        precondition(bytes.count == shape.reduce(1, *) * dtype.byteCount,
                     "safetensors: \(name) has \(bytes.count) bytes for shape \(shape) of \(dtype.rawValue)")
        precondition(!entries.contains { $0.name == name }, "safetensors: duplicate tensor \(name)")
        entries.append((name, dtype, shape, bytes))
    }

    /// Adds values of a fixed-width numeric type as the given dtype (the caller picks the
    /// Swift type whose layout is that dtype: Float for F32, Int32 for I32, UInt8 for U8 ...).
    public mutating func add<T: BitwiseCopyable>(_ name: String, dtype: SafetensorsDType, shape: [Int], values: some Collection<T>) {
        precondition(MemoryLayout<T>.size == dtype.byteCount, "safetensors: \(T.self) is not \(dtype.rawValue)")
        let array = Array(values)
        add(name, dtype: dtype, shape: shape, bytes: array.withUnsafeBytes { Array($0) })
    }

    public mutating func add(_ name: String, shape: [Int], floats: some Collection<Float>) {
        add(name, dtype: .f32, shape: shape, values: floats)
    }

    public mutating func add(_ name: String, shape: [Int], int32s: some Collection<Int32>) {
        add(name, dtype: .i32, shape: shape, values: int32s)
    }

    public mutating func add(_ name: String, shape: [Int], int64s: some Collection<Int64>) {
        add(name, dtype: .i64, shape: shape, values: int64s)
    }

    public mutating func add(_ name: String, shape: [Int], uint8s: some Collection<UInt8>) {
        add(name, dtype: .u8, shape: shape, values: uint8s)
    }

    /// Floats rounded to bfloat16 (round to nearest even), as HF writes bf16 checkpoints.
    public mutating func addBF16(_ name: String, shape: [Int], floats: some Collection<Float>) {
        add(name, dtype: .bf16, shape: shape, values: Self.bfloat16(floats))
    }

    /// Each float's bfloat16 bits, rounded to nearest even (NaN stays NaN).
    public static func bfloat16(_ floats: some Collection<Float>) -> [UInt16] {
        floats.map { f -> UInt16 in
            let bits = f.bitPattern
            if f.isNaN { return 0x7FC0 }
            return UInt16((bits &+ 0x7FFF &+ ((bits >> 16) & 1)) >> 16)
        }
    }

    /// The header (padded with spaces to a multiple of 8, as the reference writer does) and data.
    public func serialized() throws -> [UInt8] {
        let header = try Self.header(metadata: metadata, entries.map { ($0.name, $0.dtype, $0.shape) })
        var out: [UInt8] = []
        out.reserveCapacity(header.count + entries.reduce(0) { $0 + $1.bytes.count })
        out.append(contentsOf: header)
        for e in entries { out.append(contentsOf: e.bytes) }
        return out
    }

    /// The length prefix and JSON header of a file holding `tensors` in this order.
    static func header(metadata: [String: String], _ tensors: [(name: String, dtype: SafetensorsDType, shape: [Int])]) throws -> [UInt8] {
        var header: [String: Any] = [:]
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var offset = 0
        for t in tensors {
            let count = t.shape.reduce(1, *) * t.dtype.byteCount
            header[t.name] = ["dtype": t.dtype.rawValue, "shape": t.shape, "data_offsets": [offset, offset + count]] as [String: Any]
            offset += count
        }
        var json = Array(try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys]))
        while json.count % 8 != 0 { json.append(0x20) }
        var out: [UInt8] = []
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { out.append(contentsOf: $0) }
        return out + json
    }

    /// Writes the file atomically: a reader sees the old file or the complete new one. The
    /// tensors go to the file one by one (never joined into one more copy).
    public func write(to path: String) throws {
        let file = try AtomicFile(path: path)
        try file.write(try Self.header(metadata: metadata, entries.map { ($0.name, $0.dtype, $0.shape) }))
        for e in entries { try file.write(e.bytes) }
        try file.commit()
    }
}

/// A safetensors file written tensor by tensor, for checkpoints too large to hold twice: the
/// tensors are declared up front (the header needs every offset), then their bytes are
/// appended in that order, each tensor whole or in pieces; the file appears at `path` complete
/// on `commit`, or not at all.
public final class SafetensorsStreamWriter {
    private let file: AtomicFile
    private let tensors: [(name: String, dtype: SafetensorsDType, shape: [Int])]
    private var next = 0
    /// Bytes of tensor `next` already written.
    private var written = 0

    public init(path: String, metadata: [String: String] = [:], tensors: [(name: String, dtype: SafetensorsDType, shape: [Int])]) throws {
        precondition(Set(tensors.map(\.name)).count == tensors.count, "safetensors: duplicate tensor names")
        self.tensors = tensors
        file = try AtomicFile(path: path)
        try file.write(try SafetensorsWriter.header(metadata: metadata, tensors))
    }

    /// The next declared tensor's little-endian bytes, or its next piece: the tensor after it
    /// starts once this one's bytes are all written.
    public func append(_ name: String, bytes: some Collection<UInt8>) throws {
        precondition(next < tensors.count && tensors[next].name == name, "safetensors: \(name) is not the next declared tensor")
        let t = tensors[next], size = t.shape.reduce(1, *) * t.dtype.byteCount
        precondition(written + bytes.count <= size, "safetensors: \(name) has \(written + bytes.count) bytes for shape \(t.shape)")
        try file.write(bytes)
        written += bytes.count
        if written == size { next += 1; written = 0 }
    }

    /// F32 values, written from where they are when contiguous (a parameter buffer's view).
    public func append(_ name: String, floats: some Collection<Float>) throws {
        if let written: Void = try floats.withContiguousStorageIfAvailable({ try append(name, bytes: UnsafeRawBufferPointer($0)) }) {
            return written
        }
        try Array(floats).withUnsafeBytes { try append(name, bytes: $0) }
    }

    /// Floats rounded to bfloat16 (`SafetensorsWriter.bfloat16`), one tensor at a time.
    public func append(_ name: String, bfloat16 floats: some Collection<Float>) throws {
        try SafetensorsWriter.bfloat16(floats).withUnsafeBytes { try append(name, bytes: $0) }
    }

    public func commit() throws {
        // A tensor with no elements needs no append.
        while next < tensors.count && tensors[next].shape.reduce(1, *) == 0 { next += 1 }
        precondition(next == tensors.count, "safetensors: \(tensors.count - next) declared tensors were not written")
        try file.commit()
    }
}
