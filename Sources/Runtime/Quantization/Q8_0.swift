import CSparrowKernels

/// Q8_0: 8-bit symmetric blocks of 32 values (matches ggml-common.h `block_q8_0`).
///
/// Layout of one 34-byte block, little-endian:
///
///     offset 0   f16 d        scale
///     offset 2   i8  qs[32]   quants; value j = d * qs[j]
///
/// Used for weights and, with `Q8_1`, as the activation format of integer dot products.
public enum Q8_0 {
    /// Values per block.
    public static let blockSize = 32
    /// Bytes per block.
    public static let blockBytes = 34
}

/// Quantizes `x` (a whole number of 32-value blocks) to Q8_0: per block d = amax / 127 stored as
/// f16, quants roundf(x / d) with the unrounded d (matches llama.cpp ggml-quants.c
/// quantize_row_q8_0_ref, and `sp_quantize_row_ref`).
public func quantizeQ8_0(_ x: [Float]) -> [UInt8] {
    precondition(x.count % Q8_0.blockSize == 0, "Q8_0 rows are whole blocks of 32 values")
    var out = [UInt8](repeating: 0, count: x.count / Q8_0.blockSize * Q8_0.blockBytes)
    for b in 0..<(x.count / Q8_0.blockSize) {
        let values = x[(b * 32)..<(b * 32 + 32)]
        let amax = values.reduce(Float(0)) { Swift.max($0, abs($1)) }
        let d = amax / 127
        let id: Float = d != 0 ? 1 / d : 0
        let o = b * Q8_0.blockBytes
        storeF16(d, into: &out, at: o)
        for (j, v) in values.enumerated() {
            let q = (v * id).rounded(.toNearestOrAwayFromZero)  // C roundf
            out[o + 2 + j] = UInt8(bitPattern: q.isNaN ? 0 : Int8(Swift.max(-128, Swift.min(127, q))))
        }
    }
    return out
}

/// Dequantizes Q8_0 blocks to floats (value j = d * qs[j]).
public func dequantizeQ8_0(_ blocks: [UInt8]) -> [Float] {
    precondition(blocks.count % Q8_0.blockBytes == 0, "Q8_0 data is whole 34-byte blocks")
    var out = [Float]()
    out.reserveCapacity(blocks.count / Q8_0.blockBytes * 32)
    for o in stride(from: 0, to: blocks.count, by: Q8_0.blockBytes) {
        let d = loadF16(blocks, at: o)
        for j in 0..<32 { out.append(d * Float(Int8(bitPattern: blocks[o + 2 + j]))) }
    }
    return out
}

/// Writes `value` rounded to IEEE binary16 (nearest, ties to even), little-endian.
func storeF16(_ value: Float, into bytes: inout [UInt8], at offset: Int) {
    let h = sp_f32_to_f16_1(value)
    bytes[offset] = UInt8(truncatingIfNeeded: h)
    bytes[offset + 1] = UInt8(truncatingIfNeeded: h >> 8)
}

/// Reads a little-endian IEEE binary16 value as Float.
func loadF16(_ bytes: [UInt8], at offset: Int) -> Float {
    sp_f16_to_f32_1(UInt16(bytes[offset]) | UInt16(bytes[offset + 1]) << 8)
}
