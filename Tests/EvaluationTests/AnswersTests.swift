import Evaluation
import XCTest

final class AnswersTests: XCTestCase {
    func testGSM8KNumbers() {
        XCTAssertEqual(Answers.gsm8kNumber("She has 3 + 4 = 7 apples.\n#### 7"), "7")
        XCTAssertEqual(Answers.gsm8kNumber("#### 1,000"), "1000")
        XCTAssertEqual(Answers.gsm8kNumber("The answer is 12.50 dollars, then 3"), "3")
        XCTAssertEqual(Answers.gsm8kNumber("so 18.0."), "18")
        XCTAssertEqual(Answers.gsm8kNumber("#### -5"), "-5")
        XCTAssertNil(Answers.gsm8kNumber("no number here"))
    }

    func testPubMedQADecisions() {
        XCTAssertEqual(Answers.pubmedqaDecision("Because no effect was seen.\nFinal answer: maybe"), "maybe")
        XCTAssertEqual(Answers.pubmedqaDecision("Yes, it does."), "yes")
        XCTAssertNil(Answers.pubmedqaDecision("unclear"))
    }

    func testHumanEvalCompletionStopsAtTheNextTopLevelBlock() {
        XCTAssertEqual(Answers.humanEvalCompletion("    return x + 1\n\ndef other():\n    pass"), "    return x + 1\n")
        XCTAssertEqual(Answers.humanEvalCompletion("    return 2\nprint(f(1))"), "    return 2")
    }

    func testPassAtKMatchesTheEstimator() {
        XCTAssertEqual(Answers.passAtK(samples: 10, correct: 0, k: 1), 0)
        XCTAssertEqual(Answers.passAtK(samples: 10, correct: 3, k: 1), 0.3, accuracy: 1e-12)
        // 1 - C(7,2)/C(10,2) = 1 - 21/45
        XCTAssertEqual(Answers.passAtK(samples: 10, correct: 3, k: 2), 1 - 21.0 / 45.0, accuracy: 1e-12)
        XCTAssertEqual(Answers.passAtK(samples: 5, correct: 4, k: 2), 1)
    }
}

/// HumanEval's grading runs real programs: the canonical solution of a real problem passes,
/// a wrong one fails, and one that never ends is stopped by the timeout (in the sandbox, and
/// unsandboxed as --unsafe-no-sandbox runs it).
final class HumanEvalRunnerTests: XCTestCase {
    func testProgramsPassFailAndTimeOut() throws {
        let prompt = "def add(a, b):\n    \"\"\"Sum.\"\"\"\n"
        let test = "def check(candidate):\n    assert candidate(2, 3) == 5\n"
        var runners = [CodeSandbox(kind: .none)]
        if CodeSandbox.bubblewrapProblem == nil { runners.append(CodeSandbox(kind: .bubblewrap)) }
        for runner in runners {
            XCTAssertEqual(try runner.runPython(prompt + "    return a + b\n\n" + test + "\ncheck(add)\n", timeout: 10), .passed, "\(runner.kind)")
            XCTAssertEqual(try runner.runPython(prompt + "    return a - b\n\n" + test + "\ncheck(add)\n", timeout: 10), .failed, "\(runner.kind)")
            let start = Date()
            XCTAssertEqual(try runner.runPython("while True:\n    pass\n", timeout: 1), .timedOut, "\(runner.kind)")
            XCTAssertLessThan(Date().timeIntervalSince(start), 5)
        }
    }
}
