import Foundation
import GroundTruth
import XCTest

/// The ground-truth generator: seeded, labels exactly the injected text, and the solution
/// without its noise is correct arithmetic ending in the problem's answer.
final class ProblemTests: XCTestCase {
    func problems(seed: UInt64, count: Int = 500, noiseRate: Double = 0.5, kinds: [NoiseKind] = NoiseKind.allCases) -> [Problem] {
        var generator = ProblemGenerator(seed: seed, noiseRate: noiseRate, kinds: kinds)
        return (0..<count).map { generator.next(index: $0) }
    }

    func testTheSameSeedGivesTheSameProblems() {
        XCTAssertEqual(problems(seed: 3), problems(seed: 3))
        XCTAssertNotEqual(problems(seed: 3), problems(seed: 4))
    }

    /// Removing the labelled spans leaves sentences whose equations hold, chained from the
    /// starting amount to the final "#### N".
    func testSpansCoverTheNoiseAndTheRestIsACorrectSolution() throws {
        for problem in problems(seed: 11) {
            let bytes = Array(problem.answer.utf8)
            var clean: [UInt8] = [], cursor = 0
            for span in problem.noise {
                XCTAssertGreaterThanOrEqual(span.start, cursor, "spans overlap or are out of order: \(problem)")
                XCTAssertLessThan(span.start, span.end)
                XCTAssertEqual(bytes[span.start], UInt8(ascii: " "), "a span starts with its separating space")
                clean += bytes[cursor..<span.start]
                cursor = span.end
            }
            clean += bytes[cursor...]
            let text = String(decoding: clean, as: UTF8.self)
            let lines = text.split(separator: "\n")
            XCTAssertEqual(lines.count, 2, text)
            XCTAssertEqual(lines[1], "#### \(problem.result)")
            XCTAssertLessThan(problem.noise.last?.end ?? 0, problem.answer.utf8.count - lines[1].utf8.count, "noise after the answer")

            // Every "a op b = c" holds and each starts from the previous result.
            let pattern = try NSRegularExpression(pattern: #"(\d+) ([-+*]) (\d+) = (\d+)"#)
            let matches = pattern.matches(in: String(lines[0]), range: NSRange(lines[0].startIndex..., in: lines[0]))
            XCTAssertGreaterThanOrEqual(matches.count, 2, text)
            let start = Int(problem.question.split(separator: " ")[2])!
            var value = start
            for m in matches {
                let field = { (i: Int) in Int((lines[0] as NSString).substring(with: m.range(at: i)))! }
                let op = (lines[0] as NSString).substring(with: m.range(at: 2))
                XCTAssertEqual(field(1), value, text)
                let expected = op == "+" ? field(1) + field(3) : op == "-" ? field(1) - field(3) : field(1) * field(3)
                XCTAssertEqual(field(4), expected, text)
                XCTAssertGreaterThanOrEqual(field(4), 0)
                value = field(4)
            }
            XCTAssertEqual(value, problem.result)
        }
    }

    func testNoiseRateAndKinds() {
        XCTAssertTrue(problems(seed: 5, noiseRate: 0).allSatisfy { $0.noise.isEmpty })
        let asides = problems(seed: 5, kinds: [.aside])
        XCTAssertTrue(asides.allSatisfy { $0.noise.allSatisfy { $0.kind == .aside } })
        // A slot after every solution sentence (1 + steps); about half carry noise.
        let all = problems(seed: 6, count: 2000)
        let slots = all.reduce(0) { $0 + $1.answer.split(separator: "\n")[0].filter { $0 == "=" }.count + 1 }
        let filled = Double(all.reduce(0) { $0 + $1.noise.count }) / Double(slots)
        XCTAssertEqual(filled, 0.5, accuracy: 0.03)
        let kinds = Dictionary(grouping: all.flatMap(\.noise), by: \.kind).mapValues(\.count)
        XCTAssertEqual(Set(kinds.keys), Set(NoiseKind.allCases))
        for count in kinds.values { XCTAssertGreaterThan(count, 600) }
    }

    /// The corpus teaches what the problems need (stories whose amounts are restated after each
    /// event, chains of arithmetic) but never the benchmark's own format.
    func testPretrainingCorpusHasNoWorkedSolutions() throws {
        var a = PretrainingCorpus(seed: 2), b = PretrainingCorpus(seed: 2)
        var documents: [String] = []
        for _ in 0..<500 {
            let document = a.next()
            XCTAssertEqual(document, b.next())
            XCTAssertFalse(document.contains("####"))
            XCTAssertFalse(document.contains("How many"))
            XCTAssertFalse(document.contains(", so "), "a solution sentence: \(document)")
            XCTAssertFalse(document.isEmpty)
            documents.append(document)
        }
        let all = documents.joined(separator: " ")
        XCTAssertTrue(all.contains("Now "), "no restated amounts")
        // Every equation in the corpus holds.
        let pattern = try NSRegularExpression(pattern: #"(\d+) ([-+*]) (\d+) = (\d+)"#)
        let matches = pattern.matches(in: all, range: NSRange(all.startIndex..., in: all))
        XCTAssertGreaterThan(matches.count, 300)
        for m in matches {
            let field = { (i: Int) in Int((all as NSString).substring(with: m.range(at: i)))! }
            let op = (all as NSString).substring(with: m.range(at: 2))
            XCTAssertEqual(field(4), op == "+" ? field(1) + field(3) : op == "-" ? field(1) - field(3) : field(1) * field(3))
        }
    }
}
