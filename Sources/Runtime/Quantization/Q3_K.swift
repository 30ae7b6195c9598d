/// Q3_K: 3-bit symmetric super-blocks of 256 weights in 16 sub-blocks of 16 (matches ggml-common.h
/// `block_q3_K`).
///
/// Layout of one 110-byte block, little-endian:
///
///     offset 0    u8  hmask[32]   high bits: weight e uses bit e / 32 of hmask[e % 32]
///     offset 32   u8  qs[64]      low 2 bits, placed as in Q2_K
///     offset 96   u8  scales[12]  16 six-bit scales: low 4 bits of scale s in scales[s] (s < 8) or
///                                 scales[s - 8] >> 4; high 2 bits at bit 2 * (s / 4) of scales[8 + s % 4]
///     offset 108  f16 d           super-block scale
///
///     weight e = (d * (scale_s - 32)) * (low2_e - (high bit set ? 0 : 4)),   s = e / 16
///
/// Dot products pair it with Q8_K activations (see `Q8_K` in Q4_K.swift).
public enum Q3_K {
    /// Weights per block.
    public static let blockSize = 256
    /// Bytes per block.
    public static let blockBytes = 110
}
