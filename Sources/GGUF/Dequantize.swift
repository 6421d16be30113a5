/// ggml's block formats to Float, one function per format. Each does the reference's float32
/// arithmetic in the reference's order (scale times scale first, then times the quant, then the
/// offset), so the values equal gguf-py's `dequantize` bit for bit. `src` holds whole blocks
/// (GGUFFile checked the byte count) and `out` one Float per element.
enum Dequantize {
    static func floats(_ type: GGMLType, from src: UnsafeRawBufferPointer, into out: UnsafeMutableBufferPointer<Float>) {
        guard let s = src.baseAddress, let o = out.baseAddress else { return }
        let blocks = src.count / type.block.bytes
        switch type {
        case .f32: for i in 0..<out.count { o[i] = Float(bitPattern: u32(s, 4 * i)) }
        case .f16: for i in 0..<out.count { o[i] = half(s, 2 * i) }
        case .bf16: for i in 0..<out.count { o[i] = Float(bitPattern: UInt32(u16(s, 2 * i)) << 16) }
        case .q8_0: for b in 0..<blocks { q8_0(s + 34 * b, o + 32 * b) }
        case .q4_0: for b in 0..<blocks { q4_0(s + 18 * b, o + 32 * b) }
        case .q4_1: for b in 0..<blocks { q4_1(s + 20 * b, o + 32 * b) }
        case .q4_K: for b in 0..<blocks { q4_K(s + 144 * b, o + 256 * b) }
        case .q5_K: for b in 0..<blocks { q5_K(s + 176 * b, o + 256 * b) }
        case .q6_K: for b in 0..<blocks { q6_K(s + 210 * b, o + 256 * b) }
        default: preconditionFailure("\(type.name) is not in GGMLType.dequantizable")
        }
    }

    /// Q8_0, 34 bytes per 32: scale d (f16), 32 int8 quants; x = q * d.
    static func q8_0(_ b: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>) {
        let d = half(b, 0)
        for j in 0..<32 { out[j] = Float(b.load(fromByteOffset: 2 + j, as: Int8.self)) * d }
    }

    /// Q4_0, 18 bytes per 32: d (f16), 16 bytes of nibbles (low: elements 0-15, high: 16-31);
    /// x = d * (q - 8).
    static func q4_0(_ b: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>) {
        let d = half(b, 0)
        for j in 0..<16 {
            let q = b.load(fromByteOffset: 2 + j, as: UInt8.self)
            out[j] = d * Float(Int(q & 0x0F) - 8)
            out[j + 16] = d * Float(Int(q >> 4) - 8)
        }
    }

    /// Q4_1, 20 bytes per 32: d and min m (f16), nibbles as Q4_0; x = d * q + m.
    static func q4_1(_ b: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>) {
        let d = half(b, 0), m = half(b, 2)
        for j in 0..<16 {
            let q = b.load(fromByteOffset: 4 + j, as: UInt8.self)
            out[j] = d * Float(q & 0x0F) + m
            out[j + 16] = d * Float(q >> 4) + m
        }
    }

    /// The 6-bit scale and min of sub-block j of a Q4_K/Q5_K super-block, packed in 12 bytes:
    /// j < 4 in the low 6 bits of bytes j and j+4; j >= 4 in the nibbles of byte j+4 with the
    /// top two bits of bytes j-4 and j.
    @inline(__always)
    static func scaleMin(_ scales: UnsafeRawPointer, _ j: Int) -> (scale: Float, min: Float) {
        func byte(_ i: Int) -> UInt8 { scales.load(fromByteOffset: i, as: UInt8.self) }
        if j < 4 { return (Float(byte(j) & 63), Float(byte(j + 4) & 63)) }
        return (Float((byte(j + 4) & 0x0F) | ((byte(j - 4) >> 6) << 4)), Float((byte(j + 4) >> 4) | ((byte(j) >> 6) << 4)))
    }

    /// Q4_K, 144 bytes per 256: d, dmin (f16), 12 bytes of scales and mins, 128 bytes of nibbles
    /// (32 bytes hold sub-blocks 2i in their low and 2i+1 in their high nibbles);
    /// x = (d * scale) * q - dmin * min.
    static func q4_K(_ b: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>) {
        let d = half(b, 0), dmin = half(b, 2)
        for sub in 0..<8 {
            let (scale, min) = scaleMin(b + 4, sub)
            let d1 = d * scale, m1 = dmin * min
            let qs = b + 16 + 32 * (sub / 2), shift = UInt8(4 * (sub % 2))
            for l in 0..<32 { out[32 * sub + l] = d1 * Float((qs.load(fromByteOffset: l, as: UInt8.self) >> shift) & 0x0F) - m1 }
        }
    }

    /// Q5_K, 176 bytes per 256: as Q4_K with 32 bytes of high bits before the nibbles (bit s of
    /// byte l is the fifth bit of element l of sub-block s).
    static func q5_K(_ b: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>) {
        let d = half(b, 0), dmin = half(b, 2)
        let qh = b + 16, qs = b + 48
        for sub in 0..<8 {
            let (scale, min) = scaleMin(b + 4, sub)
            let d1 = d * scale, m1 = dmin * min
            let low = qs + 32 * (sub / 2), shift = UInt8(4 * (sub % 2))
            for l in 0..<32 {
                let q = (low.load(fromByteOffset: l, as: UInt8.self) >> shift) & 0x0F
                let high = (qh.load(fromByteOffset: l, as: UInt8.self) >> UInt8(sub)) & 1
                out[32 * sub + l] = d1 * Float(q | high << 4) - m1
            }
        }
    }

    /// Q6_K, 210 bytes per 256: 128 bytes of low nibbles, 64 of high 2-bit pairs, 16 int8 scales
    /// (one per 16 elements), d (f16). In each half of 128: element r takes the nibble
    /// (r / 64) of low byte r % 64 and the pair (r / 32) of high byte r % 32; x = (d * scale) * (q - 32).
    static func q6_K(_ b: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>) {
        let d = half(b, 208)
        for h in 0..<2 {
            let ql = b + 64 * h, qh = b + 128 + 32 * h
            for r in 0..<128 {
                let e = 128 * h + r
                let low = (ql.load(fromByteOffset: r % 64, as: UInt8.self) >> UInt8(4 * (r / 64))) & 0x0F
                let high = (qh.load(fromByteOffset: r % 32, as: UInt8.self) >> UInt8(2 * (r / 32))) & 3
                let scale = Float(b.load(fromByteOffset: 192 + e / 16, as: Int8.self))
                out[e] = (d * scale) * Float(Int(low | high << 4) - 32)
            }
        }
    }

    @inline(__always) static func u16(_ p: UnsafeRawPointer, _ offset: Int) -> UInt16 {
        UInt16(littleEndian: p.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }

    @inline(__always) static func u32(_ p: UnsafeRawPointer, _ offset: Int) -> UInt32 {
        UInt32(littleEndian: p.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    @inline(__always) static func half(_ p: UnsafeRawPointer, _ offset: Int) -> Float {
        Float(Float16(bitPattern: u16(p, offset)))
    }
}
