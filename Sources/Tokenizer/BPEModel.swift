import HeapModule
import Synchronization

/// GPT-2's reversible byte <-> character mapping: printable bytes stand for themselves, the
/// others for the characters from U+0100 on, in byte order.
enum ByteLevelAlphabet {
    static let byteToScalar: [Unicode.Scalar] = {
        var table = [Unicode.Scalar](repeating: " ", count: 256)
        var next: UInt32 = 256
        for b in 0..<256 {
            if (33...126).contains(b) || (161...172).contains(b) || (174...255).contains(b) {
                table[b] = Unicode.Scalar(UInt32(b))!
            } else {
                table[b] = Unicode.Scalar(next)!
                next += 1
            }
        }
        return table
    }()

    static let scalarToByte: [UInt32: UInt8] = {
        var map: [UInt32: UInt8] = [:]
        for (b, s) in byteToScalar.enumerated() { map[s.value] = UInt8(b) }
        return map
    }()

    /// The raw bytes a byte-level token stands for, or nil if it has other characters.
    static func bytes(of token: String) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(token.utf8.count)
        for s in token.unicodeScalars {
            guard let b = scalarToByte[s.value] else { return nil }
            out.append(b)
        }
        return out
    }

    static func string(of bytes: some Sequence<UInt8>) -> String {
        var s = String.UnicodeScalarView()
        for b in bytes { s.append(byteToScalar[Int(b)]) }
        return String(s)
    }
}

/// A cache key for short words: up to 15 bytes packed in two integers (no allocation).
struct ShortWordKey: Hashable {
    let lo: UInt64
    let hi: UInt64

    init?(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard bytes.count <= 15 else { return nil }
        var lo: UInt64 = 0, hi = UInt64(bytes.count) << 56
        for (i, b) in bytes.enumerated() {
            if i < 8 { lo |= UInt64(b) << (8 * i) } else { hi |= UInt64(b) << (8 * (i - 8)) }
        }
        self.lo = lo
        self.hi = hi
    }
}

/// The BPE model of tokenizer.json (or of GPT-2's encoder.json + vocab.bpe).
///
/// Works on the UTF-8 bytes of a pre-token. For byte-level tokenizers the vocabulary is
/// translated once from GPT-2's byte characters to raw bytes, so no text is ever mapped
/// to those characters while encoding. Merges are a dictionary from a pair of ids packed in
/// 64 bits to rank and merged id; results are cached per word.
final class BPEModel: Sendable {
    /// Keyed by id, not an array: ids may be sparse, and an array as long as the largest id
    /// (any value below 2^32 in a tokenizer.json) could need gigabytes.
    let idToToken: [UInt32: String]
    let tokenToID: [String: UInt32]
    let byteLevel: Bool
    private let lookup: [[UInt8]: UInt32]  // token in model bytes (raw bytes when byte-level) -> id
    private let byteSymbol: [UInt32]  // byte-level: id of each single byte (UInt32.max: none)
    private let merges: [UInt64: UInt64]  // (a << 32 | b) -> rank << 32 | merged id
    private let unkID: UInt32?
    private let byteFallback: Bool
    private let fuseUnk: Bool
    private let ignoreMerges: Bool
    private let prefix: String?
    private let suffix: String?
    private let shortCache = Mutex<[ShortWordKey: [UInt64]]>([:])
    private let longCache = Mutex<[[UInt8]: [UInt64]]>([:])
    private static let cacheLimit = 1 << 19

    struct Options {
        var unkToken: String? = nil
        var byteFallback = false
        var fuseUnk = false
        var ignoreMerges = false
        var continuingSubwordPrefix: String? = nil
        var endOfWordSuffix: String? = nil
    }

    /// `merges` holds pairs of token strings; `field` names where they came from, for errors.
    init(vocab: [String: UInt32], merges: [(String, String)], options: Options, byteLevel: Bool,
         field: String) throws {
        tokenToID = vocab
        // Two tokens with one id: keep the smaller string, the same choice on every rank and run.
        idToToken = Dictionary(vocab.map { ($1, $0) }, uniquingKeysWith: { min($0, $1) })
        self.byteLevel = byteLevel
        byteFallback = options.byteFallback
        fuseUnk = options.fuseUnk
        ignoreMerges = options.ignoreMerges
        prefix = options.continuingSubwordPrefix
        suffix = options.endOfWordSuffix
        if byteLevel && (prefix != nil || suffix != nil) {
            throw TokenizerError.unsupported(field: "\(field).continuing_subword_prefix",
                                             what: "subword prefix or suffix with a ByteLevel pre-tokenizer")
        }
        if let unk = options.unkToken {
            guard let id = vocab[unk] else {
                throw TokenizerError.invalidField(field: "\(field).unk_token", reason: "\(unk.debugDescription) is not in the vocabulary")
            }
            unkID = id
        } else {
            unkID = nil
        }

        var lookup: [[UInt8]: UInt32] = [:]
        lookup.reserveCapacity(vocab.count)
        for (token, id) in vocab {
            if byteLevel {
                if let raw = ByteLevelAlphabet.bytes(of: token) { lookup[raw] = id }
            } else {
                lookup[Array(token.utf8)] = id
            }
        }
        self.lookup = lookup
        var byteSymbol = [UInt32](repeating: .max, count: 256)
        if byteLevel { for b in 0..<256 { byteSymbol[b] = lookup[[UInt8(b)]] ?? .max } }
        self.byteSymbol = byteSymbol

        let prefixLength = prefix?.count ?? 0
        var table: [UInt64: UInt64] = [:]
        table.reserveCapacity(merges.count)
        for (rank, (a, b)) in merges.enumerated() {
            func id(_ token: String) throws -> UInt32 {
                guard let id = vocab[token] else {
                    throw TokenizerError.invalidField(field: "\(field).merges[\(rank)]",
                                                      reason: "token \(token.debugDescription) is not in the vocabulary")
                }
                return id
            }
            let merged = a + String(b.dropFirst(prefixLength))
            let key = UInt64(try id(a)) << 32 | UInt64(try id(b))
            table[key] = UInt64(rank) << 32 | UInt64(try id(merged))
        }
        self.merges = table
    }

    var vocabularySize: Int { tokenToID.count }

    /// Tokens of one pre-token: each as id << 32 | number of its bytes.
    func tokenize(_ word: ArraySlice<UInt8>) -> [UInt64] {
        word.withUnsafeBufferPointer { buf in
            if let key = ShortWordKey(buf) {
                if let hit = shortCache.withLock({ $0[key] }) { return hit }
                let result = compute(buf)
                shortCache.withLock { cache in
                    if cache.count >= Self.cacheLimit { cache.removeAll(keepingCapacity: true) }
                    cache[key] = result
                }
                return result
            }
            let key = Array(buf)
            if let hit = longCache.withLock({ $0[key] }) { return hit }
            let result = compute(buf)
            longCache.withLock { cache in
                if cache.count >= Self.cacheLimit / 8 { cache.removeAll(keepingCapacity: true) }
                cache[key] = result
            }
            return result
        }
    }

    private func compute(_ word: UnsafeBufferPointer<UInt8>) -> [UInt64] {
        if ignoreMerges, let id = lookup[Array(word)] { return [UInt64(id) << 32 | UInt64(word.count)] }
        var ids: [UInt32] = []
        var lengths: [UInt32] = []
        ids.reserveCapacity(word.count)
        lengths.reserveCapacity(word.count)
        initialSymbols(word, &ids, &lengths)
        merge(&ids, &lengths)
        return zip(ids, lengths).map { UInt64($0) << 32 | UInt64($1) }
    }

    /// One symbol per byte (byte-level) or per character, with unknown-token and byte
    /// fallback handling as the reference's `BPE::merge_word`.
    private func initialSymbols(_ word: UnsafeBufferPointer<UInt8>, _ ids: inout [UInt32], _ lengths: inout [UInt32]) {
        var pendingUnk: (id: UInt32, length: UInt32)? = nil
        var i = 0
        while i < word.count {
            let n = byteLevel ? 1 : UTF8Scan.length(word[i])
            let id: UInt32?
            if byteLevel {
                let s = byteSymbol[Int(word[i])]
                id = s == .max ? nil : s
            } else {
                var key = Array(word[i..<(i + n)])
                if i > 0, let prefix { key = Array(prefix.utf8) + key }
                if i + n == word.count, let suffix { key += Array(suffix.utf8) }
                id = lookup[key]
                if id == nil && byteFallback {
                    let bytes = key.map { b -> UInt32? in
                        let hex = String(b, radix: 16, uppercase: true)
                        return tokenToID["<0x\(hex.count == 1 ? "0" + hex : hex)>"]
                    }
                    if bytes.allSatisfy({ $0 != nil }) {
                        for b in bytes { ids.append(b!); lengths.append(1) }
                        i += n
                        continue  // as the reference: a pending unknown token stays pending
                    }
                }
            }
            if let id {
                if let unk = pendingUnk { ids.append(unk.id); lengths.append(unk.length); pendingUnk = nil }
                ids.append(id)
                lengths.append(UInt32(n))
            } else if let unkID {
                if let unk = pendingUnk {
                    if fuseUnk {
                        pendingUnk = (unk.id, unk.length + UInt32(n))
                    } else {
                        ids.append(unk.id); lengths.append(unk.length)
                        pendingUnk = (unkID, UInt32(n))
                    }
                } else {
                    pendingUnk = (unkID, UInt32(n))
                }
            }
            i += n
        }
        if let unk = pendingUnk { ids.append(unk.id); lengths.append(unk.length) }
    }

    /// Repeatedly merges the leftmost pair of lowest rank. `ranks[i]` is the merge of symbols
    /// i and i+1 (rank << 32 | merged id, or .max); only neighbours change after a merge.
    private func merge(_ ids: inout [UInt32], _ lengths: inout [UInt32]) {
        guard ids.count > 1 else { return }
        if ids.count > 64 { return mergeLong(&ids, &lengths) }
        var ranks = [UInt64](repeating: .max, count: ids.count - 1)
        for i in 0..<(ids.count - 1) { ranks[i] = merges[UInt64(ids[i]) << 32 | UInt64(ids[i + 1])] ?? .max }
        while !ranks.isEmpty {
            var best = 0
            var bestRank = ranks[0]
            for i in 1..<ranks.count where ranks[i] >> 32 < bestRank >> 32 {
                best = i
                bestRank = ranks[i]
            }
            if bestRank == .max { break }
            ids[best] = UInt32(truncatingIfNeeded: bestRank)
            lengths[best] += lengths[best + 1]
            ids.remove(at: best + 1)
            lengths.remove(at: best + 1)
            ranks.remove(at: best)
            if best > 0 { ranks[best - 1] = merges[UInt64(ids[best - 1]) << 32 | UInt64(ids[best])] ?? .max }
            if best < ranks.count { ranks[best] = merges[UInt64(ids[best]) << 32 | UInt64(ids[best + 1])] ?? .max }
        }
    }

    /// The same merges for long words in O(n log n): symbols in a linked list, candidate
    /// pairs in a min-heap (stale entries are skipped). A candidate is rank << 32 | position,
    /// so UInt64's total order is rank, then leftmost position: the order `merge` picks in.
    private func mergeLong(_ ids: inout [UInt32], _ lengths: inout [UInt32]) {
        let n = ids.count
        var next = Array(1...n)  // n: none
        var prev = Array(-1..<(n - 1))
        var alive = [Bool](repeating: true, count: n)
        var heap = Heap<UInt64>()
        func push(_ i: Int) {
            guard next[i] < n, let m = merges[UInt64(ids[i]) << 32 | UInt64(ids[next[i]])] else { return }
            heap.insert((m >> 32) << 32 | UInt64(i))
        }
        for i in 0..<(n - 1) { push(i) }
        while let top = heap.popMin() {
            let i = Int(top & 0xFFFF_FFFF)
            guard alive[i], next[i] < n, let m = merges[UInt64(ids[i]) << 32 | UInt64(ids[next[i]])],
                  m >> 32 == top >> 32 else { continue }
            let j = next[i]
            ids[i] = UInt32(truncatingIfNeeded: m)
            lengths[i] += lengths[j]
            alive[j] = false
            next[i] = next[j]
            if next[j] < n { prev[next[j]] = i }
            if prev[i] >= 0 { push(prev[i]) }
            push(i)
        }
        var outIDs: [UInt32] = [], outLengths: [UInt32] = []
        var i = 0
        while i < n {
            outIDs.append(ids[i])
            outLengths.append(lengths[i])
            i = next[i]
        }
        ids = outIDs
        lengths = outLengths
    }
}
