import Foundation
import Scoring
import TestSupport
import XCTest

/// `--preset`: the rules a preset names, frozen as docs/RESULTS.md chose them, reach a run's
/// mask settings from the command line, and an option given beside a preset replaces one
/// of its values (even with the paper's value).
final class MaskPresetTests: XCTestCase {
    func testXtfPlusIsTheVariantChosenOnDetection() {
        let plus = MaskPreset.xtfPlus.settings
        XCTAssertEqual(plus.attributes, .kn)
        XCTAssertEqual(plus.caps, Caps(ri: 0.05, kn: 0.3, tr: 0.05))
        XCTAssertEqual(plus.spanClosure, 0.5)
        var rest = plus
        rest.attributes = .all; rest.caps = Caps(); rest.spanClosure = nil
        XCTAssertEqual(rest, MaskSettings(), "every other value is the paper's")
        XCTAssertEqual(MaskPreset.paper.settings, MaskSettings())
    }

    func testAPresetOnTheCommandLineAndAnOptionBesideIt() throws {
        let model = try Fixtures.tinyGPT2(), data = try Fixtures.gsm8k(records: 16)
        let run = try TestPaths.scratchDirectory("mask-preset")
        let scored = try MPIRunner.run(ranks: 1, ["score", "--model", model.path, "--data", data.path, "--format", "gsm8k", "--task", "math",
                                                  "--out", run.path, "--max-length", "160"], timeout: 600)
        XCTAssertEqual(scored.status, 0, scored.stderr)
        func with(_ change: (inout MaskSettings) -> Void) -> MaskSettings { var s = MaskPreset.xtfPlus.settings; change(&s); return s }
        let cases: [([String], MaskSettings)] = [
            ([], MaskPreset.xtfPlus.settings),
            (["--span-closure", "0.9"], with { $0.spanClosure = 0.9 }),
            // The paper's own values, given, still replace the preset's.
            (["--attributes", "ri,kn,tr", "--caps", "0.05", "0.1", "0.05"], with { $0.attributes = .all; $0.caps = Caps() }),
        ]
        for (extra, expected) in cases {
            let result = try MPIRunner.run(ranks: 2, ["mask", run.path, "--preset", "xtf-plus"] + extra)
            XCTAssertEqual(result.status, 0, result.stderr)
            let written = try JSONDecoder().decode(MaskSettings.self, from: Data(contentsOf: run.appendingPathComponent("mask-settings.json")))
            XCTAssertEqual(written, expected, "xtf mask --preset xtf-plus \(extra.joined(separator: " "))")
        }
        let unknown = try MPIRunner.run(ranks: 1, ["mask", run.path, "--preset", "xtf-best"])
        XCTAssertNotEqual(unknown.status, 0)
        XCTAssertTrue(unknown.stderr.contains("xtf-best"), unknown.stderr)
    }
}
