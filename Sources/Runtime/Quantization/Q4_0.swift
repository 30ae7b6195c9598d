/// Q4_0: 4-bit symmetric blocks of 32 weights (matches ggml-common.h `block_q4_0`).
///
/// Layout of one 18-byte block, little-endian:
///
///     offset 0   f16 d        scale
///     offset 2   u8  qs[16]   weight j (j < 16) = d * ((qs[j] & 0x0F) - 8)
///                             weight j + 16     = d * ((qs[j] >> 4) - 8)
///
/// Dot products pair it with `Q8_0` activations.
public enum Q4_0 {
    /// Weights per block.
    public static let blockSize = 32
    /// Bytes per block.
    public static let blockBytes = 18
}

/// Quantizes `x` (a whole number of 32-value blocks) to Q4_0: per block d = (the value of largest
/// magnitude, with its sign) / -8, quants min(15, trunc(x / d + 8.5)) with the unrounded d
/// (matches llama.cpp ggml-quants.c quantize_row_q4_0_ref).
public func quantizeQ4_0(_ x: [Float]) -> [UInt8] {
    precondition(x.count % Q4_0.blockSize == 0, "Q4_0 rows are whole blocks of 32 values")
    var out = [UInt8](repeating: 0, count: x.count / Q4_0.blockSize * Q4_0.blockBytes)
    for b in 0..<(x.count / Q4_0.blockSize) {
        let values = Array(x[(b * 32)..<(b * 32 + 32)])
        var amax: Float = 0
        var signedMax: Float = 0
        for v in values where amax < abs(v) {
            amax = abs(v)
            signedMax = v
        }
        let d = signedMax / -8
        let id: Float = d != 0 ? 1 / d : 0
        let o = b * Q4_0.blockBytes
        storeF16(d, into: &out, at: o)
        for j in 0..<16 {
            let lo = nibble(values[j] * id + 8.5)
            let hi = nibble(values[j + 16] * id + 8.5)
            out[o + 2 + j] = lo | hi << 4
        }
    }
    return out
}

/// Dequantizes Q4_0 blocks to floats.
public func dequantizeQ4_0(_ blocks: [UInt8]) -> [Float] {
    precondition(blocks.count % Q4_0.blockBytes == 0, "Q4_0 data is whole 18-byte blocks")
    var out = [Float](repeating: 0, count: blocks.count / Q4_0.blockBytes * 32)
    for (b, o) in stride(from: 0, to: blocks.count, by: Q4_0.blockBytes).enumerated() {
        let d = loadF16(blocks, at: o)
        for j in 0..<16 {
            out[b * 32 + j] = d * Float(Int(blocks[o + 2 + j] & 0x0F) - 8)
            out[b * 32 + j + 16] = d * Float(Int(blocks[o + 2 + j] >> 4) - 8)
        }
    }
    return out
}

/// ggml's `MIN(15, (int8_t)v)` for the non-negative v of the 4-bit quantizers (truncation toward
/// zero); clamped below too so that NaN or stray input cannot trap.
func nibble(_ v: Float) -> UInt8 {
    let t = v.rounded(.towardZero)
    guard t > 0 else { return 0 }
    return t >= 15 ? 15 : UInt8(t)
}
