import Foundation
import XCTest

extension Process {
    /// Runs a program to completion and returns its standard output.
    public static func run(_ executable: URL, _ arguments: [String]) throws -> String {
        try outcome(executable, arguments, withStandardError: false).output
    }

    /// Runs a program to completion: its exit status and its standard output (with standard
    /// error merged into it when asked), in `environment` when given, else in this process's.
    public static func outcome(_ executable: URL, _ arguments: [String], withStandardError: Bool,
                               environment: [String: String]? = nil) throws -> (status: Int32, output: String) {
        let process = Process(), pipe = Pipe()
        process.executableURL = executable; process.arguments = arguments; process.standardOutput = pipe
        if let environment { process.environment = environment }
        if withStandardError { process.standardError = pipe }
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}

/// Python modules the suite installs (scripts/requirements-test.txt).
public enum TestPython {
    /// Returns when python3 imports `modules`; otherwise says SKIP loudly with what goes
    /// unchecked, and fails under CI, where scripts/test.sh installed them.
    public static func require(_ modules: String, unchecked: String) throws {
        let probe = try Process.outcome(URL(fileURLWithPath: "/usr/bin/env"), ["python3", "-c", "import \(modules)"], withStandardError: true)
        guard probe.status != 0 else { return }
        let message = "SKIP: python3 has no \(modules) (pip install -r scripts/requirements-test.txt): \(unchecked)"
        print("*** \(message) ***")
        if ProcessInfo.processInfo.environment["CI"] != nil { throw TestPythonFailure(message: message) }
        throw XCTSkip(message)
    }

    /// The scalars of the TensorBoard event files in `directory`, read by TensorBoard's own
    /// reader (scripts/read_tensorboard.py): tag -> [[step, value]].
    public static func tensorBoardScalars(_ directory: URL, unchecked: String) throws -> [String: [[Double]]] {
        try require("tensorboard", unchecked: unchecked)
        let read = try Process.outcome(URL(fileURLWithPath: "/usr/bin/env"),
                                       ["python3", TestPaths.packageRoot.appendingPathComponent("scripts/read_tensorboard.py").path, directory.path],
                                       withStandardError: false)
        guard read.status == 0, let scalars = try? JSONSerialization.jsonObject(with: Data(read.output.utf8)) as? [String: [[Double]]] else {
            throw TestPythonFailure(message: "scripts/read_tensorboard.py failed on \(directory.path): \(read.output)")
        }
        return scalars
    }

    struct TestPythonFailure: Error, CustomStringConvertible {
        let message: String
        var description: String { message }
    }
}
