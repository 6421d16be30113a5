import Foundation
import Randomness

/// The kinds of injected noise, one per XTF attribute it is meant to trip (docs/RESULTS.md).
public enum NoiseKind: String, Codable, CaseIterable, Sendable {
    /// Stock phrases a base model has seen everywhere and predicts: knowledge novelty (KN).
    case boilerplate
    /// Sentences about something other than the task: task relevance (TR).
    case filler
    /// Correct remarks about numbers that no later step uses: reasoning importance (RI).
    case aside
}

/// A labelled stretch of a solution: bytes `start..<end` of the UTF-8 answer (all ASCII, so
/// also characters), leading space included, so whole tokens fall inside.
public struct NoiseSpan: Codable, Equatable, Sendable {
    public let start: Int
    public let end: Int
    public let kind: NoiseKind

    public init(start: Int, end: Int, kind: NoiseKind) { self.start = start; self.end = end; self.kind = kind }
}

/// One arithmetic word problem in GSM8K's layout (the answer ends "#### N"), with the noise
/// injected into its worked solution labelled.
public struct Problem: Codable, Equatable, Sendable {
    public let id: String
    public let question: String
    public let answer: String
    public let noise: [NoiseSpan]
    /// The final number.
    public let result: Int

    public init(id: String, question: String, answer: String, noise: [NoiseSpan], result: Int) {
        self.id = id; self.question = question; self.answer = answer; self.noise = noise; self.result = result
    }
}

/// Multi-step arithmetic word problems ("Ava has 12 apples. She buys 5 more ...") with worked
/// solutions, one sentence per step, and noise of the three kinds inserted after sentences
/// with probability `noiseRate` per slot. Seeded: the same seed gives the same problems.
public struct ProblemGenerator {
    public var noiseRate: Double
    public var kinds: [NoiseKind]
    /// Operations per problem.
    public var steps: ClosedRange<Int>
    var random: SplitMix64

    public init(seed: UInt64, noiseRate: Double = 0.5, kinds: [NoiseKind] = NoiseKind.allCases, steps: ClosedRange<Int> = 2...2) {
        random = SplitMix64(seed: seed)
        self.noiseRate = noiseRate; self.kinds = kinds; self.steps = steps
    }

    static let names: [(String, String)] = [
        ("Ava", "She"), ("Ben", "He"), ("Cara", "She"), ("Dan", "He"), ("Eli", "He"), ("Fay", "She"), ("Gus", "He"),
        ("Hana", "She"), ("Ivy", "She"), ("Jon", "He"), ("Kai", "He"), ("Lea", "She"), ("Max", "He"), ("Nia", "She"),
        ("Omar", "He"), ("Pia", "She"), ("Raj", "He"), ("Sue", "She"), ("Tom", "He"), ("Uma", "She"),
    ]
    static let items = ["apples", "pens", "books", "marbles", "stickers", "cookies", "coins", "cards", "shells", "stamps",
                        "pencils", "buttons", "beads", "tickets", "rocks", "eggs"]

    /// One event of a story: how the question tells it, the equation "a op b = c" that
    /// computes it, and the amount after it. A worked solution restates the event, then
    /// computes: "She gives 3 marbles to Dan, so 40 - 3 = 37."
    struct Event {
        let question: String
        let equation: String
        let value: Int
        var solution: String { "\(question.dropLast()), so \(equation)." }
    }

    /// A story of `steps` events on one person's amount, the numbers small enough that a
    /// small model can learn the arithmetic (amounts stay below 100).
    struct Story {
        let name: String, pronoun: String, item: String, start: Int
        let events: [Event]
        var result: Int { events.last?.value ?? start }
    }

    mutating func pick<T>(_ options: [T]) -> T { options[Int.random(in: 0..<options.count, using: &random)] }
    mutating func number(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &random) }

    mutating func story() -> Story {
        let (name, pronoun) = pick(Self.names)
        let item = pick(Self.items)
        let start = number(2...20)
        var value = start, events: [Event] = []
        for _ in 0..<number(steps) {
            switch number(0...2) {
            case 1 where value >= 2:
                let b = number(1...min(value - 1, 10))
                let other = pick(Self.names.map(\.0).filter { $0 != name })
                events.append(Event(question: "\(pronoun) gives \(b) \(item) to \(other).",
                                    equation: "\(value) - \(b) = \(value - b)", value: value - b))
            case 2 where value <= 20:
                let k = number(2...3), times = k == 2 ? "doubles" : "triples"
                events.append(Event(question: "Then the number of \(item) \(pronoun.lowercased()) has \(times).",
                                    equation: "\(value) * \(k) = \(value * k)", value: value * k))
            default:
                let b = number(1...10)
                events.append(Event(question: "\(pronoun) \(pick(["buys", "finds", "gets"])) \(b) more \(item).",
                                    equation: "\(value) + \(b) = \(value + b)", value: value + b))
            }
            value = events.last!.value
        }
        return Story(name: name, pronoun: pronoun, item: item, start: start, events: events)
    }

    /// The next problem; `index` only names it.
    public mutating func next(index: Int) -> Problem {
        let story = story()
        let question = (["\(story.name) has \(story.start) \(story.item)."] + story.events.map(\.question)
            + ["How many \(story.item) does \(story.name) have now?"]).joined(separator: " ")
        let sentences = ["\(story.name) starts with \(story.start) \(story.item)."] + story.events.map(\.solution)
        let value = story.result

        // The solution, with noise after sentences (never inside one, never after the answer).
        var answer = "", noise: [NoiseSpan] = []
        func insertNoise() {
            guard !kinds.isEmpty, Double.random(in: 0..<1, using: &random) < noiseRate else { return }
            let kind = pick(kinds)
            let text = noiseText(kind)
            let start = answer.utf8.count
            answer += " " + text
            noise.append(NoiseSpan(start: start, end: answer.utf8.count, kind: kind))
        }
        for (i, sentence) in sentences.enumerated() {
            answer += (i == 0 ? "" : " ") + sentence
            insertNoise()
        }
        answer += "\n#### \(value)"
        return Problem(id: "gt-\(index)", question: question, answer: answer, noise: noise, result: value)
    }

    static let boilerplate = [
        "Let's think step by step.", "I hope this helps!", "Great question!", "Let me know if you have any other questions.",
        "Here is the solution.", "This is a simple problem.", "Let's work it out together.", "That was easy to follow.",
    ]
    static let subjects = ["The weather", "The garden", "The music", "The park", "The kitchen", "The river", "The sky", "The movie"]
    static let states = ["was lovely today", "looked very calm", "felt quiet and warm", "was full of birds",
                         "smelled of fresh bread", "was bright and blue", "made everyone smile", "seemed peaceful"]
    static let pets = ["cat", "dog", "parrot", "rabbit", "hamster"]
    static let habits = ["likes to nap in the sun", "sleeps on the sofa", "sings in the morning", "chases leaves outside"]

    mutating func noiseText(_ kind: NoiseKind) -> String {
        switch kind {
        case .boilerplate:
            return pick(Self.boilerplate)
        case .filler:
            if number(0...1) == 0 { return "\(pick(Self.subjects)) \(pick(Self.states))." }
            return "\(pick(Self.names).0)'s \(pick(Self.pets)) \(pick(Self.habits))."
        case .aside:
            let a = number(2...40), b = (a + number(1...30)) % 41
            switch number(0...2) {
            case 0: return "Note that \(a) is an \(a % 2 == 0 ? "even" : "odd") number."
            case 1: return "Also, \(a) + \(b) would be \(a + b)."
            default: return "By the way, \(a) is \(a > b ? "more" : "less") than \(b)."
            }
        }
    }
}

/// Text for pretraining the embedded base model: what a small model should know before it is
/// fine-tuned on the problems, as a base LLM knows it from its own pretraining. Arithmetic
/// facts and chains of them (a result used by the next step), stories told with the amount
/// after each event ("Now Kai has 21 coins."), stories told twice, the second time event by
/// event with the amounts (both need reading amounts, names and events back from earlier in
/// the text), and the stock phrases and everyday sentences the noise is made
/// of. Never the benchmark's format: no question, no "so a + b = c" solution, no "####".
public struct PretrainingCorpus {
    var generator: ProblemGenerator

    // Stories of 2 or 3 events (the problems have 2 by default; models/default was pretrained on this).
    public init(seed: UInt64) { generator = ProblemGenerator(seed: seed ^ 0x5EED_C0DE, steps: 2...3) }

    /// One document of a few sentences.
    public mutating func next() -> String {
        var sentences: [String] = []
        for _ in 0..<generator.number(2...4) {
            switch generator.number(0...9) {
            case 0, 1: sentences.append(narrative())
            case 2, 3: sentences.append(retelling())
            case 4: sentences.append(chain())
            case 5:
                let a = generator.number(1...90), b = generator.number(1...10)
                sentences.append(generator.pick(["\(a) + \(b) = \(a + b).", "\(a + b) - \(b) = \(a).",
                                                 "\(min(a, 30)) * 2 = \(min(a, 30) * 2).", "\(min(a, 30)) * 3 = \(min(a, 30) * 3).",
                                                 "\(a) plus \(b) is \(a + b).", "\(a + b) minus \(b) is \(a)."]))
            case 6: sentences.append(generator.noiseText(.boilerplate))
            case 7: sentences.append(generator.noiseText(.filler))
            case 8: sentences.append(generator.noiseText(.aside))
            default:
                let (name, pronoun) = generator.pick(ProblemGenerator.names)
                let item = generator.pick(ProblemGenerator.items)
                sentences.append("\(name) went to the shop. \(pronoun) \(generator.pick(["bought", "found", "sold"])) some \(item). \(pronoun) likes \(item).")
            }
        }
        return sentences.joined(separator: " ")
    }

    /// A story with the amount restated after every event.
    mutating func narrative() -> String {
        let story = generator.story()
        var text = "\(story.name) has \(story.start) \(story.item)."
        for event in story.events {
            text += " " + event.question + " " + generator.pick([
                "Now \(story.name) has \(event.value) \(story.item).", "Now \(story.pronoun.lowercased()) has \(event.value).",
                "That makes \(event.value) \(story.item)."])
        }
        return text
    }

    /// A story told, then told again event by event with the amount after each: the second
    /// telling copies the first in order (what reading a question back needs).
    mutating func retelling() -> String {
        let story = generator.story()
        let first = "\(story.name) has \(story.start) \(story.item)."
        var text = ([first] + story.events.map(\.question)).joined(separator: " ") + " In order: " + first
        for event in story.events {
            text += " " + event.question.dropLast() + " and has \(event.value)."
        }
        return text
    }

    /// The same operations as a story's, as bare arithmetic, each step starting from the last result.
    mutating func chain() -> String {
        generator.story().events.map { $0.equation + "." }.joined(separator: " ")
    }
}
