import Foundation
import Synchronization
import TestSupport
import XCTest

/// What a parser did with one input.
enum FuzzOutcome {
    /// Read without an error (records may be rejected), and what was read was consistent.
    case parsed
    /// Refused with the module's typed error, naming the file (or field, or line).
    case refused
    /// A broken property: an untyped or vague error, an inconsistent result.
    case violation(String)
}

/// A deterministic mutation fuzzer. Starting from valid seed files, each round stacks a few
/// mutations on a seed (or on an earlier input that still parsed), writes the result to
/// test-artifacts/fuzz-current-<target>.bin and lets `check` read that file.
///
/// - A crash leaves the input behind in fuzz-current-<target>.bin (removed after a clean run).
/// - A broken property, or an input that takes longer than `slowInput(bytes:)`, is saved as
///   fuzz-failure-<target>-<n>.bin (n: the input's number) and fails the test.
/// - An input still running after `hangInput` is saved the same way by a watchdog thread,
///   which then ends the process: a hang must not stall the suite.
///
/// XTF_FUZZ_SECONDS (default 5) bounds each target's time, XTF_FUZZ_SEED (default 1) picks
/// the inputs: the same seed makes the same inputs in the same order on any machine.
struct Fuzzer {
    let target: String
    let seeds: [[UInt8]]
    let mutations: [Mutation]

    /// Slower than this is a failure: 2 s, plus 2 s per MiB of input. A 2 MiB record made of
    /// a million JSON escapes took 0.3 s a pass here, and the dataset check makes up to twelve
    /// passes (three per format): 2 s flat failed such inputs that are slow, not hung.
    static func slowInput(bytes: Int) -> Duration { .milliseconds(2000 + 2000 * bytes / (1 << 20)) }
    static let hangInput: Duration = .seconds(20)
    /// Inputs are cut to this size, and only inputs up to `maxDonorBytes` are mutated
    /// further, so that long-line mutations do not slow down every later round.
    static let maxInputBytes = 4 << 20
    static let maxDonorBytes = 64 << 10
    /// Stop after this many failures: enough to see a pattern, without flooding the log.
    static let maxFailures = 5

    static var seconds: Double {
        ProcessInfo.processInfo.environment["XTF_FUZZ_SECONDS"].flatMap(Double.init) ?? 5
    }

    static var seed: UInt64 {
        ProcessInfo.processInfo.environment["XTF_FUZZ_SEED"].flatMap { UInt64($0) } ?? 1
    }

    static let artifacts = TestPaths.packageRoot.appendingPathComponent("test-artifacts")

    func run(file: StaticString = #filePath, line: UInt = #line, check: (String) -> FuzzOutcome) throws {
        try FileManager.default.createDirectory(at: Self.artifacts, withIntermediateDirectories: true)
        let current = Self.artifacts.appendingPathComponent("fuzz-current-\(target).bin")
        let seed = Self.seed
        // Each target draws from its own stream, so adding a target changes no other's inputs.
        var mutator = Mutator(seed: seed ^ fnv1a(target))
        mutator.donors = seeds
        let watchdog = Watchdog(target: target, current: current.path)
        defer { watchdog.stop() }
        print("fuzz \(target): seed \(seed), \(Self.seconds) s; if the process dies, its input is \(current.path)")

        var failures = 0
        func fail(_ n: Int, _ input: [UInt8], _ problem: String, _ history: [String]) {
            failures += 1
            let saved = Self.artifacts.appendingPathComponent("fuzz-failure-\(target)-\(n).bin")
            _ = FileManager.default.createFile(atPath: saved.path, contents: Data(input))
            XCTFail("fuzz \(target): input \(n) (XTF_FUZZ_SEED=\(seed)), made by \(history.isEmpty ? "no mutation (a seed)" : history.joined(separator: ", ")): \(problem); saved to \(saved.path)",
                    file: file, line: line)
        }

        let clock = ContinuousClock()
        let began = clock.now, end = began + .milliseconds(Int(Self.seconds * 1000))
        var n = 0, parsed = 0
        // The seeds run first, unchanged: each must parse, or the fuzzer starts from garbage.
        while n < seeds.count || clock.now < end, failures < Self.maxFailures {
            var history: [String] = []
            var input: [UInt8]
            if n < seeds.count {
                input = seeds[n]
            } else {
                input = mutator.pick(mutator.donors)
                for _ in 0..<(1 + mutator.below(4)) {
                    let mutation = mutator.pick(mutations)
                    input = Array(mutation.apply(&mutator, input).prefix(Self.maxInputBytes))
                    history.append(mutation.name)
                }
            }
            guard FileManager.default.createFile(atPath: current.path, contents: Data(input)) else {
                throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: current.path])
            }
            watchdog.started(input: n)
            let start = clock.now
            let outcome = check(current.path)
            let took = clock.now - start
            watchdog.finished()

            if case .violation(let problem) = outcome {
                fail(n, input, problem, history)
            } else if took > Self.slowInput(bytes: input.count) {
                fail(n, input, "took \(took), more than \(Self.slowInput(bytes: input.count)) for \(input.count) bytes", history)
            } else if n < seeds.count, case .refused = outcome {
                fail(n, input, "a seed must parse; check the seed files", history)
            }
            if case .parsed = outcome {
                parsed += 1
                // Inputs that still parse are the best material for deeper mutations.
                if n >= seeds.count, input.count <= Self.maxDonorBytes {
                    if mutator.donors.count < 256 { mutator.donors.append(input) } else {
                        mutator.donors[seeds.count + mutator.below(256 - seeds.count)] = input
                    }
                }
            }
            n += 1
        }
        let elapsed = (clock.now - began) / .milliseconds(1) / 1000
        try? FileManager.default.removeItem(at: current)
        print("fuzz \(target): \(n) inputs in \(String(format: "%.1f", elapsed)) s (\(Int(Double(n) / elapsed)) inputs/s; \(parsed) parsed), \(failures) failures, seed \(seed)")
    }
}

/// Ends the process when one input has run for longer than `Fuzzer.hangInput`, after saving
/// it, so a hang in a parser shows up as a named reproducer instead of a stuck test run.
final class Watchdog: Sendable {
    private let state = Mutex<(input: Int, since: ContinuousClock.Instant)?>(nil)
    private let running = Atomic<Bool>(true)

    init(target: String, current: String) {
        let thread = Thread { [self] in
            while running.load(ordering: .relaxed) {
                Thread.sleep(forTimeInterval: 0.25)
                guard let (input, since) = state.withLock({ $0 }), ContinuousClock.now - since > Fuzzer.hangInput else { continue }
                let saved = Fuzzer.artifacts.appendingPathComponent("fuzz-failure-\(target)-\(input).bin").path
                try? FileManager.default.copyItem(atPath: current, toPath: saved)
                FileHandle.standardError.write(Data("fuzz \(target): input \(input) has run for more than \(Fuzzer.hangInput) (a hang); saved to \(saved); ending the test process\n".utf8))
                exit(1)
            }
        }
        thread.start()
    }

    func started(input: Int) { state.withLock { $0 = (input, ContinuousClock.now) } }
    func finished() { state.withLock { $0 = nil } }
    func stop() { running.store(false, ordering: .relaxed) }
}

/// FNV-1a: a stable hash of a name (Swift's `hashValue` changes from run to run).
func fnv1a(_ text: String) -> UInt64 {
    text.utf8.reduce(0xCBF2_9CE4_8422_2325) { ($0 ^ UInt64($1)) &* 0x100_0000_01B3 }
}
