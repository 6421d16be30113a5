/// Text on its way through the pipeline: UTF-8 bytes after normalization, and for each byte
/// the range of input bytes it came from, so every token can be traced back to the input.
///
/// Slices share storage (ArraySlice), so splitting into words copies nothing. Until a
/// normalizer changes the text, `origins` is nil and byte i came from input byte i.
struct NormalizedText {
    var bytes: ArraySlice<UInt8>
    /// Per byte: input start << 32 | input end. Inserted bytes (Prepend, Metaspace's prefix)
    /// get an empty range at the input position they were inserted before.
    var origins: ArraySlice<UInt64>?

    init(input: [UInt8]) {
        bytes = input[...]
        origins = nil
    }

    init(bytes: ArraySlice<UInt8>, origins: ArraySlice<UInt64>?) {
        self.bytes = bytes
        self.origins = origins
    }

    var isEmpty: Bool { bytes.isEmpty }
    var range: Range<Int> { bytes.indices }

    /// The part at `r` (indices of `bytes`).
    func slice(_ r: Range<Int>) -> NormalizedText {
        NormalizedText(bytes: bytes[r], origins: origins?[r])
    }

    /// The input bytes that the bytes at `r` came from.
    func originalRange(_ r: Range<Int>) -> Range<Int> {
        guard let origins else { return r }
        if r.isEmpty {
            let at = r.lowerBound < origins.endIndex ? Int(origins[r.lowerBound] >> 32)
                : origins.isEmpty ? 0 : Int(origins[origins.endIndex - 1] & 0xFFFF_FFFF)
            return at..<at
        }
        var lo = Int.max, hi = 0
        for i in r {
            lo = min(lo, Int(origins[i] >> 32))
            hi = max(hi, Int(origins[i] & 0xFFFF_FFFF))
        }
        return lo..<max(lo, hi)
    }

    /// Input range of byte `i` (as one packed value). Ranges are widened to whole input
    /// scalars only at the end (`Tokenizer.encode`), so identity text maps byte to byte.
    func origin(at i: Int) -> UInt64 {
        if let origins { return origins[i] }
        return UInt64(i) << 32 | UInt64(i + 1)
    }

    /// Where something inserted before byte `i` (or at the end) points to in the input.
    func insertionOrigin(before i: Int) -> UInt64 {
        let at: UInt64
        if i < bytes.endIndex { at = origin(at: i) >> 32 } else if bytes.isEmpty { at = 0 } else {
            at = origin(at: bytes.endIndex - 1) & 0xFFFF_FFFF
        }
        return at << 32 | at
    }

    /// Rebuilds the text: `body` appends output through the builder, reading this text.
    func rebuilt(_ body: (inout NormalizedBuilder) throws -> Void) rethrows -> NormalizedText {
        var b = NormalizedBuilder()
        b.bytes.reserveCapacity(bytes.count + 8)
        b.origins.reserveCapacity(bytes.count + 8)
        try body(&b)
        return NormalizedText(bytes: b.bytes[...], origins: b.origins[...])
    }

    /// Calls `body` with each scalar: byte range and value.
    func forEachScalar(_ body: (Range<Int>, UInt32) throws -> Void) rethrows {
        try bytes.withUnsafeBufferPointer { buf in
            var i = 0
            while i < buf.count {
                let (v, n) = UTF8Scan.scalar(buf, i)
                try body((bytes.startIndex + i)..<(bytes.startIndex + i + n), v)
                i += n
            }
        }
    }

    /// Replaces each range in `matches` (sorted, disjoint) by `content`.
    func replacing(_ matches: [Range<Int>], with content: [UInt8]) -> NormalizedText {
        if matches.isEmpty { return self }
        return rebuilt { b in
            var i = bytes.startIndex
            for m in matches {
                b.copy(from: self, i..<m.lowerBound)
                // As the reference: the new content points at the last replaced character.
                let o = m.isEmpty ? insertionOrigin(before: m.lowerBound) : origin(at: m.upperBound - 1)
                b.append(content, origin: o)
                i = m.upperBound
            }
            b.copy(from: self, i..<bytes.endIndex)
        }
    }

    /// Puts `content` in front; its bytes point at the first character, as the reference
    /// aligns a prepended string.
    func prepending(_ content: [UInt8]) -> NormalizedText {
        rebuilt { b in
            b.append(content, origin: isEmpty ? 0 : origin(at: bytes.startIndex))
            b.copy(from: self, bytes.indices)
        }
    }

    var string: String { String(decoding: bytes, as: UTF8.self) }
}

/// Accumulates rebuilt text with the origin of every byte.
struct NormalizedBuilder {
    var bytes: [UInt8] = []
    var origins: [UInt64] = []

    mutating func append(_ content: some Collection<UInt8>, origin: UInt64) {
        bytes.append(contentsOf: content)
        origins.append(contentsOf: repeatElement(origin, count: content.count))
    }

    mutating func append(scalar: Unicode.Scalar, origin: UInt64) {
        append(Array(String(scalar).utf8), origin: origin)
    }

    mutating func copy(from text: NormalizedText, _ r: Range<Int>) {
        guard !r.isEmpty else { return }
        bytes.append(contentsOf: text.bytes[r])
        for i in r { origins.append(text.origin(at: i)) }
    }
}
