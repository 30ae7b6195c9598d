/// Q5_K: 5-bit asymmetric super-blocks of 256 weights in 8 sub-blocks of 32 (matches ggml-common.h
/// `block_q5_K`). The main format of Q5_K_M files.
///
/// Layout of one 176-byte block, little-endian:
///
///     offset 0    f16 d           super-block scale of the sub-block scales
///     offset 2    f16 dmin        super-block scale of the sub-block mins
///     offset 4    u8  scales[12]  8 six-bit scales and mins, packed as in Q4_K
///     offset 16   u8  qh[32]      fifth bits: weight e uses bit e / 32 of qh[e % 32]
///     offset 48   u8  qs[128]     low 4 bits, placed as in Q4_K
///
///     weight e = (d * scale_s) * q_e - dmin * min_s,   q_e = nibble | fifth bit << 4,   s = e / 32
///
/// Dot products pair it with `Q8_K` activations.
public enum Q5_K {
    /// Weights per block.
    public static let blockSize = 256
    /// Bytes per block.
    public static let blockBytes = 176
}
