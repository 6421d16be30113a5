import Foundation
import TestSupport
import XCTest

/// `--report-to tensorboard` on `xtf score` and `xtf mask`: the scoring statistics of
/// stats.json as TensorBoard scalars, read back with TensorBoard's own reader.
final class ScoringEventsTests: XCTestCase {
    func testScoringStatisticsGoToTensorBoard() throws {
        let run = try Fixtures.scoredRun("scoring-events", records: 12, extra: ["--report-to", "tensorboard"]).run
        let remask = try MPIRunner.run(ranks: 1, ["mask", run.path, "--tau-kn", "0.5", "--report-to", "tensorboard", "--quiet"])
        XCTAssertEqual(remask.status, 0, remask.stderr)
        let files = try FileManager.default.contentsOfDirectory(atPath: run.appendingPathComponent("tensorboard").path)
        XCTAssertEqual(files.filter { $0.hasPrefix("events.out.tfevents.") }.count, 2, "one event file per masking: \(files)")

        let scalars = try TestPython.tensorBoardScalars(run.appendingPathComponent("tensorboard"), unchecked: "the scoring event files were not read back")
        // The last masking's stats.json, found among each series' values (both maskings write
        // step 0; their files are read in name order, which the clock and pid decide).
        let stats = try JSONSerialization.jsonObject(with: Data(contentsOf: run.appendingPathComponent("stats.json"))) as! [String: Any]
        let report = stats["report"] as! [String: Any]
        func holds(_ tag: String, _ expected: Double) {
            let values = scalars[tag]?.map { $0[1] } ?? []
            XCTAssertTrue(values.contains { abs($0 - expected) <= 1e-6 * max(1, abs(expected)) }, "\(tag): \(values), expected \(expected)")
        }
        holds("score/masked_fraction", report["maskedFraction"] as! Double)
        holds("score/response_tokens", Double(report["responseTokens"] as! Int))
        XCTAssertEqual(scalars["score/masked_fraction"]?.count, 2, "both maskings")
        let attributes = report["attributes"] as! [[String: Any]]
        XCTAssertEqual(attributes.count, 3, "RI, KN and TR")
        for attribute in attributes {
            let name = (attribute["attribute"] as! String).lowercased()
            holds("score/\(name)/flagged_fraction", attribute["flaggedFraction"] as! Double)
        }
        XCTAssertTrue(scalars.keys.contains { $0.hasPrefix("sensitivity/") }, "\(scalars.keys.sorted())")
    }
}
