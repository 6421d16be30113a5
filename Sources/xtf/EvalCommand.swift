import ArgumentParser
import Artifacts
import Data
import Evaluation
import Foundation
import Model
import Pipeline
import Tokenizer

extension EvalTask: ExpressibleByArgument {}

/// `xtf eval`: task metrics of a checkpoint, the work sharded over the ranks.
struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Evaluate a checkpoint: GSM8K exact match, PubMedQA accuracy, HumanEval pass@k, perplexity.",
        discussion: """
            GSM8K compares the number after "####" (else the last number) with the reference; \
            PubMedQA the yes/no/maybe after "Final answer:"; HumanEval runs each completion with \
            the problem's tests in python3 (no network when `unshare --net` is allowed) with a \
            timeout. Items are sharded over the ranks; rank 0 prints the table and writes --out.
            """)

    @Option(help: "Checkpoint directory (config.json, model.safetensors).") var model: String
    @Option(help: "LoRA checkpoint (adapter_config.json + adapter_model.safetensors, PEFT layout) applied on --model.")
    var adapter: String?
    @Option(help: "tokenizer.json or its directory (default: the model directory).") var tokenizer: String?
    @Option(help: "gsm8k | pubmedqa | humaneval | perplexity") var task: EvalTask
    @Option(help: "Data: GSM8K JSONL, ori_pqal.json, HumanEval.jsonl(.gz), or any dataset for perplexity.") var data: String
    @Option(help: "Dataset layout for perplexity.") var format: DatasetFormat = .gsm8k
    @Option(help: "Prompt template: plain | llama3 | qwen2 | mistral") var template: PromptTemplate = .plain
    @Option(help: "Longest generation.") var maxNewTokens = 256
    @Option(help: "HumanEval: generations per problem.") var samples = 1
    @Option(parsing: .upToNextOption, help: "HumanEval: the k of pass@k.") var k: [Int] = [1]
    @Option(help: "Sampling temperature (0: greedy).") var temperature = 0.0
    @Option(help: "Seed for sampling.") var seed: UInt64 = 0
    @Option(help: "HumanEval: seconds a program may run.") var timeout = 10.0
    @Option(help: "Evaluate only the first N items.") var limit: Int?
    @Option(help: "Prompts generated together.") var batchSize = 8
    @Option(help: "Write the result as JSON here.") var out: String?
    @Option(help: "GSM8K, PubMedQA: write every prompt, generation and grade here (JSONL, in data order).")
    var generations: String?
    @OptionGroup var global: GlobalOptions

    func run() throws {
        if generations != nil, ![.gsm8k, .pubmedqa].contains(task) {
            throw ValidationError("--generations: only gsm8k and pubmedqa are graded on generated answers")
        }
        let context = try ClusterContext(global, label: "xtf.eval")
        var settings = EvalSettings(task: task, data: data)
        settings.format = format; settings.template = template; settings.maxNewTokens = maxNewTokens
        settings.samples = samples; settings.k = k; settings.temperature = temperature; settings.seed = seed
        settings.timeoutSeconds = timeout; settings.limit = limit; settings.batchSize = batchSize
        // Every rank loads the same files; a bad one stops them all together, the cause printed once.
        let (tok, transformer) = try context.world.allSucceed {
            let tok = try Tokenizer.load(path: tokenizer ?? model)
            // Before any weight is read: every id the tokenizer makes needs a row of the embedding.
            try VocabularyFit.check(tokenizer: TokenizerEncoder(tokenizer: tok), at: tokenizer ?? model, template: template,
                                    model: try ModelConfig(directory: URL(fileURLWithPath: model)), at: model)
            let transformer = try Transformer.load(directory: URL(fileURLWithPath: model))
            if let adapter { try transformer.loadLoRA(directory: URL(fileURLWithPath: adapter)) }
            return (tok, transformer)
        }
        let evaluator = Evaluator(model: transformer, tokenizer: tok, world: context.world, settings: settings)
        let result = try evaluator.run()
        guard context.world.isRoot else { return }
        if let generations {
            try AtomicFile.writeJSONLines(evaluator.generations, to: generations)
        }
        var rows: [(String, String)] = [("task", task.rawValue), ("items", String(result.items))]
        if let a = result.accuracy { rows.append(("accuracy", String(format: "%.4f (%d correct)", a, result.correct ?? 0))) }
        for (name, value) in (result.passAtK ?? [:]).sorted(by: { $0.key < $1.key }) { rows.append((name, String(format: "%.4f", value))) }
        if let p = result.perplexity { rows.append(("perplexity", String(format: "%.4f over %d tokens", p, result.tokens ?? 0))) }
        if let s = result.sandbox { rows.append(("sandbox", s)) }
        for (name, value) in rows { print(name.padding(toLength: 12, withPad: " ", startingAt: 0) + value) }
        if let out { try AtomicFile.writeJSON(result, to: out) }
    }
}
