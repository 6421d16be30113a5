import Artifacts

/// The index of the first NaN or infinity in `values`, or nil when every value is finite.
/// One pass at memory speed: each block's largest magnitude bit pattern is found with an
/// integer max (which vectorises), and only a block holding a non-finite value is searched.
public func firstNonFinite(_ values: UnsafeBufferPointer<Float>) -> Int? {
    let block = 4096
    var start = 0
    while start < values.count {
        let end = min(values.count, start + block)
        var largest: UInt32 = 0
        for i in start..<end { largest = max(largest, values[i].bitPattern & 0x7FFF_FFFF) }
        // All exponent bits set: an infinity (mantissa 0) or a NaN.
        if largest >= 0x7F80_0000 { return (start..<end).first { !values[$0].isFinite } }
        start = end
    }
    return nil
}

extension SafetensorsFile {
    /// Reads a floating tensor as `readFloats` does and refuses one holding a NaN or an
    /// infinity: such a weight turns every output it touches into NaN, so a checkpoint saved
    /// from a diverged run (or a corrupt file) is stopped here, naming file, tensor and element.
    public func readFiniteFloats(_ name: String, expectedShape: [Int], into destination: UnsafeMutableBufferPointer<Float>) throws {
        try readFiniteFloats(name, expectedShape: expectedShape, elements: 0..<expectedShape.reduce(1, *), into: destination)
    }

    /// The same for `elements` of the tensor (in its flat order) into `destination`, which holds
    /// exactly that many: one rank's slice of a tensor that every rank reads a part of. A bad
    /// value is named by its index in the whole tensor.
    public func readFiniteFloats(_ name: String, expectedShape: [Int], elements: Range<Int>,
                                 into destination: UnsafeMutableBufferPointer<Float>) throws {
        let found = try info(name).shape
        guard found == expectedShape else {
            throw SafetensorsError.shapeMismatch(path: path, tensor: name, expected: expectedShape, found: found)
        }
        guard destination.count == elements.count else {
            throw SafetensorsError.invalidTensor(path: path, tensor: name, detail: "read \(elements.count) elements into \(destination.count)")
        }
        guard !elements.isEmpty else { return }
        try readFloats(name, elements: elements, into: destination.baseAddress!)
        if let i = firstNonFinite(UnsafeBufferPointer(destination)) {
            throw ModelError.nonFiniteWeight(tensor: name, path: path, index: elements.lowerBound + i, value: "\(destination[i])")
        }
    }
}
