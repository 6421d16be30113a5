import Artifacts
import Data
import Scoring

/// The task a dataset is about: picks TR's default domain words.
public enum Task: String, Codable, Sendable, CaseIterable {
    case math, code, medicine

    /// The default domain words (docs/METHOD.md says where they differ from the official code's).
    public var defaultDomainWords: [String] {
        switch self {
        case .math:
            return ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "+", "-", "*", "/", "=", "maths"]
        case .code:
            return ["def", "return", "if", "else", "for", "while", "in", "import", "class", "print", "len", "range"]
        case .medicine:
            return ["gene", "protein", "cell", "patient", "disease", "treatment", "study", "clinical", "trial",
                    "risk", "dose", "therapy", "cancer", "blood", "tumor", "infection", "diagnosis", "symptom",
                    "drug", "surgery"]
        }
    }

    /// The official code's lists (EonHao/XTF `XTF_script.py`, `main`: GSM8K, HumanEval,
    /// PubMedQA), for `--domain-word-list official`.
    public var officialDomainWords: [String] {
        switch self {
        case .math: return ["1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "+", "-", "*", "/", "=", "maths"]
        case .code: return ["def", "return", "if", "else", "for", "while", "import", "from", "class", "try"]
        case .medicine:
            return ["gene", "protein", "cell", "study", "research", "data", "result", "method", "analysis", "expression",
                    "treatment", "disease", "patient", "clinical", "trial", "therapy", "diagnosis", "symptom", "risk", "factor",
                    "medicine", "health", "biomarker", "mutation", "pathway", "drug", "effect", "outcome", "sample", "control",
                    "group", "placebo", "dose", "response", "mechanism", "inflammation", "immune", "system", "cancer", "tumor",
                    "infection", "bacteria", "virus", "antibody", "vaccine", "genome", "sequencing", "epidemiology", "prevalence",
                    "incidence", "mortality", "survival", "biological", "pathology", "biochemistry", "pharmacology",
                    "neuroscience", "cardiology", "oncology", "radiology", "surgery", "psychiatry", "dermatology"]
        }
    }

    public func domainWords(_ list: DomainWordList) -> [String] { list == .official ? officialDomainWords : defaultDomainWords }
}

/// Which built-in list of TR domain words a task uses when none are given.
public enum DomainWordList: String, Codable, Sendable, CaseIterable {
    /// xtf's own lists (docs/METHOD.md, section 6, row 3).
    case xtf
    /// The official code's.
    case official
}

/// How a TR domain word is turned into tokens.
public enum DomainWordForm: String, Codable, Sendable, CaseIterable {
    /// As a word inside running text, after a space (" 10" in a byte-level BPE, "▁10" in a
    /// SentencePiece vocabulary): the form the response's own words take.
    case inText = "in-text"
    /// The word alone as the whole text ("10"). In a byte-level BPE this is a different token
    /// from the " 10" that responses contain.
    case bare
}

/// What a token's TR is the cosine to.
public enum TRDomain: String, Codable, Sendable, CaseIterable {
    /// The mean state of the domain words (the paper). With many numbers among the words, the
    /// mean leans towards them, and the operators fall far from it.
    case mean
    /// The nearest domain word: the largest cosine to any one of them.
    case nearest
}

/// Everything that decides the bytes of a scoring run's score files. Saved in the run
/// directory; `--resume` refuses a run directory whose settings differ.
public struct ScoreSettings: Codable, Equatable, Sendable {
    public var model: String
    public var tokenizer: String
    public var data: DatasetSpec
    public var template: PromptTemplate
    public var task: Task
    public var domainWords: [String]
    /// nil in settings saved before the form was a setting: those runs used the bare form.
    public var domainWordForm: DomainWordForm?
    /// nil in settings saved before this was a setting: the mean.
    public var trDomain: TRDomain?
    public var riVariant: RIVariant
    public var uniformRelative: Bool
    /// Also scores every response without its prompt, for KN's prompt gain (nil: off; runs
    /// saved before the option lack it).
    public var promptFreePCP: Bool?
    /// nil: 64, or fewer for a small file (`Dataset.chunks`).
    public var recordsPerChunk: Int?
    /// Sequences per forward pass, and the padded tokens a batch may hold.
    public var batchSize: Int
    public var batchTokens: Int
    /// Longest sequence scored (at most the model's context); longer responses are truncated.
    public var maxLength: Int
    public var onBadRecord: BadRecordPolicy
    /// Where the base model's weights live (nil: fp32, as runs before the option did).
    public var weights: WeightStorage?

    public init(model: String, tokenizer: String, data: DatasetSpec, template: PromptTemplate = .auto,
                task: Task, domainWords: [String]? = nil, domainWordForm: DomainWordForm = .inText, trDomain: TRDomain = .mean, riVariant: RIVariant = .lastLayer,
                uniformRelative: Bool = false, promptFreePCP: Bool = false, recordsPerChunk: Int? = nil, batchSize: Int = 8,
                batchTokens: Int = 4096, maxLength: Int = 1024, onBadRecord: BadRecordPolicy = .fail) {
        self.model = model; self.tokenizer = tokenizer; self.data = data; self.template = template
        self.task = task; self.domainWords = domainWords ?? task.defaultDomainWords
        self.domainWordForm = domainWordForm
        self.trDomain = trDomain
        self.riVariant = riVariant; self.uniformRelative = uniformRelative
        self.promptFreePCP = promptFreePCP ? true : nil  // off is written as nothing: settings files stay as they were
        self.recordsPerChunk = recordsPerChunk; self.batchSize = batchSize; self.batchTokens = batchTokens
        self.maxLength = maxLength; self.onBadRecord = onBadRecord
    }
}
