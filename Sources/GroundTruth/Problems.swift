import Foundation

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

/// SplitMix64: small, fast and the same on every platform, so a seed always gives the same data.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
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

    public init(seed: UInt64, noiseRate: Double = 0.5, kinds: [NoiseKind] = NoiseKind.allCases, steps: ClosedRange<Int> = 2...3) {
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

    enum Operation { case add(Int), subtract(Int, to: String), multiply(Int) }

    mutating func pick<T>(_ options: [T]) -> T { options[Int.random(in: 0..<options.count, using: &random)] }
    mutating func number(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &random) }

    /// The next problem; `index` only names it.
    public mutating func next(index: Int) -> Problem {
        let (name, pronoun) = pick(Self.names)
        let item = pick(Self.items)
        var value = number(3...30)
        var question = "\(name) has \(value) \(item)."
        var sentences = ["\(name) starts with \(value) \(item)."]
        for _ in 0..<number(steps) {
            let operation: Operation
            switch number(0...2) {
            case 0: operation = .add(number(2...20))
            case 1 where value >= 2: operation = .subtract(number(1...min(value - 1, 20)), to: pick(Self.names.map(\.0).filter { $0 != name }))
            default: operation = value <= 50 ? .multiply(number(2...3)) : .add(number(2...20))
            }
            switch operation {
            case .add(let b):
                question += " \(pronoun) \(pick(["buys", "finds", "gets"])) \(b) more \(item)."
                sentences.append("\(pronoun) gets \(b) more, so \(value) + \(b) = \(value + b).")
                value += b
            case .subtract(let b, let other):
                question += " \(pronoun) gives \(b) \(item) to \(other)."
                sentences.append("\(pronoun) gives away \(b), so \(value) - \(b) = \(value - b).")
                value -= b
            case .multiply(let k):
                let times = k == 2 ? "doubles" : "triples"
                question += " Then the number of \(item) \(pronoun.lowercased() == "she" ? "she" : "he") has \(times)."
                sentences.append("The number \(times), so \(value) * \(k) = \(value * k).")
                value *= k
            }
        }
        question += " How many \(item) does \(name) have now?"

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
/// fine-tuned on the problems (arithmetic facts, the people and things of the stories, the
/// stock phrases and everyday sentences the noise is made of), but not worked solutions.
public struct PretrainingCorpus {
    var generator: ProblemGenerator

    public init(seed: UInt64) { generator = ProblemGenerator(seed: seed ^ 0x5EED_C0DE) }

    /// One document of a few sentences.
    public mutating func next() -> String {
        var sentences: [String] = []
        for _ in 0..<generator.number(3...8) {
            switch generator.number(0...5) {
            case 0:
                let a = generator.number(1...60), b = generator.number(1...30)
                sentences.append(generator.pick(["\(a) + \(b) = \(a + b).", "\(a + b) - \(b) = \(a).", "\(a) * 2 = \(a * 2).",
                                                 "\(a) * 3 = \(a * 3).", "\(a) plus \(b) is \(a + b)."]))
            case 1:
                let (name, pronoun) = generator.pick(ProblemGenerator.names)
                let item = generator.pick(ProblemGenerator.items)
                sentences.append("\(name) has \(generator.number(2...40)) \(item). \(pronoun) likes \(item).")
            case 2: sentences.append(generator.noiseText(.boilerplate))
            case 3: sentences.append(generator.noiseText(.filler))
            case 4: sentences.append(generator.noiseText(.aside))
            default:
                let (name, pronoun) = generator.pick(ProblemGenerator.names)
                sentences.append("\(name) went to the shop. \(pronoun) \(generator.pick(["bought", "found", "sold"])) some \(generator.pick(ProblemGenerator.items)).")
            }
        }
        return sentences.joined(separator: " ")
    }
}
