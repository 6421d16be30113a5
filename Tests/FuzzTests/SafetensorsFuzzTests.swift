import Artifacts
import Foundation
import XCTest

/// The safetensors reader on mutated files: each either opens, and then every tensor reads
/// (within the file, in the element type of its dtype), or throws a SafetensorsError naming
/// the file.
final class SafetensorsFuzzTests: XCTestCase {
    func testSafetensorsReaderOnMutatedFiles() throws {
        try Fuzzer(target: "safetensors", seeds: try Self.seeds(),
                   mutations: Mutation.bytes + Mutation.safetensors).run(check: Self.check)
    }

    /// Files as the project writes them: a checkpoint-like one with metadata and every
    /// dtype family, a score-like one, and one with a scalar and an empty tensor.
    static func seeds() throws -> [[UInt8]] {
        var checkpoint = SafetensorsWriter(metadata: ["format": "pt", "kind": "checkpoint"])
        checkpoint.add("model.embed.weight", shape: [4, 3], floats: (0..<12).map { Float($0) / 7 })
        checkpoint.addBF16("model.norm.weight", shape: [3], floats: [1, 0.5, -2])
        checkpoint.add("half", dtype: .f16, shape: [2], values: [Float16(0.25).bitPattern, Float16(-1).bitPattern])
        checkpoint.add("step", shape: [1], int64s: [42])
        var scores = SafetensorsWriter(metadata: ["chunk": "0"])
        scores.add("pcp", shape: [2, 5], floats: [Float](repeating: 0.5, count: 10))
        scores.add("ids", shape: [10], int32s: (0..<10).map(Int32.init))
        scores.add("mask", shape: [10], uint8s: [0, 1, 1, 0, 1, 0, 0, 1, 1, 1])
        var small = SafetensorsWriter()
        small.add("scalar", shape: [], floats: [3])
        small.add("empty", shape: [0, 4], floats: [])
        small.add("flags", dtype: .bool, shape: [2], values: [UInt8(1), 0])
        return try [checkpoint.serialized(), scores.serialized(), small.serialized()]
    }

    static func check(_ path: String) -> FuzzOutcome {
        func typed(_ error: Error) -> FuzzOutcome {
            guard let error = error as? SafetensorsError else { return .violation("untyped error \(type(of: error)): \(error)") }
            return "\(error)".contains(path) ? .refused : .violation("SafetensorsError without the file's name: \(error)")
        }
        let file: SafetensorsFile
        do { file = try SafetensorsFile(path: path) } catch { return typed(error) }

        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        for name in file.names {
            do {
                let info = try file.info(name)
                let bytes = try file.rawBytes(name)
                guard bytes.count == info.elementCount * info.dtype.byteCount, bytes.count <= size else {
                    return .violation("tensor \(name): \(bytes.count) bytes for shape \(info.shape) of \(info.dtype.rawValue) in a file of \(size)")
                }
                switch info.dtype {
                case .f64, .f32, .f16, .bf16:
                    guard try file.floats(name).count == info.elementCount else { return .violation("tensor \(name): wrong count") }
                default:
                    guard try file.ints(name).count == info.elementCount else { return .violation("tensor \(name): wrong count") }
                }
            } catch {
                // The header was validated when the file opened: reading must not fail.
                return .violation("the file opened but reading tensor \(name) failed: \(error)")
            }
        }
        return .parsed
    }
}
