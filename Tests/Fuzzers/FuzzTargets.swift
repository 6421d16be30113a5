import Artifacts
import ChatTemplate
import Data
import Foundation
import GGUF
import Model
import Tokenizer

/// What each fuzz target does with one input: anything may be refused with an error; a crash,
/// a hang or a leak is a bug. Built with libFuzzer by scripts/libfuzzer.sh; in ordinary builds
/// `xtf-fuzz TARGET FILE...` replays inputs (the regression corpus in Tests/Fuzzers/Corpus).
enum FuzzTargets {
    static let names = ["chat-template", "dataset", "config", "safetensors", "gguf", "tokenizer"]

    /// `bytes` as a temporary file for the readers that take a path.
    static func withFile(_ bytes: [UInt8], suffix: String, _ body: (String) -> Void) {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("xtf-fuzz-\(getpid())\(suffix)")
        guard (try? Data(bytes).write(to: url)) != nil else { return }
        defer { try? FileManager.default.removeItem(at: url) }
        body(url.path)
    }

    static func run(_ target: String, _ bytes: [UInt8]) {
        switch target {
        case "chat-template":
            // The input is a template; it is rendered on a conversation with tools.
            let source = String(decoding: bytes, as: UTF8.self)
            guard let template = try? ChatTemplate(source) else { return }
            let messages: [Value] = [
                .dict(["role": .string("system"), "content": .string("S")]),
                .dict(["role": .string("user"), "content": .string("Q")]),
                .dict(["role": .string("assistant"), "content": .string("A"),
                       "tool_calls": .list([.dict(["type": .string("function"), "function": .dict(["name": .string("f"), "arguments": .dict(["x": .int(1)])])])])]),
            ]
            _ = try? template.render(messages: messages, tools: [.dict(["name": .string("f")])], addGenerationPrompt: true,
                                     variables: ["bos_token": .string("<s>"), "eos_token": .string("</s>")])
        case "dataset":
            // The input is a data file, read in every format, whole and in chunks.
            let url = FileManager.default.temporaryDirectory.appendingPathComponent("xtf-fuzz-\(getpid()).jsonl")
            guard (try? Data(bytes).write(to: url)) != nil else { return }
            defer { try? FileManager.default.removeItem(at: url) }
            for format in DatasetFormat.allCases {
                guard let dataset = try? Dataset(DatasetSpec(path: url.path, format: format)) else { continue }
                _ = try? dataset.records(in: nil)
                for chunk in (try? dataset.chunks(recordsPerChunk: 2)) ?? [] { _ = try? dataset.records(in: chunk) }
            }
        case "config":
            _ = try? ModelConfig(huggingFaceJSON: Data(bytes))
        case "safetensors":
            withFile(bytes, suffix: ".safetensors") { path in
                guard let file = try? SafetensorsFile(path: path) else { return }
                for name in file.names {
                    _ = try? file.rawBytes(name)
                    _ = try? file.floats(name)
                }
            }
        case "gguf":
            withFile(bytes, suffix: ".gguf") { path in
                guard let file = try? GGUFFile(path: path) else { return }
                for tensor in file.tensors where GGMLType.dequantizable.contains(tensor.type) { _ = try? file.floats(tensor) }
                if let tokenizer = try? GGUFTokenizer(file: file) {
                    _ = try? tokenizer.tokenizerJSON()
                    _ = try? tokenizer.tokenizerConfig(contextLength: 64)
                }
            }
        case "tokenizer":
            guard let tokenizer = try? Tokenizer(json: Data(bytes), source: "fuzz") else { return }
            _ = tokenizer.encode("Ava has 12 apples. 😀 <|endoftext|> a  b\n")
        default:
            fatalError("no fuzz target \(target): \(names.joined(separator: ", "))")
        }
    }
}

#if FUZZING
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    FuzzTargets.run(ProcessInfo.processInfo.environment["XTF_FUZZ_TARGET"] ?? "", data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? [])
    return 0
}

@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                         _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt

/// SwiftPM names an executable's entry point after the target; libFuzzer's driver runs from it.
@_cdecl("xtf_fuzz_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var count = argc, arguments = argv
    return LLVMFuzzerRunDriver(&count, &arguments) { data, size in fuzzOne(data, size) }
}
#else
@main
struct Replay {
    static func main() {
        let arguments = CommandLine.arguments.dropFirst()
        guard let target = arguments.first, FuzzTargets.names.contains(target) else {
            FileHandle.standardError.write(Data("usage: xtf-fuzz \(FuzzTargets.names.joined(separator: "|")) FILE...\n".utf8))
            exit(2)
        }
        for path in arguments.dropFirst() {
            guard let data = FileManager.default.contents(atPath: path) else {
                FileHandle.standardError.write(Data("xtf-fuzz: cannot read \(path)\n".utf8))
                exit(1)
            }
            FuzzTargets.run(target, Array(data))
        }
        print("replayed \(arguments.count - 1) inputs of \(target)")
    }
}
#endif
