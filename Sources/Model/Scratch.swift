import Foundation

/// A growable Float arena for activations and work buffers: replaced only when a larger size
/// is asked, so repeated steps of the same shape reuse the same memory.
///
/// Mapped from the system, not taken from malloc: a replaced arena's pages go back at once.
/// From the heap (xtf-mpirun raises glibc's mmap threshold to 1 GiB, so arenas below it come
/// from there) a freed arena stayed resident beside its larger successor: a rank whose second
/// micro-batch was larger than its first peaked at about 1 GiB more than one whose first was
/// the largest.
final class Scratch {
    private(set) var capacity = 0
    private var pointer: UnsafeMutablePointer<Float>?

    func ensure(_ count: Int) -> UnsafeMutablePointer<Float> {
        if count > capacity || pointer == nil {
            release()
            let n = max(count, 1), bytes = n * MemoryLayout<Float>.stride
            guard let map = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), map != MAP_FAILED else {
                fatalError("cannot map \(bytes) bytes for activations: \(String(cString: strerror(errno)))")
            }
            pointer = map.bindMemory(to: Float.self, capacity: n)
            capacity = n
        }
        return pointer!
    }

    private func release() {
        if let pointer { munmap(pointer, capacity * MemoryLayout<Float>.stride) }
        pointer = nil
        capacity = 0
    }

    deinit { release() }
}
