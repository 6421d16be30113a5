import Cluster
import Foundation
import Model
import Synchronization

/// Sums gradients across ranks while the backward pass is still running.
///
/// The flat gradient buffer is cut into buckets of about `bucketBytes`, in the order the
/// backward pass finishes them (last layers first, so from the end of the buffer). The
/// backward reports each finished parameter range with `markReady`; as soon as every
/// parameter of a bucket is final, the bucket is handed to a communication thread, which
/// all-reduces it (blocking MPI on a duplicated communicator) while the main thread goes on
/// computing earlier layers. `finish` waits for the last bucket. Only the buffer given is
/// reduced: with LoRA, that is the adapters' gradients only.
///
/// Extra values that must be summed with the gradients (the step's unmasked-token count,
/// its loss sum) ride in the last bucket, so they cost no collective of their own.
public final class GradientReducer: @unchecked Sendable {
    /// One contiguous piece of the gradient buffer, all-reduced as a unit.
    public struct Bucket: Sendable, Equatable {
        public let range: Range<Int>
    }

    /// What one step's communication cost, for the timeline.
    public struct StepTiming: Codable, Sendable {
        /// Seconds the communication thread spent in all-reduce calls.
        public var communication: Double = 0
        /// Seconds `finish` waited: communication not hidden behind the backward.
        public var exposed: Double = 0
    }

    public let buckets: [Bucket]
    private let channel: Communicator
    private let gradients: UnsafeMutableBufferPointer<Float>
    private let extras: Int

    // Per step: how many elements of each bucket are final; the thread's work queue.
    private var readyCount: [Int]
    private var extraValues: [Float]
    private let queue = Mutex<[Int]>([])
    private let work = DispatchSemaphore(value: 0)
    private let done = DispatchSemaphore(value: 0)
    private let failure = Mutex<Error?>(nil)
    private let busySeconds = Mutex<Double>(0)
    private let sentNonFinite = Mutex(false)
    private let exited = DispatchSemaphore(value: 0)
    private var closed = false
    private var launched = 0
    /// Whether this step's extras are set: the last bucket carries them, so it waits for them.
    private var extrasSet = false

    /// - Parameters:
    ///   - gradients: the flat gradient buffer (trainable parameters only), reduced in place.
    ///   - bucketBytes: target bucket size; buckets follow the buffer's layout backwards.
    ///   - extras: how many extra Float values ride with the last bucket.
    /// Collective: every rank constructs it with the same buffer length and settings.
    public init(world: Communicator, gradients: UnsafeMutableBufferPointer<Float>,
                bucketBytes: Int = 4 << 20, extras: Int = 0) throws {
        precondition(bucketBytes >= 4, "bucketBytes must hold at least one Float")
        channel = try world.duplicate()
        self.gradients = gradients
        self.extras = extras
        let per = max(1, bucketBytes / MemoryLayout<Float>.size)
        var list: [Bucket] = []
        var end = gradients.count
        while end > 0 {
            let start = max(0, end - per)
            list.append(Bucket(range: start..<end))
            end = start
        }
        buckets = list
        readyCount = Array(repeating: 0, count: list.count)
        extraValues = Array(repeating: 0, count: extras)
        let t = Thread { [unowned self] in
            self.communicate()
            self.exited.signal()
        }
        t.name = "xtf-allreduce"
        t.start()
    }

    /// Stops the communication thread (after the buckets already launched).
    public func close() {
        guard !closed else { return }
        closed = true
        queue.withLock { $0.append(-1) }
        work.signal()
        exited.wait()
    }

    deinit { close() }

    /// Starts a step: no gradient is final yet.
    public func beginStep() {
        for i in readyCount.indices { readyCount[i] = 0 }
        launched = 0
        extrasSet = extras == 0
        busySeconds.withLock { $0 = 0 }
        sentNonFinite.withLock { $0 = false }
    }

    /// Whether this rank's own gradients held a NaN or infinity before they were summed (valid
    /// after `finish`): the sum is then NaN on every rank, and this says which rank it came from.
    public var localGradientWasNonFinite: Bool { sentNonFinite.withLock { $0 } }

    /// Reports that gradients in `range` are final for this step (each element once).
    /// Buckets whose elements are all final start their all-reduce now, in bucket order.
    public func markReady(_ range: Range<Int>) {
        // Buckets are laid out backwards; find those overlapping `range`.
        for (i, bucket) in buckets.enumerated() where bucket.range.overlaps(range) {
            let overlap = bucket.range.clamped(to: range)
            readyCount[i] += overlap.count
        }
        launchReadyBuckets()
    }

    /// Sets the extra values (for example the unmasked-token count) summed with the last bucket.
    public func setExtras(_ values: [Float]) {
        precondition(values.count == extras)
        extraValues = values
        extrasSet = true
        launchReadyBuckets()
    }

    /// Waits until every bucket is reduced; returns the summed extras and the step's timing.
    /// Buckets never marked ready (no gradient for them this step) are reduced now.
    public func finish() throws -> (extras: [Float], timing: StepTiming) {
        precondition(extrasSet, "GradientReducer: setExtras was not called this step")
        for i in readyCount.indices { readyCount[i] = buckets[i].range.count }
        launchReadyBuckets()
        let start = Communicator.wallTime()
        for _ in 0..<buckets.count { done.wait() }
        if buckets.isEmpty { try reduceExtrasAlone() }
        let exposed = Communicator.wallTime() - start
        if let error = failure.withLock({ $0 }) { throw error }
        return (extraValues, StepTiming(communication: busySeconds.withLock { $0 }, exposed: exposed))
    }

    private func launchReadyBuckets() {
        // Launch strictly in order, so every rank issues the same collectives in the same order.
        while launched < buckets.count && readyCount[launched] == buckets[launched].range.count
                && (launched < buckets.count - 1 || extrasSet) {
            let index = launched
            launched += 1
            queue.withLock { $0.append(index) }
            work.signal()
        }
    }

    private func reduceExtrasAlone() throws {
        try extraValues.withUnsafeMutableBufferPointer { try channel.allreduce($0, op: .sum) }
    }

    /// The communication thread: all-reduces buckets in the order they were launched.
    private func communicate() {
        var scratch: [Float] = []
        while true {
            work.wait()
            let index = queue.withLock { $0.removeFirst() }
            if index < 0 { return }
            let start = Communicator.wallTime()
            do {
                let range = buckets[index].range
                let slice = UnsafeMutableBufferPointer(rebasing: gradients[range])
                // A scan at memory speed, on this thread, so it overlaps the backward.
                if firstNonFinite(UnsafeBufferPointer(slice)) != nil { sentNonFinite.withLock { $0 = true } }
                if index == buckets.count - 1 && extras > 0 {
                    // The last bucket carries the extras: copy both into one message.
                    scratch.removeAll(keepingCapacity: true)
                    scratch.append(contentsOf: slice)
                    scratch.append(contentsOf: extraValues)
                    try channel.allreduce(&scratch, op: .sum)
                    _ = slice.update(fromContentsOf: scratch[..<range.count])
                    extraValues = Array(scratch[range.count...])
                } else {
                    try channel.allreduce(slice, op: .sum)
                }
            } catch {
                failure.withLock { $0 = $0 ?? error }
            }
            busySeconds.withLock { $0 += Communicator.wallTime() - start }
            done.signal()
        }
    }
}
