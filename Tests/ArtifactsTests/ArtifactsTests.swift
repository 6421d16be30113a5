import Artifacts
import Foundation
import TestSupport
import XCTest

final class ArtifactsTests: XCTestCase {
    func testFileSHA256KnownVectors() throws {
        let dir = try TestPaths.scratchDirectory("digest")
        defer { try? FileManager.default.removeItem(at: dir) }
        func digest(_ bytes: [UInt8]) throws -> String {
            let path = dir.appendingPathComponent("input").path
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            return try FileDigest.sha256Hex(ofFile: path)
        }
        XCTAssertEqual(try digest([]), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(try digest(Array("abc".utf8)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(try digest(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)),
                       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        XCTAssertEqual(try digest([UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)),
                       "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    func testFilesOfSeveralReadBlocksMatchSha256sum() throws {
        // Files are read in 1 MiB blocks: an exact multiple, and one with a partial last block.
        let dir = try TestPaths.scratchDirectory("digest-large")
        defer { try? FileManager.default.removeItem(at: dir) }
        for count in [2 << 20, (2 << 20) + 12_345] {
            let url = dir.appendingPathComponent("large-\(count)")
            try Data((0..<count).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 13) }).write(to: url)
            let sum = try Process.run(URL(fileURLWithPath: "/usr/bin/sha256sum"), [url.path])
            XCTAssertEqual(try FileDigest.sha256Hex(ofFile: url.path), sum.split(separator: " ").first.map(String.init))
        }
        XCTAssertThrowsError(try FileDigest.sha256Hex(ofFile: dir.appendingPathComponent("missing").path))
    }

    func testAtomicWriteReplacesWholeOrNothing() throws {
        let dir = try TestPaths.scratchDirectory("atomic")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("sub/out.json").path
        try AtomicFile.write("first\n", to: path)
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), "first\n")
        XCTAssertEqual(try FileDigest.sha256Hex(ofFile: path), "b640e840b19d378660b32fb51ae18d67dccb4a8596a29e7bd72c1b2ae5928f41")

        // A writer that fails before commit leaves the old file and no temporary behind.
        do {
            let file = try AtomicFile(path: path)
            try file.write("partial")
        }
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), "first\n")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("sub").path), ["out.json"])

        struct Value: Codable, Equatable { let b: Int; let a: [Double] }
        try AtomicFile.writeJSON(Value(b: 1, a: [0.5]), to: path)
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), "{\n  \"a\" : [\n    0.5\n  ],\n  \"b\" : 1\n}\n")
    }

    /// Small writes are buffered, a large contiguous block goes straight to the file (a
    /// checkpoint's tensor is never copied): the bytes land in the order they were written.
    func testLargeAndSmallWritesKeepTheirOrder() throws {
        let dir = try TestPaths.scratchDirectory("atomic-order")
        let path = dir.appendingPathComponent("mixed.bin").path
        let large = (0..<(3 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let notContiguous = repeatElement(UInt8(9), count: (1 << 20) + 5)
        let file = try AtomicFile(path: path)
        try file.write([1, 2, 3])
        try file.write(large)
        try file.write("tail")
        try large.withUnsafeBytes { try file.write($0) }
        try file.write(notContiguous)
        try file.commit()
        let expected = [1, 2, 3] + large + Array("tail".utf8) + large + Array(notContiguous)
        XCTAssertEqual(Array(try Data(contentsOf: URL(fileURLWithPath: path))), expected)
    }

    func testAFullDiskIsAnErrorAndLeavesNothingBehind() throws {
        // A full disk, simulated with the file-size limit: writes past 64 KiB fail (EFBIG).
        let dir = try TestPaths.scratchDirectory("full")
        defer { try? FileManager.default.removeItem(at: dir) }
        let target = dir.appendingPathComponent("scores.bin").path
        var saved = rlimit()
        getrlimit(Int32(RLIMIT_FSIZE.rawValue), &saved)
        signal(SIGXFSZ, SIG_IGN)
        var small = saved
        small.rlim_cur = 64 << 10
        XCTAssertEqual(setrlimit(Int32(RLIMIT_FSIZE.rawValue), &small), 0)
        defer { setrlimit(Int32(RLIMIT_FSIZE.rawValue), &saved) }

        XCTAssertThrowsError(try AtomicFile.write([UInt8](repeating: 7, count: 4 << 20), to: target)) { error in
            guard case let ArtifactError.io(path, operation, _) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(path.hasPrefix(target + ".tmp-"), path)
            XCTAssertEqual(operation, "write")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: target))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), [])
    }

    /// A streamed safetensors file, one tensor appended in two pieces, is byte for byte what
    /// SafetensorsWriter writes for the same tensors; one never committed leaves no file (nor a temporary one).
    func testStreamedSafetensorsEqualsTheWholeFileWriter() throws {
        let dir = try TestPaths.scratchDirectory("safetensors-stream")
        let a = (0..<30).map { Float($0) / 7 }, b: [Float] = [1, -2, .pi, 1e-8]
        var whole = SafetensorsWriter(metadata: ["format": "pt"])
        whole.add("layer.a", shape: [5, 6], floats: a)
        whole.addBF16("b", shape: [4], floats: b)
        let streamed = dir.appendingPathComponent("streamed.safetensors").path
        let writer = try SafetensorsStreamWriter(path: streamed, metadata: ["format": "pt"],
                                                 tensors: [("layer.a", .f32, [5, 6]), ("b", .bf16, [4])])
        // A tensor may be appended in pieces (how rank 0 writes the moments other ranks send it).
        try writer.append("layer.a", floats: a[..<7])
        try writer.append("layer.a", floats: a[7...])
        try SafetensorsWriter.bfloat16(b).withUnsafeBytes { try writer.append("b", bytes: $0) }
        XCTAssertFalse(FileManager.default.fileExists(atPath: streamed), "nothing at the path before commit")
        try writer.commit()
        XCTAssertEqual(Array(try Data(contentsOf: URL(fileURLWithPath: streamed))), try whole.serialized())
        XCTAssertEqual(try SafetensorsFile(path: streamed).floats("layer.a"), a)

        // Tensors with no elements need no append (the moments of a model with nothing to train).
        let empty = dir.appendingPathComponent("empty.safetensors").path
        let none = try SafetensorsStreamWriter(path: empty, tensors: [("exp_avg", .f32, [0]), ("exp_avg_sq", .f32, [0])])
        try none.commit()
        XCTAssertEqual(try SafetensorsFile(path: empty).floats("exp_avg_sq"), [])

        let abandoned = dir.appendingPathComponent("abandoned.safetensors").path
        do {
            let partial = try SafetensorsStreamWriter(path: abandoned, tensors: [("x", .f32, [2])])
            try partial.append("x", floats: [1, 2])
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted(), ["empty.safetensors", "streamed.safetensors"])
    }

    /// TFRecord's checksum is CRC-32C: the standard check value of "123456789" (RFC 3720).
    func testCRC32CCheckValue() {
        XCTAssertEqual(TensorBoardEvents.crc32c(Array("123456789".utf8)), 0xE306_9283)
        XCTAssertEqual(TensorBoardEvents.crc32c([]), 0)
    }
}
