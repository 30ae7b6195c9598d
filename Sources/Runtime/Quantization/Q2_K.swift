/// Q2_K: 2-bit super-blocks of 256 weights in 16 sub-blocks of 16 (matches ggml-common.h `block_q2_K`).
///
/// Layout of one 84-byte block, little-endian:
///
///     offset 0    u8  scales[16]  sub-block s: scale scales[s] & 0x0F, min scales[s] >> 4
///     offset 16   u8  qs[64]      2-bit quants: weight e (h = e / 128, j = (e % 128) / 32, l = e % 32)
///                                 is (qs[32h + l] >> 2j) & 3
///     offset 80   f16 d           super-block scale of the sub-block scales
///     offset 82   f16 dmin        super-block scale of the sub-block mins
///
///     weight e = (d * scale_s) * q_e - dmin * min_s,   s = e / 16
///
/// Dot products pair it with Q8_K activations (see `Q8_K` in Q4_K.swift).
public enum Q2_K {
    /// Weights per block.
    public static let blockSize = 256
    /// Bytes per block.
    public static let blockBytes = 84
}
