import Foundation
import TestSupport
import XCTest

/// The shipped `xtf` carries no test-only command or flag: those live in `xtf-testbench`.
final class ShippedCommandTests: XCTestCase {
    func run(_ binary: URL, _ arguments: [String]) throws -> (status: Int32, output: String) {
        try Process.outcome(binary, arguments, withStandardError: true)
    }

    static let testOnly = ["selftest", "kill-before-batch", "kill-at-step", "dump-gradient", "collectives", "workqueue"]

    func testHelpListsNoTestOnlyCommandOrFlag() throws {
        for command in [["--help"], ["score", "--help"], ["train", "--help"], ["mask", "--help"], ["eval", "--help"], ["run", "--help"]] {
            let help = try run(MPIRunner.xtfBinary, command)
            XCTAssertEqual(help.status, 0, help.output)
            for word in Self.testOnly { XCTAssertFalse(help.output.contains(word), "xtf \(command.joined(separator: " ")) mentions \(word)") }
        }
        // The test bench has them.
        let bench = try run(MPIRunner.testbenchBinary, ["--help"])
        XCTAssertTrue(bench.output.contains("collectives") && bench.output.contains("pipeline"), bench.output)
        XCTAssertTrue(try run(MPIRunner.testbenchBinary, ["train", "--help"]).output.contains("--kill-at-step"))
    }

    func testTestOnlyCommandsAndFlagsAreUnknownToXtf() throws {
        let selftest = try run(MPIRunner.xtfBinary, ["selftest"])
        XCTAssertNotEqual(selftest.status, 0)
        XCTAssertTrue(selftest.output.contains("Unexpected argument 'selftest'"), selftest.output)
        // Every required option given, so that the flag is what the parser stops at.
        let required = ["score": ["--model", "m", "--data", "d", "--format", "gsm8k", "--task", "math", "--out", "o"],
                        "train": ["--model", "m", "--scores", "s", "--out", "o"]]
        for (command, flag) in [("score", "--kill-before-batch"), ("train", "--kill-at-step"), ("train", "--dump-gradient")] {
            let result = try run(MPIRunner.xtfBinary, [command] + required[command]! + [flag, "1"])
            XCTAssertNotEqual(result.status, 0)
            XCTAssertTrue(result.output.contains("Unknown option '\(flag)'"), "\(command) \(flag): \(result.output)")
        }
    }
}
