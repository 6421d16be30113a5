import Foundation

/// Reference outputs computed by Hugging Face transformers for a checkpoint directory, through
/// scripts/transformers_reference.py (Python with torch and transformers, which xtf itself never
/// needs). `xtf model check --reference transformers` compares them with `ReferenceCheck`.
public enum TransformersReference {
    public enum Failure: Error, CustomStringConvertible {
        case scriptNotFound(searched: [String])
        case failed(command: String, status: Int32, output: String)

        public var description: String {
            switch self {
            case let .scriptNotFound(searched):
                return "cannot find scripts/transformers_reference.py (looked in \(searched.joined(separator: ", "))); pass --reference-script"
            case let .failed(command, status, output):
                let tail = output.split(separator: "\n").suffix(12).joined(separator: "\n")
                return "\(command) exited \(status) (it needs python3 with torch and transformers):\n\(tail)"
            }
        }
    }

    public static let scriptName = "scripts/transformers_reference.py"

    /// The script of the source checkout the binary was built in (found by walking up from
    /// the executable: .build/release/xtf, .build/x86_64-unknown-linux-gnu/release/xtf), or
    /// under the working directory.
    public static func locateScript(executable: URL, workingDirectory: URL) throws -> URL {
        var roots: [URL] = []
        for start in [executable, executable.resolvingSymlinksInPath()] {
            var directory = start.deletingLastPathComponent()
            for _ in 0..<4 {
                roots.append(directory)
                directory = directory.deletingLastPathComponent()
            }
        }
        roots.append(workingDirectory)
        let candidates = roots.map { $0.appendingPathComponent(scriptName).standardizedFileURL }
        guard let found = candidates.first(where: { FileManager.default.isReadableFile(atPath: $0.path) }) else {
            throw Failure.scriptNotFound(searched: Array(Set(candidates.map { $0.deletingLastPathComponent().deletingLastPathComponent().path })).sorted())
        }
        return found
    }

    /// Runs the script on `model`, writing `out` (expected.safetensors layout). `arguments` are
    /// passed on (e.g. --gradients REGEX, --logit-columns K).
    public static func make(model: URL, out: URL, script: URL, python: String = "python3", arguments: [String] = []) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [python, script.path, "--model", model.path, "--out", out.path] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failure.failed(command: ([python, script.path] + process.arguments!.dropFirst(2)).joined(separator: " "),
                                 status: process.terminationStatus, output: output)
        }
    }
}
