/// How a split treats the matched parts (tokenizer.json `behavior`).
enum SplitBehavior: String {
    case removed = "Removed", isolated = "Isolated", mergedWithPrevious = "MergedWithPrevious"
    case mergedWithNext = "MergedWithNext", contiguous = "Contiguous"

    static func parse(_ node: JSONNode) throws -> SplitBehavior {
        let s = try node.string()
        guard let b = SplitBehavior(rawValue: s) else {
            throw TokenizerError.unsupported(field: node.path, what: "split behavior \(s.debugDescription)")
        }
        return b
    }

    /// Splits `text` given the match ranges (sorted, disjoint); emits the non-empty pieces,
    /// as the reference's `NormalizedString::split` does.
    func split(_ text: NormalizedText, matches: [Range<Int>], invert: Bool = false, emit: (NormalizedText) -> Void) {
        // Every byte of the text, in order, as (range, is a match).
        var parts: [(Range<Int>, Bool)] = []
        parts.reserveCapacity(matches.count * 2 + 1)
        var i = text.range.lowerBound
        for m in matches {
            if i < m.lowerBound { parts.append((i..<m.lowerBound, invert)) }
            parts.append((m, !invert))
            i = m.upperBound
        }
        if i < text.range.upperBound { parts.append((i..<text.range.upperBound, invert)) }

        if self == .isolated {  // the common case (every regex pre-tokenizer): no merging
            for (r, _) in parts { emit(text.slice(r)) }
            return
        }
        var out: [(Range<Int>, Bool)] = []  // (range, remove)
        out.reserveCapacity(parts.count)
        switch self {
        case .removed:
            out = parts
        case .isolated:
            out = parts.map { ($0.0, false) }
        case .contiguous:
            var previous = false
            for (r, isMatch) in parts {
                if isMatch == previous, let last = out.last {
                    out[out.count - 1].0 = last.0.lowerBound..<r.upperBound
                } else {
                    out.append((r, false))
                }
                previous = isMatch
            }
        case .mergedWithPrevious:
            var previous = false
            for (r, isMatch) in parts {
                if isMatch && !previous, let last = out.last {
                    out[out.count - 1].0 = last.0.lowerBound..<r.upperBound
                } else {
                    out.append((r, false))
                }
                previous = isMatch
            }
        case .mergedWithNext:
            var previous = false
            for (r, isMatch) in parts.reversed() {
                if isMatch && !previous, let last = out.last {
                    out[out.count - 1].0 = r.lowerBound..<last.0.upperBound
                } else {
                    out.append((r, false))
                }
                previous = isMatch
            }
            out.reverse()
        }
        for (r, remove) in out where !remove && !r.isEmpty { emit(text.slice(r)) }
    }
}

/// When Metaspace puts its replacement character in front of a piece.
enum PrependScheme: String {
    case always, first, never
}

/// tokenizer.json `pre_tokenizer`: ByteLevel, Split, Metaspace, Digits, Punctuation,
/// Whitespace, WhitespaceSplit, Sequence. ByteLevel's byte-to-character mapping is not done
/// here: the BPE model works on raw bytes (see `BPEModel`).
indirect enum PreTokenizer {
    case byteLevel(addPrefixSpace: Bool, useRegex: Bool)
    case split(Pattern, SplitBehavior, invert: Bool)
    case metaspace(replacement: [UInt8], scheme: PrependScheme, split: Bool)
    case digits(individual: Bool)
    case punctuation(SplitBehavior)
    case whitespace
    case whitespaceSplit
    case sequence([PreTokenizer])

    static func parse(_ node: JSONNode) throws -> PreTokenizer? {
        if node.isNull { return nil }
        let type = try node.type()
        switch type {
        case "ByteLevel":
            return .byteLevel(addPrefixSpace: try node["add_prefix_space"].bool(default: true),
                              useRegex: try node["use_regex"].bool(default: true))
        case "Split":
            return .split(try Pattern.parse(node["pattern"]), try SplitBehavior.parse(node["behavior"]),
                          invert: try node["invert"].bool(default: false))
        case "Metaspace":
            let replacement = try node["replacement"].string()
            guard replacement.unicodeScalars.count == 1 else { throw node["replacement"].fail("expected one character") }
            var scheme = PrependScheme.always
            if let s = try node["prepend_scheme"].optionalString() {
                guard let p = PrependScheme(rawValue: s) else {
                    throw TokenizerError.unsupported(field: node["prepend_scheme"].path, what: "prepend_scheme \(s.debugDescription)")
                }
                scheme = p
            } else if node.has("add_prefix_space") {
                scheme = try node["add_prefix_space"].bool() ? .always : .never
            }
            return .metaspace(replacement: Array(replacement.utf8), scheme: scheme, split: try node["split"].bool(default: true))
        case "Digits":
            return .digits(individual: try node["individual_digits"].bool(default: false))
        case "Punctuation":
            return .punctuation(node.has("behavior") ? try SplitBehavior.parse(node["behavior"]) : .isolated)
        case "Whitespace":
            return .whitespace
        case "WhitespaceSplit":
            return .whitespaceSplit
        case "Sequence":
            let steps = try node["pretokenizers"].array()
            let parsed = try steps.compactMap { try parse($0) }
            // The model runs on raw bytes when ByteLevel is last; a ByteLevel earlier would hand
            // later steps its mapped characters, which this implementation does not produce.
            for (i, step) in parsed.enumerated() where i < parsed.count - 1 {
                if case .byteLevel = step {
                    throw TokenizerError.unsupported(field: steps[i].path, what: "ByteLevel before the last step of a Sequence")
                }
            }
            return .sequence(parsed)
        default:
            throw TokenizerError.unsupported(field: node["type"].path, what: "pre-tokenizer \(type.debugDescription)")
        }
    }

    /// The same splits with no-op steps left out: a ByteLevel step that neither adds a prefix
    /// space nor splits only maps bytes to characters, which the model does by itself.
    var simplified: PreTokenizer? {
        switch self {
        case .byteLevel(false, false): return nil
        case .sequence(let steps):
            let kept = steps.compactMap(\.simplified)
            return kept.isEmpty ? nil : kept.count == 1 ? kept[0] : .sequence(kept)
        default: return self
        }
    }

    /// True when the last step maps bytes to characters (the model then works on raw bytes).
    var isByteLevel: Bool {
        switch self {
        case .byteLevel: return true
        case .sequence(let steps): return steps.last?.isByteLevel ?? false
        default: return false
        }
    }

    func apply(_ pieces: [NormalizedText]) -> [NormalizedText] {
        var out: [NormalizedText] = []
        out.reserveCapacity(pieces.count * 4)
        for piece in pieces { apply(piece) { out.append($0) } }
        return out
    }

    func apply(_ text: NormalizedText, emit: (NormalizedText) -> Void) {
        switch self {
        case let .byteLevel(addPrefixSpace, useRegex):
            var t = text
            if addPrefixSpace && t.bytes.first != 0x20 { t = t.prepending([0x20]) }
            if useRegex {
                SplitBehavior.isolated.split(t, matches: Pattern.gpt2.matches(in: t.bytes), emit: emit)
            } else if !t.isEmpty {
                emit(t)
            }
        case let .split(pattern, behavior, invert):
            behavior.split(text, matches: pattern.matches(in: text.bytes), invert: invert, emit: emit)
        case let .metaspace(replacement, scheme, split):
            var t = text.replacing(Pattern.literal([0x20]).matches(in: text.bytes), with: replacement)
            let startsWithReplacement = t.bytes.starts(with: replacement)
            if !startsWithReplacement && (scheme == .always || (scheme == .first && text.originalRange(text.range).lowerBound == 0)) {
                t = t.prepending(replacement)
            }
            if split {
                SplitBehavior.mergedWithNext.split(t, matches: Pattern.literal(replacement).matches(in: t.bytes), emit: emit)
            } else if !t.isEmpty {
                emit(t)
            }
        case let .digits(individual):
            let matches = Self.scalarMatches(text) { $0.contains(.number) }
            (individual ? SplitBehavior.isolated : .contiguous).split(text, matches: matches, emit: emit)
        case let .punctuation(behavior):
            behavior.split(text, matches: Self.scalarMatches(text) { $0.contains(.punctuation) }, emit: emit)
        case .whitespace:
            // `\w+|[^\w\s]+`, keeping the matches and dropping the rest.
            var runs: [Range<Int>] = []
            var current: (start: Int, word: Bool)? = nil
            text.forEachScalar { r, v in
                let c = CharClass.of(v)
                let kind: Bool? = c.contains(.word) ? true : c.contains(.whitespace) ? nil : false
                if let cur = current, kind != cur.word {
                    runs.append(cur.start..<r.lowerBound)
                    current = nil
                }
                if current == nil, let kind { current = (r.lowerBound, kind) }
            }
            if let cur = current { runs.append(cur.start..<text.range.upperBound) }
            SplitBehavior.removed.split(text, matches: runs, invert: true, emit: emit)
        case .whitespaceSplit:
            SplitBehavior.removed.split(text, matches: Self.scalarMatches(text) { $0.contains(.whitespace) }, emit: emit)
        case .sequence(let steps):
            var pieces = [text]
            for step in steps { pieces = step.apply(pieces) }
            pieces.forEach(emit)
        }
    }

    /// Each scalar for which `predicate` holds, as its own match.
    private static func scalarMatches(_ text: NormalizedText, _ predicate: (CharClass) -> Bool) -> [Range<Int>] {
        var out: [Range<Int>] = []
        text.forEachScalar { r, v in if predicate(CharClass.of(v)) { out.append(r) } }
        return out
    }
}
