import Artifacts

/// eval.json of `xtf eval`, and generations.jsonl beside it.

/// What `xtf eval` measures.
public enum EvalTask: String, Codable, Sendable, CaseIterable {
    case gsm8k, pubmedqa, humaneval, perplexity
}

/// One task's result; every count merged over the ranks.
public struct EvalResult: Codable, Sendable {
    public var task: EvalTask
    public var items: Int
    public var correct: Int?
    public var accuracy: Double?
    public var passAtK: [String: Double]?
    public var perplexity: Double?
    public var tokens: Int?
    /// How HumanEval programs were isolated: "unshare-net" (no network) or "none".
    public var sandbox: String?
    /// Records skipped under `--on-bad-record skip`, each "id: reason" (nil: none).
    public var skipped: [String]?
    /// `mapped` when the model ran from its mapped checkpoint (nil: fp32 weights).
    public var weights: WeightStorage?

    public init(task: EvalTask, items: Int, correct: Int? = nil, accuracy: Double? = nil, passAtK: [String: Double]? = nil,
                perplexity: Double? = nil, tokens: Int? = nil, sandbox: String? = nil) {
        self.task = task; self.items = items; self.correct = correct; self.accuracy = accuracy; self.passAtK = passAtK
        self.perplexity = perplexity; self.tokens = tokens; self.sandbox = sandbox
    }

    /// The number a comparison of models shows, and its name: accuracy, perplexity or the
    /// smallest k's pass@k.
    public var headline: (name: String, value: Double)? {
        if let accuracy { return ("accuracy", accuracy) }
        if let perplexity { return ("perplexity", perplexity) }
        if let first = (passAtK ?? [:]).sorted(by: { $0.key < $1.key }).first { return (first.key, first.value) }
        return nil
    }
}

/// What the model wrote for one item, and how it was graded (`xtf eval --generations`).
public struct Generation: Codable, Sendable {
    /// The item's position in the data (0-based).
    public var index: Int
    public var prompt: String
    public var output: String
    public var predicted: String?
    public var expected: String?
    public var correct: Bool

    public init(index: Int, prompt: String, output: String, predicted: String?, expected: String?, correct: Bool) {
        self.index = index; self.prompt = prompt; self.output = output; self.predicted = predicted
        self.expected = expected; self.correct = correct
    }
}
