import Foundation

extension Process {
    /// Runs a program to completion and returns its standard output.
    public static func run(_ executable: URL, _ arguments: [String]) throws -> String {
        try outcome(executable, arguments, withStandardError: false).output
    }

    /// Runs a program to completion: its exit status and its standard output (with standard
    /// error merged into it when asked).
    public static func outcome(_ executable: URL, _ arguments: [String], withStandardError: Bool) throws -> (status: Int32, output: String) {
        let process = Process(), pipe = Pipe()
        process.executableURL = executable; process.arguments = arguments; process.standardOutput = pipe
        if withStandardError { process.standardError = pipe }
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
