import Foundation
import XCTest

/// Where tests find the package, the shared data beside it, and scratch space.
public enum TestPaths {
    /// The package root, found from this file's path.
    public static let packageRoot: URL = {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url }
        }
        fatalError("no Package.swift above \(#filePath)")
    }()

    /// `../shared` beside the package: datasets, tokenizers and reference fixtures.
    public static let shared = packageRoot.deletingLastPathComponent().appendingPathComponent("shared")

    /// A file under ../shared that must exist: a missing one fails the calling test loudly.
    public static func sharedFile(_ relative: String, file: StaticString = #filePath, line: UInt = #line) throws -> URL {
        let url = shared.appendingPathComponent(relative)
        guard FileManager.default.fileExists(atPath: url.path) else {
            XCTFail("missing \(url.path): the tests need ../shared beside the package", file: file, line: line)
            throw CocoaError(.fileNoSuchFile)
        }
        return url
    }

    /// Tiny checkpoints of the later architectures, committed in this repository (made by
    /// scripts/make_hf_fixture.py); gpt2/llama3/mistral/qwen2 are in ../shared/fixtures/hf.
    public static let modelFixtures = packageRoot.appendingPathComponent("Tests/ModelTests/Fixtures")

    /// A tiny Hugging Face checkpoint with its expected.safetensors ("qwen3-tiny", "gpt2-tiny/bf16"):
    /// the repository's own when it has one, otherwise ../shared/fixtures/hf's.
    public static func hfFixture(_ relative: String, file: StaticString = #filePath, line: UInt = #line) throws -> URL {
        let own = modelFixtures.appendingPathComponent(relative)
        if FileManager.default.fileExists(atPath: own.path) { return own }
        return try sharedFile("fixtures/hf/\(relative)", file: file, line: line)
    }

    /// A new empty directory under this test process's scratch root.
    public static func scratchDirectory(_ label: String) throws -> URL {
        let url = scratchRoot.appendingPathComponent("xtf-\(label)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// One directory per test process under the system's temporary directory, removed when the
    /// process exits (the suite writes gigabytes of runs and checkpoints; left behind, repeated
    /// runs fill the disk). XTF_KEEP_SCRATCH=1 keeps it for a look after a failure. The roots
    /// of test processes that died without exiting (killed, crashed) go at the next start.
    static let scratchRoot: URL = {
        let temporary = FileManager.default.temporaryDirectory
        for name in (try? FileManager.default.contentsOfDirectory(atPath: temporary.path)) ?? [] where name.hasPrefix("xtf-tests-") {
            if let pid = Int32(name.dropFirst("xtf-tests-".count)), kill(pid, 0) != 0, errno == ESRCH {
                try? FileManager.default.removeItem(at: temporary.appendingPathComponent(name))
            }
        }
        let url = temporary.appendingPathComponent("xtf-tests-\(getpid())")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        if ProcessInfo.processInfo.environment["XTF_KEEP_SCRATCH"] == "1" {
            print("XTF_KEEP_SCRATCH=1: the tests' scratch directories stay in \(url.path)")
        } else {
            atexit { try? FileManager.default.removeItem(at: TestPaths.scratchRoot) }
        }
        return url
    }()
}
