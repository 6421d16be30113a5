import Foundation
import GroundTruth
import XCTest

/// The ground-truth generator: seeded, labels exactly the injected text, and the solution
/// without its noise is correct arithmetic ending in the problem's answer.
final class ProblemTests: XCTestCase {
    func problems(seed: UInt64, count: Int = 500, noiseRate: Double = 0.5, kinds: [NoiseKind] = NoiseFamily.mixed.kinds) -> [Problem] {
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
        try assertCleanSolutions(problems(seed: 11))
    }

    /// The control family is the original benchmark, problem for problem (the data of earlier
    /// results stays reproducible): seed 1's third problem as xtf wrote it before families.
    func testTheMixedFamilyIsTheOriginalBenchmark() {
        var family = ProblemGenerator(seed: 1, family: .mixed), original = ProblemGenerator(seed: 1, noiseRate: 0.5)
        let a = (0..<50).map { family.next(index: $0) }, b = (0..<50).map { original.next(index: $0) }
        XCTAssertEqual(a, b)
        XCTAssertEqual(a[2].answer, "Kai starts with 2 buttons. By the way, 33 is more than 13. He gives 1 buttons to Hana, so 2 - 1 = 1. "
                       + "This is a simple problem. He finds 3 more buttons, so 1 + 3 = 4.\n#### 4")
        XCTAssertEqual(a[2].noise, [NoiseSpan(start: 26, end: 58, kind: .aside), NoiseSpan(start: 100, end: 126, kind: .boilerplate)])
    }

    /// Every harmful family, in both surface forms: only its own kinds, at its slots often
    /// enough that a model trained on it writes them, and the rest a correct solution; the
    /// clean twin is exactly the answer without the spans.
    func testEveryFamilyLabelsItsNoiseAndLeavesACorrectSolution() throws {
        for family in NoiseFamily.allCases where family != .mixed {
            var openings: [Int: Set<String>] = [:]
            for surface in [1, 2] {
                var generator = ProblemGenerator(seed: 21, family: family, surface: surface)
                let problems = (0..<400).map { generator.next(index: $0) }
                try assertCleanSolutions(problems)
                for p in problems {
                    XCTAssertTrue(p.noise.allSatisfy { family.kinds.contains($0.kind) }, "\(family): \(p.noise)")
                    XCTAssertEqual(p.withoutNoise.answer, cleaned(p), "\(family) \(surface)")
                    XCTAssertTrue(p.withoutNoise.noise.isEmpty)
                }
                let noisy = Double(problems.filter { !$0.noise.isEmpty }.count) / Double(problems.count)
                XCTAssertGreaterThan(noisy, family.defaultRate - 0.1, "\(family) surface \(surface): noise in \(noisy) of problems")
                openings[surface] = Set(problems.flatMap { p in
                    p.noise.map { String(decoding: Array(p.answer.utf8)[($0.start + 1)..<($0.start + 6)], as: UTF8.self) }
                })
            }
            XCTAssertTrue(openings[1]!.isDisjoint(with: openings[2]!), "\(family): the second surface opens its noise differently")
        }
        // The late fact stands right before the answer line.
        var late = ProblemGenerator(seed: 4, family: .lateFact)
        for p in (0..<100).map({ late.next(index: $0) }) {
            if let span = p.noise.first { XCTAssertEqual(Array(p.answer.utf8)[span.end], UInt8(ascii: "\n")) }
        }
        // An early answer restates the amount of the sentence before it under the marker; a
        // heading holds the marker: both are what a grader reading the first "####" takes.
        for surface in [1, 2] {
            var early = ProblemGenerator(seed: 6, family: .earlyAnswer, surface: surface)
            var headings = ProblemGenerator(seed: 6, family: .headings, surface: surface)
            for p in (0..<50).map({ early.next(index: $0) }) {
                let bytes = Array(p.answer.utf8)
                for span in p.noise {
                    let text = String(decoding: bytes[span.start..<span.end], as: UTF8.self)
                    let before = String(decoding: bytes[..<span.start], as: UTF8.self)
                    let amount = try XCTUnwrap(before.split(whereSeparator: { !$0.isNumber }).last)
                    XCTAssertTrue(text.contains("#### \(amount)"), "\(text) after \(before)")
                }
            }
            for p in (0..<50).map({ headings.next(index: $0) }) {
                for span in p.noise {
                    XCTAssertTrue(String(decoding: Array(p.answer.utf8)[span.start..<span.end], as: UTF8.self).contains("####"))
                }
            }
        }
        // A wrong sum is off by exactly one, in both surfaces.
        for surface in [1, 2] {
            var wrong = ProblemGenerator(seed: 5, family: .wrongSum, surface: surface)
            for p in (0..<50).map({ wrong.next(index: $0) }) {
                for span in p.noise {
                    let text = String(decoding: Array(p.answer.utf8)[span.start..<span.end], as: UTF8.self)
                    let n = text.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
                    XCTAssertEqual(n.count, 3, text)
                    XCTAssertEqual(abs((text.contains("+") ? n[0] + n[1] : n[0] - n[1]) - n[2]), 1, text)
                }
            }
        }
    }

    func cleaned(_ problem: Problem) -> String {
        var bytes = Array(problem.answer.utf8)
        for span in problem.noise.reversed() { bytes.removeSubrange(span.start..<span.end) }
        return String(decoding: bytes, as: UTF8.self)
    }

    func assertCleanSolutions(_ problems: [Problem], file: StaticString = #filePath, line: UInt = #line) throws {
        for problem in problems {
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
        XCTAssertEqual(Set(kinds.keys), Set(NoiseFamily.mixed.kinds))
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
