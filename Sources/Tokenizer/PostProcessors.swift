/// tokenizer.json `post_processor`: TemplateProcessing (BOS/EOS around a single sequence),
/// ByteLevel (offset trimming only), Sequence.
indirect enum PostProcessor {
    /// The single-sequence template: special tokens' ids, and nil where the sequence goes.
    case template([[UInt32]?])
    case byteLevel(trimOffsets: Bool, addPrefixSpace: Bool)
    case sequence([PostProcessor])

    static func parse(_ node: JSONNode) throws -> PostProcessor? {
        if node.isNull { return nil }
        let type = try node.type()
        switch type {
        case "TemplateProcessing":
            let specials = try node["special_tokens"].object()
            var pieces: [[UInt32]?] = []
            for item in try node["single"].array() {
                if item.has("Sequence") {
                    let id = try item["Sequence"]["id"].string()
                    guard id == "A" else { throw item["Sequence"]["id"].fail("a single-sequence template can only hold sequence A") }
                    pieces.append(nil)
                } else if item.has("SpecialToken") {
                    let name = try item["SpecialToken"]["id"].string()
                    guard let special = specials[name] else {
                        throw item["SpecialToken"]["id"].fail("\(name.debugDescription) is not in special_tokens")
                    }
                    pieces.append(try special["ids"].array().map { node in
                        guard let id = UInt32(exactly: try node.int()) else { throw node.fail("id out of range") }
                        return id
                    })
                } else {
                    throw item.fail("expected {\"Sequence\": ...} or {\"SpecialToken\": ...}")
                }
            }
            return .template(pieces)
        case "ByteLevel":
            return .byteLevel(trimOffsets: try node["trim_offsets"].bool(default: true),
                              addPrefixSpace: try node["add_prefix_space"].bool(default: true))
        case "Sequence":
            return .sequence(try node["processors"].array().compactMap { try parse($0) })
        default:
            throw TokenizerError.unsupported(field: node["type"].path, what: "post-processor \(type.debugDescription)")
        }
    }

    func process(_ e: inout Encoding, input: [UInt8], addSpecialTokens: Bool) {
        switch self {
        case .template(let pieces):
            guard addSpecialTokens else { return }
            var out = Encoding()
            for piece in pieces {
                if let ids = piece {
                    for id in ids { out.append(Int(id), 0..<0, special: true) }
                } else {
                    out.ids += e.ids
                    out.offsets += e.offsets
                    out.specialTokensMask += e.specialTokensMask
                }
            }
            e = out
        case let .byteLevel(trimOffsets, addPrefixSpace):
            // Offsets without the spaces a byte-level token carries in front or behind, except
            // a first token's single space that add_prefix_space would have added.
            guard trimOffsets else { return }
            for (k, r) in e.offsets.enumerated() {
                var leading = 0, trailing = 0
                while r.lowerBound + leading < r.upperBound && input[r.lowerBound + leading] == 0x20 { leading += 1 }
                while trailing < r.count && input[r.upperBound - 1 - trailing] == 0x20 { trailing += 1 }
                if leading == 1 && addPrefixSpace && (k == 0 || r.lowerBound == 0) { leading = 0 }
                let lo = min(r.lowerBound + leading, r.upperBound)
                let hi = trailing > 0 && r.upperBound >= trailing ? max(r.upperBound - trailing, lo) : r.upperBound
                e.offsets[k] = lo..<hi
            }
        case .sequence(let steps):
            for step in steps { step.process(&e, input: input, addSpecialTokens: addSpecialTokens) }
        }
    }
}
