/// Q4_1: 4-bit asymmetric blocks of 32 weights (matches ggml-common.h `block_q4_1`).
///
/// Layout of one 20-byte block, little-endian:
///
///     offset 0   f16 d        scale
///     offset 2   f16 m        minimum
///     offset 4   u8  qs[16]   weight j (j < 16) = d * (qs[j] & 0x0F) + m
///                             weight j + 16     = d * (qs[j] >> 4) + m
///
/// Dot products pair it with Q8_1 activations (Q8_0 plus s = d * sum(qs) as f16 at offset 2,
/// quants at offset 4), so that the m term costs one multiply per block.
public enum Q4_1 {
    /// Weights per block.
    public static let blockSize = 32
    /// Bytes per block.
    public static let blockBytes = 20
}

/// Quantizes `x` (a whole number of 32-value blocks) to Q4_1: per block d = (max - min) / 15 and
/// m = min, both stored as f16, quants min(15, trunc((x - min) / d + 0.5)) with the unrounded d
/// and min (matches llama.cpp ggml-quants.c quantize_row_q4_1_ref).
public func quantizeQ4_1(_ x: [Float]) -> [UInt8] {
    precondition(x.count % Q4_1.blockSize == 0, "Q4_1 rows are whole blocks of 32 values")
    var out = [UInt8](repeating: 0, count: x.count / Q4_1.blockSize * Q4_1.blockBytes)
    for b in 0..<(x.count / Q4_1.blockSize) {
        let values = Array(x[(b * 32)..<(b * 32 + 32)])
        var lo = Float.greatestFiniteMagnitude
        var hi = -Float.greatestFiniteMagnitude
        for v in values {
            if v < lo { lo = v }
            if v > hi { hi = v }
        }
        let d = (hi - lo) / 15
        let id: Float = d != 0 ? 1 / d : 0
        let o = b * Q4_1.blockBytes
        storeF16(d, into: &out, at: o)
        storeF16(lo, into: &out, at: o + 2)
        for j in 0..<16 {
            let q0 = nibble((values[j] - lo) * id + 0.5)
            let q1 = nibble((values[j + 16] - lo) * id + 0.5)
            out[o + 4 + j] = q0 | q1 << 4
        }
    }
    return out
}

/// Dequantizes Q4_1 blocks to floats.
public func dequantizeQ4_1(_ blocks: [UInt8]) -> [Float] {
    precondition(blocks.count % Q4_1.blockBytes == 0, "Q4_1 data is whole 20-byte blocks")
    var out = [Float](repeating: 0, count: blocks.count / Q4_1.blockBytes * 32)
    for (b, o) in stride(from: 0, to: blocks.count, by: Q4_1.blockBytes).enumerated() {
        let d = loadF16(blocks, at: o), m = loadF16(blocks, at: o + 2)
        for j in 0..<16 {
            out[b * 32 + j] = d * Float(blocks[o + 4 + j] & 0x0F) + m
            out[b * 32 + j + 16] = d * Float(blocks[o + 4 + j] >> 4) + m
        }
    }
    return out
}
