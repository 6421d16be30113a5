import Artifacts
import Foundation
import Kernels

/// The frozen weights of a `mapped` model: the checkpoint's tensors, and what of the model's
/// reserved fp32 buffer each layer, the embedding rows and the LM head occupy.
final class FrozenWeights: @unchecked Sendable {
    struct Source {
        let file: SafetensorsFile
        let name: String
        let entry: ParameterEntry
    }

    /// Every tensor of the layout, by its offset in the buffer.
    private let sources: [Int: Source]
    /// Each layer's tensors, and their span of the buffer.
    private let layers: [(sources: [Source], elements: Range<Int>)]
    let tokenEmbedding: Source
    let head: Source
    /// The files, kept open (and mapped) while the model lives.
    private let files: [SafetensorsFile]

    /// Checks every tensor (present, its shape, finite values) without keeping a widened copy,
    /// then widens the small tensors outside the layers (norms, position tables) for good.
    init(layout: ParameterLayout, arch: ArchitectureLayout, locate: (ParameterEntry) throws -> (SafetensorsFile, String),
         into store: ParameterStore) throws {
        var sources: [Int: Source] = [:], files: [ObjectIdentifier: SafetensorsFile] = [:]
        for entry in layout.entries {
            let (file, name) = try locate(entry)
            let found = try file.info(name).shape
            guard found == entry.shape else {
                throw SafetensorsError.shapeMismatch(path: file.path, tensor: name, expected: entry.shape, found: found)
            }
            files[ObjectIdentifier(file)] = file
            sources[entry.offset] = Source(file: file, name: name, entry: entry)
        }
        self.sources = sources
        self.files = Array(files.values)
        tokenEmbedding = sources[arch.tokenEmbedding]!
        head = sources[arch.head] ?? sources[arch.tokenEmbedding]!
        layers = arch.blockPrefixes.map { prefix in
            let own = layout.entries.filter { $0.name.hasPrefix(prefix) }.map { sources[$0.offset]! }
            let start = own.map(\.entry.offset).min() ?? 0, end = own.map { $0.entry.offset + $0.entry.count }.max() ?? 0
            return (own, start..<end)
        }
        // Non-finite weights are refused at load, as the fp32 path does: checked a slice at a time.
        let slice = 1 << 20
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: slice)
        defer { scratch.deallocate() }
        for source in sources.values.sorted(by: { $0.entry.offset < $1.entry.offset }) {
            for start in stride(from: 0, to: source.entry.count, by: slice) {
                let n = min(slice, source.entry.count - start)
                try source.file.readFloats(source.name, elements: start..<(start + n), into: scratch)
                if let i = firstNonFinite(UnsafeBufferPointer(start: scratch, count: n)) {
                    throw ModelError.nonFiniteWeight(tensor: source.name, path: source.file.path, index: start + i, value: "\(scratch[i])")
                }
            }
        }
        let inLayers = Set(layers.flatMap { $0.sources.map(\.entry.offset) })
        for source in sources.values where !inLayers.contains(source.entry.offset) && source.entry.offset != tokenEmbedding.entry.offset
            && source.entry.offset != head.entry.offset {
            widen(source, elements: 0..<source.entry.count, store: store)
        }
    }

    /// Widens `elements` of a tensor into its place in the buffer, in parallel.
    func widen(_ source: Source, elements: Range<Int>, store: ParameterStore) {
        let base = SharedPointer(store.base + source.entry.offset)
        parallelChunks(elements.count, minimumPerWorker: 1 << 16) { range in
            // The shape and the values were checked at load, so reading cannot fail here.
            try! source.file.readFloats(source.name, elements: (elements.lowerBound + range.lowerBound)..<(elements.lowerBound + range.upperBound),
                                        into: base.p + elements.lowerBound + range.lowerBound)
        }
    }

    func materialize(layer l: Int, store: ParameterStore) {
        for source in layers[l].sources { widen(source, elements: 0..<source.entry.count, store: store) }
    }

    func release(layer l: Int, store: ParameterStore) { store.release(layers[l].elements) }

    /// The embedding rows of `ids`, for the gather; `releaseEmbedding` after it.
    func materialize(embeddingRows ids: Set<Int32>, store: ParameterStore) {
        let C = tokenEmbedding.entry.shape[1]
        for id in ids { widen(tokenEmbedding, elements: (Int(id) * C)..<(Int(id) * C + C), store: store) }
    }

    func releaseEmbedding(store: ParameterStore) {
        store.release(tokenEmbedding.entry.offset..<(tokenEmbedding.entry.offset + tokenEmbedding.entry.count))
    }

    /// Rows `rows` of the LM head's weight [vocab, hidden].
    func materialize(headRows rows: Range<Int>, store: ParameterStore) {
        let C = head.entry.shape[1]
        widen(head, elements: (rows.lowerBound * C)..<(rows.upperBound * C), store: store)
    }

    func release(headRows rows: Range<Int>, store: ParameterStore) {
        let C = head.entry.shape[1]
        store.release((head.entry.offset + rows.lowerBound * C)..<(head.entry.offset + rows.upperBound * C))
    }
}
