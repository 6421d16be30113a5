import Foundation

/// Trains a byte-level BPE tokenizer with GPT-2's layout (its pre-tokenizer regex, byte
/// alphabet and decoder), for a small model trained from scratch: the embedded default's
/// tokenizer is made with it. Deterministic: the most frequent pair is merged, ties going to
/// the smallest pair of ids.
public enum BPETrainer {
    /// The tokenizer.json content: 256 byte tokens, then one token per merge up to
    /// `vocabularySize` minus the special tokens, then the special tokens.
    public static func train(_ texts: some Sequence<String>, vocabularySize: Int, specialTokens: [String] = ["<|endoftext|>"]) throws -> Data {
        let merges = vocabularySize - 256 - specialTokens.count
        guard merges >= 0 else { throw TokenizerError.unsupported(field: "vocabularySize", what: "fewer than 256 + special tokens") }

        // Distinct pre-tokens with their counts, as sequences of token ids (bytes first).
        var counts: [[UInt8]: Int] = [:]
        for text in texts {
            let bytes = Array(text.utf8)
            let ranges = bytes.withUnsafeBufferPointer { PretokenScanner.gpt2($0, base: 0) }
            for r in ranges { counts[Array(bytes[r]), default: 0] += 1 }
        }
        let distinct = counts.keys.sorted { $0.lexicographicallyPrecedes($1) }
        var words = distinct.map { $0.map(Int.init) }
        let weights = distinct.map { counts[$0]! }
        var tokens: [[UInt8]] = (0..<256).map { [UInt8($0)] }
        var mergeList: [(Int, Int)] = []

        for _ in 0..<merges {
            var pairs: [Int: Int] = [:]  // (a << 32 | b) -> count
            for (w, word) in words.enumerated() where word.count > 1 {
                for i in 0..<(word.count - 1) { pairs[word[i] << 32 | word[i + 1], default: 0] += weights[w] }
            }
            guard let best = pairs.max(by: { $0.value < $1.value || ($0.value == $1.value && $0.key > $1.key) }) else { break }
            let (a, b) = (best.key >> 32, best.key & 0xFFFF_FFFF)
            let id = tokens.count
            tokens.append(tokens[a] + tokens[b])
            mergeList.append((a, b))
            for w in words.indices where words[w].count > 1 {
                var merged: [Int] = [], i = 0
                let word = words[w]
                while i < word.count {
                    if i + 1 < word.count && word[i] == a && word[i + 1] == b { merged.append(id); i += 2 } else { merged.append(word[i]); i += 1 }
                }
                words[w] = merged
            }
        }

        let text = { (id: Int) in ByteLevelAlphabet.string(of: tokens[id]) }
        var vocab: [String: Int] = [:]
        for id in tokens.indices { vocab[text(id)] = id }
        let byteLevel: [String: Any] = ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true]
        let json: [String: Any] = [
            "version": "1.0", "truncation": NSNull(), "padding": NSNull(), "normalizer": NSNull(),
            "added_tokens": specialTokens.enumerated().map { i, content in
                ["id": tokens.count + i, "content": content, "single_word": false, "lstrip": false, "rstrip": false,
                 "normalized": false, "special": true] as [String: Any]
            },
            "pre_tokenizer": byteLevel, "post_processor": byteLevel, "decoder": byteLevel,
            "model": [
                "type": "BPE", "dropout": NSNull(), "unk_token": NSNull(), "continuing_subword_prefix": NSNull(),
                "end_of_word_suffix": NSNull(), "fuse_unk": false, "byte_fallback": false, "ignore_merges": false,
                "vocab": vocab, "merges": mergeList.map { [text($0.0), text($0.1)] },
            ] as [String: Any],
        ]
        return try JSONSerialization.data(withJSONObject: json, options: [.sortedKeys, .withoutEscapingSlashes])
    }
}
