import Foundation
import Randomness

/// The kinds of injected noise, each meant to lack one XTF attribute (docs/results/mixed-benchmark.md).
public enum NoiseKind: String, Codable, CaseIterable, Sendable {
    /// Stock phrases a base model has seen everywhere and predicts: knowledge novelty (KN).
    case boilerplate
    /// Sentences about something other than the task: task relevance (TR).
    case filler
    /// Correct remarks about numbers that no later step uses: reasoning importance (RI).
    case aside
    /// A computation on the running amount that no later step uses (low RI), written like a step.
    case deadEnd = "dead-end"
    /// The same on a number near the running amount, not the amount itself.
    case nearMiss = "near-miss"
    /// Off-topic narration carrying a number of its own (low TR).
    case distractor
    /// An arithmetic fact the base model already knows (high PCP: low KN), just before the answer line.
    case fact
    /// A wrong equation on numbers of its own, written like a step and used by nothing later
    /// (low RI): it harms by what the model learns from it, not by the context it leaves.
    case wrongSum = "wrong-sum"
    /// The amount so far restated under the answer marker ("#### 12") between steps: it says
    /// nothing new (low KN) and no step needs it (low RI). Read, it repeats the running amount
    /// and misleads nothing; written, it is the answer a grader takes (the first "####").
    case earlyAnswer = "early-answer"
    /// A markdown heading under the answer marker before a step ("#### Step 2:"): layout, not
    /// reasoning or content (low RI, low TR). Harmless to read, a wrong answer when written.
    case heading
}

/// A family of injected noise: which kinds, how often, and where. `mixed` is the original
/// benchmark's (three kinds after any sentence, rate 0.5): the model rarely writes them
/// itself, so they do little harm; it is the control. The others are made frequent enough at
/// their slot that a model trained on them writes them, and each can mislead the computation
/// that follows (a wrong running amount, a stray number, a wrong number before "####").
public enum NoiseFamily: String, Codable, CaseIterable, Sendable {
    case mixed
    case deadEnd = "dead-end"
    case nearMiss = "near-miss"
    case distractor
    case lateFact = "late-fact"
    case wrongSum = "wrong-sum"
    case earlyAnswer = "early-answer"
    case headings

    public var kinds: [NoiseKind] {
        switch self {
        case .mixed: return [.boilerplate, .filler, .aside]
        case .deadEnd: return [.deadEnd]
        case .nearMiss: return [.nearMiss]
        case .distractor: return [.distractor]
        case .lateFact: return [.fact]
        case .wrongSum: return [.wrongSum]
        case .earlyAnswer: return [.earlyAnswer]
        case .headings: return [.heading]
        }
    }

    /// The probability of noise at each of the family's slots, unless set.
    public var defaultRate: Double {
        switch self {
        case .mixed, .earlyAnswer, .headings: return 0.5
        default: return 0.8
        }
    }
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

    /// The same problem with its noise spans cut out of the answer: what the CLEAN arm trains on.
    public var withoutNoise: Problem {
        var bytes = Array(answer.utf8)
        for span in noise.sorted(by: { $0.start > $1.start }) { bytes.removeSubrange(span.start..<span.end) }
        return Problem(id: id, question: question, answer: String(decoding: bytes, as: UTF8.self), noise: [], result: result)
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
    public var family: NoiseFamily
    /// 1, or 2: the same families in other surface forms (wording, openings, positions), for
    /// checking on data that a method's choices were not fitted to.
    public var surface: Int
    var random: SplitMix64

    public init(seed: UInt64, noiseRate: Double = 0.5, kinds: [NoiseKind] = NoiseFamily.mixed.kinds, steps: ClosedRange<Int> = 2...2) {
        random = SplitMix64(seed: seed)
        self.noiseRate = noiseRate; self.kinds = kinds; self.steps = steps
        family = .mixed; surface = 1
    }

    /// A generator of one family's noise at `noiseRate` (the family's default when nil).
    public init(seed: UInt64, family: NoiseFamily, surface: Int = 1, noiseRate: Double? = nil, steps: ClosedRange<Int> = 2...2) {
        self.init(seed: seed, noiseRate: noiseRate ?? family.defaultRate, kinds: family.kinds, steps: steps)
        self.family = family; self.surface = surface
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
        if family != .mixed { return familyProblem(index: index, story: story, question: question, sentences: sentences) }

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

    /// A problem of one of the harmful families: noise at each slot with probability
    /// `noiseRate`, its text made from the story so far.
    mutating func familyProblem(index: Int, story: Story, question: String, sentences: [String]) -> Problem {
        var answer = "", noise: [NoiseSpan] = []
        func add(_ text: String, kind: NoiseKind?) {
            let start = answer.utf8.count
            answer += (answer.isEmpty ? "" : " ") + text
            if let kind { noise.append(NoiseSpan(start: start, end: answer.utf8.count, kind: kind)) }
        }
        func maybe() -> Bool { Double.random(in: 0..<1, using: &random) < noiseRate }
        // The amount after each sentence: the start, then each event's result.
        let amounts = [story.start] + story.events.map(\.value)
        for (i, sentence) in sentences.enumerated() {
            switch (family, surface) {
            case (.deadEnd, 1):
                add(sentence, kind: nil)
                if i > 0, maybe() { add(deadEnd(from: amounts[i], item: story.item), kind: .deadEnd) }
            case (.deadEnd, _):
                // Before a step, on the amount the step starts from.
                if i > 0, maybe() { add(deadEnd(from: amounts[i - 1], item: story.item), kind: .deadEnd) }
                add(sentence, kind: nil)
            case (.nearMiss, 1):
                add(sentence, kind: nil)
                if i > 0, maybe() { add(deadEnd(from: near(amounts[i]), item: story.item), kind: .nearMiss) }
            case (.nearMiss, _):
                if i > 0, maybe() { add(deadEnd(from: near(amounts[i - 1]), item: story.item), kind: .nearMiss) }
                add(sentence, kind: nil)
            case (.distractor, 1):
                add(sentence, kind: nil)
                if maybe() { add(distractor(), kind: .distractor) }
            case (.distractor, _):
                if i > 0, maybe() { add(distractor(), kind: .distractor) }
                add(sentence, kind: nil)
            case (.wrongSum, 1):
                add(sentence, kind: nil)
                if maybe() { add(wrongSum(), kind: .wrongSum) }
            case (.wrongSum, _):
                if i > 0, maybe() { add(wrongSum(), kind: .wrongSum) }
                add(sentence, kind: nil)
            case (.earlyAnswer, 1):
                add(sentence, kind: nil)
                if i < sentences.count - 1, maybe() { add("Answer so far: #### \(amounts[i]).", kind: .earlyAnswer) }
            case (.earlyAnswer, _):
                // After the steps only (not the start), in other words.
                add(sentence, kind: nil)
                if i > 0, i < sentences.count - 1, maybe() {
                    add(pick(["The total so far is #### \(amounts[i]).", "Subtotal: #### \(amounts[i]) \(story.item)."]), kind: .earlyAnswer)
                }
            case (.headings, 1):
                if i > 0, maybe() { add("#### Step \(i):", kind: .heading) }
                add(sentence, kind: nil)
            case (.headings, _):
                // A smaller heading (five marks hold the marker too), without a number.
                if i > 0, maybe() { add(pick(["##### Next:", "##### Now:", "##### Working:"]), kind: .heading) }
                add(sentence, kind: nil)
            default:
                add(sentence, kind: nil)
            }
        }
        if family == .lateFact, maybe() { add(fact(), kind: .fact) }
        answer += "\n#### \(story.result)"
        return Problem(id: "gt-\(index)", question: question, answer: answer, noise: noise, result: story.result)
    }

    /// A computation on `amount` that nothing later uses, in the form of a step's equation.
    mutating func deadEnd(from amount: Int, item: String) -> String {
        let b = number(1...9)
        let (op, w) = amount > b && number(0...1) == 0 ? ("-", amount - b) : ("+", amount + b)
        if surface == 1 { return "Also, \(amount) \(op) \(b) = \(w)." }
        return pick(["We could check \(amount) \(op) \(b) = \(w) \(item) too.", "Another way: \(amount) \(op) \(b) = \(w)."])
    }

    /// A number 1 to 5 away from `amount` (never it), at least 2.
    mutating func near(_ amount: Int) -> Int {
        let offset = number(1...5)
        return amount - offset >= 2 && number(0...1) == 0 ? amount - offset : amount + offset
    }

    /// A sentence about other people's things, with a number of its own.
    mutating func distractor() -> String {
        let name = pick(Self.names).0, other = pick(Self.items), n = number(2...60)
        if surface == 1 { return "Meanwhile, \(name) has \(n) \(other)." }
        return pick(["Last week \(name) counted \(n) \(other) at school.", "In another town, \(n) \(other) were sold by \(name)."])
    }

    /// An equation in the steps' ranges whose result is off by one (surface 1: sums one too
    /// high; surface 2: differences one too low), on numbers the story does not hold.
    mutating func wrongSum() -> String {
        let a = number(2...40), b = number(1...10)
        if surface == 1 { return "Also, \(a) + \(b) = \(a + b + 1)." }
        let big = a + b
        return pick(["Check: \(big) - \(b) = \(a - 1).", "For example, \(big) - \(b) = \(a - 1) too."])
    }

    /// A sum every pretrained model has seen many times.
    mutating func fact() -> String {
        let a = pick([1, 2, 3, 4, 5, 10, 20]), b = surface == 1 ? a : pick([1, 2, 5, 10])
        if surface == 1 { return "Remember that \(a) + \(b) = \(a + b)." }
        return pick(["As we know, \(a) plus \(b) is \(a + b).", "Recall: \(a) + \(b) makes \(a + b)."])
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
        case .deadEnd, .nearMiss: return deadEnd(from: number(2...40), item: pick(Self.items))
        case .distractor: return distractor()
        case .fact: return fact()
        case .wrongSum: return wrongSum()
        // Outside its family (`--kinds`) an early answer has no story to restate: any amount.
        case .earlyAnswer: return "Answer so far: #### \(number(2...40))."
        case .heading: return "#### Step \(number(1...3)):"
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
