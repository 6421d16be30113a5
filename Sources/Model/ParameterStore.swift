import Foundation

/// One named tensor inside a contiguous parameter buffer, in its checkpoint layout
/// (HF name and shape; GPT-2 Conv1D weights stay [in, out] as stored).
public struct ParameterEntry: Sendable, Equatable {
    public let name: String
    public let shape: [Int]
    public let offset: Int
    public var count: Int { shape.reduce(1, *) }
}

/// Names, shapes and offsets of all tensors of one buffer.
public struct ParameterLayout: Sendable {
    public private(set) var entries: [ParameterEntry] = []
    private var index: [String: Int] = [:]
    public private(set) var count = 0

    public init() {}

    /// Appends a tensor and returns its offset. Consecutive adds are adjacent, which the
    /// model uses to fuse q|k|v and gate|up into one gemm.
    @discardableResult
    public mutating func add(_ name: String, _ shape: [Int]) -> Int {
        precondition(index[name] == nil, "duplicate parameter \(name)")
        let entry = ParameterEntry(name: name, shape: shape, offset: count)
        index[name] = entries.count
        entries.append(entry)
        count += entry.count
        return entry.offset
    }

    public func entry(_ name: String) -> ParameterEntry? { index[name].map { entries[$0] } }
}

/// A contiguous Float buffer (parameters, gradients or an optimiser moment) with named views.
/// One allocation: the trainer all-reduces `buffer` in buckets, AdamW walks it linearly.
public final class ParameterStore: @unchecked Sendable {
    public let layout: ParameterLayout
    public let buffer: UnsafeMutableBufferPointer<Float>

    /// Address space only (`reserved`): pages exist once written and go back with `release`.
    private let reserved: Bool

    public init(layout: ParameterLayout) {
        self.layout = layout
        buffer = .allocate(capacity: max(1, layout.count))
        buffer.initialize(repeating: 0)
        reserved = false
    }

    /// A buffer of reserved address space that reads as zeros and holds memory only where
    /// written (frozen weights widened a layer at a time), or nil when the kernel refuses it.
    init?(reservedLayout layout: ParameterLayout) {
        let bytes = max(1, layout.count) * MemoryLayout<Float>.stride
        guard let map = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0), map != MAP_FAILED else { return nil }
        // Transparent huge pages where the kernel offers them on request (its usual "madvise"
        // mode): every widening of a layer writes fresh pages, and 2 MiB pages fault 512 times
        // less often than 4 KiB ones. Refused (no THP): the 4 KiB pages, as before.
        _ = madvise(map, bytes, MADV_HUGEPAGE)
        self.layout = layout
        buffer = UnsafeMutableBufferPointer(start: map.assumingMemoryBound(to: Float.self), count: max(1, layout.count))
        reserved = true
    }

    deinit {
        if reserved { munmap(buffer.baseAddress, buffer.count * MemoryLayout<Float>.stride) } else { buffer.deallocate() }
    }

    /// Gives the whole pages inside `elements` back to the kernel (they read as zeros again);
    /// only for a reserved buffer.
    func release(_ elements: Range<Int>) {
        precondition(reserved, "only reserved buffers give memory back")
        let page = Int(sysconf(Int32(_SC_PAGESIZE))), start = UInt(bitPattern: base + elements.lowerBound), end = UInt(bitPattern: base + elements.upperBound)
        let first = (start + UInt(page) - 1) / UInt(page) * UInt(page), last = end / UInt(page) * UInt(page)
        if last > first { madvise(UnsafeMutableRawPointer(bitPattern: first), Int(last - first), MADV_DONTNEED) }
    }

    public var count: Int { layout.count }
    public var base: UnsafeMutablePointer<Float> { buffer.baseAddress! }

    /// The view of one named tensor, or nil.
    public func view(_ name: String) -> UnsafeMutableBufferPointer<Float>? {
        guard let e = layout.entry(name) else { return nil }
        return UnsafeMutableBufferPointer(start: base + e.offset, count: e.count)
    }

    /// A copy of one named tensor.
    public subscript(name: String) -> [Float]? { view(name).map { Array($0) } }

    public func zero() { buffer.update(repeating: 0) }

    public func copy(from other: ParameterStore) {
        precondition(other.count == count)
        _ = buffer.update(fromContentsOf: other.buffer)
    }
}
