import Artifacts
import Experiment
import Foundation
import Pipeline
import Scoring
import TestSupport
import Training
import XCTest

/// `xtf run`'s plan: a YAML file of the commands' option names read into the stages' typed
/// settings, with --set overrides, and what differs from a saved plan named as the file names it.
final class RunPlanTests: XCTestCase {
    func write(_ yaml: String) throws -> URL {
        let directory = try TestPaths.scratchDirectory("run-plan")
        let url = directory.appendingPathComponent("plan.yaml")
        try yaml.write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    let file = """
        out: runs/x
        model: models/default
        score: {data: data/train.jsonl, format: gsm8k, task: math, max-length: 256, records-per-chunk: 32, tau-kn: 0.9, caps: [0.1, 0.2, 0.05]}
        train: {max-steps: 40, global-batch: 16, lr: 1e-3, lora: "8,32,q_proj+v_proj"}
        arms:
          normal: {mask: none}
          xtf: {}
          kn-only: {attributes: kn, flag-classes: 3, lr: 2e-3}
          slm: {mask: slm, reference: ref}
        eval: {task: gsm8k, data: data/test.jsonl, max-new-tokens: 80, k: 1, weights: mapped}
        groundtruth: {labels: data/train.jsonl}
        """

    func testEveryStageIsReadIntoItsSettingsType() throws {
        let url = try write(file)
        let base = url.deletingLastPathComponent().path
        let plan = try RunPlan(file: url.path)
        XCTAssertEqual(plan.out, base + "/runs/x")
        XCTAssertEqual(plan.model, base + "/models/default")
        XCTAssertEqual(plan.score.data.path, base + "/data/train.jsonl", "paths are relative to the file")
        XCTAssertEqual(plan.score.maxLength, 256)
        XCTAssertEqual(plan.score.recordsPerChunk, 32)
        XCTAssertEqual(plan.score.batchTokens, ScoreSettings(model: "", tokenizer: "", data: plan.score.data, task: .math).batchTokens)
        XCTAssertEqual(plan.score.tokenizer, plan.model, "the tokenizer defaults to the model's directory")
        XCTAssertEqual(plan.rules.tauKN, 0.9)
        XCTAssertEqual(plan.rules.caps, Caps(ri: 0.1, kn: 0.2, tr: 0.05))
        XCTAssertEqual(plan.arms.map(\.name), ["normal", "xtf", "kn-only", "slm"], "arms in the file's order")
        XCTAssertEqual(plan.arms.map(\.mask), [.none, .xtf, .xtf, .slm])
        for arm in plan.arms {
            XCTAssertEqual(arm.settings.maxSteps, 40)
            XCTAssertEqual(arm.settings.lora?.rank, 8)
        }
        XCTAssertEqual(plan.arms[0].settings.learningRate, 1e-3)
        XCTAssertEqual(plan.arms[2].settings.learningRate, 2e-3, "an arm's option wins over train's")
        XCTAssertNil(plan.arms[0].rules)
        XCTAssertEqual(plan.arms[2].rules?.attributes, .kn)
        XCTAssertEqual(plan.arms[2].rules?.flagClasses, [2], "one value of a list option is a list of one; classes are 1-based in the file")
        XCTAssertEqual(plan.arms[3].reference, base + "/ref")
        XCTAssertEqual(plan.arms[3].settings.slmKeepFraction, 0.6)
        XCTAssertEqual(plan.job(plan.arms[2]).scores, base + "/runs/x/arms/kn-only/masks", "an arm with rules trains on its own masks")
        XCTAssertEqual(plan.job(plan.arms[0]).scores, base + "/runs/x/score")
        XCTAssertEqual(plan.eval?.maxNewTokens, 80)
        XCTAssertEqual(plan.eval?.k, [1])
        XCTAssertEqual(plan.eval?.weights, .mapped)
        XCTAssertEqual(plan.groundTruthLabels, base + "/data/train.jsonl")
    }

    func testTheIssue17OptionsReachTheirSettings() throws {
        let url = try write("""
            out: o
            model: m
            score: {data: d.jsonl, format: gsm8k, task: math, domain-word-list: official, prompt-free-pcp: true,
                    tr-class-rule: official, tr-weight: 0.9, kn-cap-count: official, coverage-guard: 0.3, span-closure: 0.5}
            arms:
              gain: {kn-score: prompt-gain, kn-gain-below: 0.2}
              cut: {mask: xtf, mask-mode: delete}
              kept: {mask: xtf, mask-mode: loss}
            """)
        let plan = try RunPlan(file: url.path)
        XCTAssertEqual(plan.score.domainWords, ["1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "+", "-", "*", "/", "=", "maths"])
        XCTAssertEqual(plan.score.promptFreePCP, true)
        XCTAssertEqual(plan.rules.trClassRule, .official)
        XCTAssertEqual(plan.rules.trWeight, 0.9)
        XCTAssertEqual(plan.rules.knCapCount, .official)
        XCTAssertEqual(plan.rules.coverageGuard, 0.3)
        XCTAssertEqual(plan.rules.spanClosure, 0.5)
        XCTAssertEqual(plan.arms[0].rules?.knScore, .promptGain)
        XCTAssertEqual(plan.arms[0].rules?.knGainBelow, 0.2)
        XCTAssertEqual(plan.job(plan.arms[1]).maskMode, .delete)
        XCTAssertNil(plan.job(plan.arms[2]).maskMode, "loss, the default, is written as nothing")
        XCTAssertEqual(plan.arms[1].maskName, "xtf (deleted)")

        // Refused while reading the plan, naming the arm: delete with a mask that picks no
        // token, prompt-gain without the second scoring pass, two ways of naming TR's classes.
        for (text, key) in [("arms: {a: {mask: none, mask-mode: delete}}", "arms.a"),
                            ("arms: {a: {kn-score: prompt-gain}}", "arms.a"),
                            ("arms: {a: {tr-class-rule: official, flag-classes: 2}}", "arms.a")] {
            let bad = try write("out: o\nmodel: m\nscore: {data: d.jsonl, format: gsm8k, task: math}\n\(text)\n")
            XCTAssertThrowsError(try RunPlan(file: bad.path)) { XCTAssertTrue("\($0)".contains(key), "\($0)") }
        }
    }

    func testAPresetIsWhereAnArmsRulesStart() throws {
        let plus = MaskPreset.xtfPlus.settings
        XCTAssertNotEqual(plus, MaskPreset.paper.settings, "xtf-plus names rules other than the paper's")
        XCTAssertEqual(MaskPreset.paper.settings, MaskSettings(), "the paper's rules are the default")
        let url = try write("""
            out: o
            model: m
            score: {data: d.jsonl, format: gsm8k, task: math, prompt-free-pcp: true}
            arms:
              paper: {mask: xtf}
              plus: {preset: xtf-plus}
              plus-closure: {preset: xtf-plus, span-closure: 0.9, tau-kn: 0.5}
            """)
        let plan = try RunPlan(file: url.path)
        XCTAssertNil(plan.arms[0].rules)
        XCTAssertEqual(plan.arms[1].rules, plus)
        var overridden = plus
        overridden.spanClosure = 0.9; overridden.tauKN = 0.5
        XCTAssertEqual(plan.arms[2].rules, overridden, "an option beside the preset overrides its value, the rest stay")
        let bad = try write("out: o\nmodel: m\nscore: {data: d.jsonl, format: gsm8k, task: math}\narms: {a: {preset: xtf-best}}\n")
        XCTAssertThrowsError(try RunPlan(file: bad.path)) { XCTAssertTrue("\($0)".contains("arms.a.preset"), "\($0)") }
    }

    func testEveryShippedConfigReads() throws {
        let configs = TestPaths.packageRoot.appendingPathComponent("configs")
        let names = try FileManager.default.contentsOfDirectory(atPath: configs.path).filter { $0.hasSuffix(".yaml") }.sorted()
        XCTAssertTrue(names.contains("demo.yaml"), "\(names)")
        for name in names {
            XCTAssertNoThrow(try RunPlan(file: configs.appendingPathComponent(name).path), name)
        }
    }

    func testOverridesAndArmSelection() throws {
        let url = try write(file)
        XCTAssertEqual(try RunPlan(file: url.path).score.data.assistantTurns, .all, "every assistant turn unless the plan says")
        let plan = try RunPlan(file: url.path, overrides: ["score.max-length=300", "arms.xtf.lr=0.01", "score.caps=0 0 0",
                                                           "train.decay-norms-and-biases=true", "out=/elsewhere", "score.assistant-turns=last"])
        XCTAssertEqual(plan.score.maxLength, 300)
        XCTAssertEqual(plan.score.data.assistantTurns, .last)
        XCTAssertEqual(plan.arms[1].settings.learningRate, 0.01)
        XCTAssertEqual(plan.arms[0].settings.learningRate, 1e-3)
        XCTAssertEqual(plan.rules.caps, Caps(ri: 0, kn: 0, tr: 0))
        XCTAssertTrue(plan.arms.allSatisfy(\.settings.decayNormsAndBiases))
        XCTAssertEqual(plan.out, "/elsewhere")
        XCTAssertEqual(try plan.selecting(arms: ["slm", "normal"]).arms.map(\.name), ["normal", "slm"])
        XCTAssertThrowsError(try plan.selecting(arms: ["missing"])) { XCTAssertTrue("\($0)".contains("no arm \"missing\"")) }
    }

    func testMistakesNameTheFileAndTheKey() throws {
        let url = try write(file)
        func refusal(_ overrides: [String], _ yaml: String? = nil) -> String {
            let path = yaml.map { try! write($0).path } ?? url.path
            do { _ = try RunPlan(file: path, overrides: overrides); return "accepted" } catch { return "\(error)" }
        }
        XCTAssertEqual(refusal(["score.tau-kn=high"]), "\(url.path): score.tau-kn: expected Double")
        XCTAssertTrue(refusal(["arms.normal.no-such=1"]).hasPrefix("\(url.path): arms.normal.no-such: unknown option (known here: "))
        XCTAssertTrue(refusal(["eval.max-length=3"]).hasPrefix("\(url.path): eval.max-length: unknown option"), "a score option in eval")
        XCTAssertEqual(refusal(["score.caps=0.1 0.2"]), "\(url.path): score.caps: takes three values: ri kn tr, got 2")
        XCTAssertEqual(refusal(["arms.xtf.lora=8"]), "\(url.path): arms.xtf.lora: takes rank,alpha,modules (e.g. 8,32,q_proj+v_proj), got 8")
        XCTAssertTrue(refusal(["arms.xtf.mask=half"]).hasPrefix("\(url.path): arms.xtf.mask: "), refusal(["arms.xtf.mask=half"]))
        XCTAssertEqual(refusal(["arms.nobody.lr=1"]), "set arms.nobody.lr=1: no arm nobody", "a command-line mistake, not the file's")
        // The settings types' own checks, named as the file names the option.
        XCTAssertEqual(refusal(["score.records-per-chunk=0"]), "\(url.path): score.records-per-chunk: must be > 0, got 0")
        XCTAssertEqual(refusal(["score.tau-kn=2"]), "\(url.path): score.tau-kn: must lie in [0, 1], got 2.0")
        XCTAssertEqual(refusal(["arms.kn-only.flag-classes=6"]),
                       "\(url.path): arms.kn-only.flag-classes: classes are numbered 1 (lowest TR) to otsu-classes (5), got 6")
        XCTAssertEqual(refusal(["train.lr=-1"]), "\(url.path): arms.normal.lr: must be finite and > 0")
        XCTAssertEqual(refusal([], "out: o\nmodel: m\nscore: {data: d, format: gsm8k, task: math}\narms: {o: {mask: oracle}}\n")
                        .hasSuffix("arms.o: mask oracle needs the groundtruth section's labels (the generated train.jsonl)"), true)
        XCTAssertTrue(refusal([], "model: m\nscore: {data: d, format: gsm8k, task: math}\n").hasSuffix("/plan.yaml: out: missing: the run directory"))
        XCTAssertEqual(refusal([], "out: o\nmodel: m\nscore: {data: d, format: gsm8k}\n").hasSuffix("score.task: missing: math | code | medicine"), true)
        XCTAssertTrue(refusal([], "out: o\nmodel: m\nscoring: {}\n").contains("scoring: unknown section"))
    }

    func testConflictsWithASavedPlanUseTheFilesNames() throws {
        let url = try write(file)
        let saved = try RunPlan(file: url.path)
        let changed = try RunPlan(file: url.path, overrides: ["score.max-length=300", "train.lr=0.01", "arms.kn-only.tau-kn=0.5",
                                                              "score.format=pubmedqa", "eval.max-new-tokens=9"])
        let everything = changed.conflicts(with: saved) { _ in true }
        XCTAssertTrue(everything.contains("score.max-length: was 256, now 300"), "\(everything)")
        XCTAssertTrue(everything.contains("score.format: was \"gsm8k\", now \"pubmedqa\""), "\(everything)")
        XCTAssertTrue(everything.contains("arms.normal.lr: was 0.001, now 0.01"), "\(everything)")
        XCTAssertTrue(everything.contains("arms.kn-only.tau-kn: was 0.95, now 0.5"), "\(everything)")
        XCTAssertTrue(everything.contains("eval.max-new-tokens: was 80, now 9"), "\(everything)")
        // Only stages with outputs count: nothing scored, trained or evaluated yet.
        XCTAssertEqual(changed.conflicts(with: saved) { _ in false }, [])
        XCTAssertEqual(saved.conflicts(with: saved) { _ in true }, [])
    }
}
