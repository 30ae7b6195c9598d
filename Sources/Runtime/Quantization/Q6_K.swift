/// Q6_K: 6-bit symmetric super-blocks of 256 weights in 16 sub-blocks of 16 (matches ggml-common.h
/// `block_q6_K`). Q4_K_M / Q5_K_M files use it for half of the ffn_down matrices and the output.
///
/// Layout of one 210-byte block, little-endian:
///
///     offset 0    u8  ql[128]     low 4 bits: with h = e / 128, j = (e % 128) / 32, l = e % 32,
///                                 weight e uses ql[64h + 32 (j % 2) + l], low nibble for j < 2, high otherwise
///     offset 128  u8  qh[64]      high 2 bits: (qh[32h + l] >> 2j) & 3
///     offset 192  i8  scales[16]  signed 8-bit sub-block scales
///     offset 208  f16 d           super-block scale
///
///     weight e = (d * scale_s) * (q_e - 32),   q_e = low | high << 4   (0 … 63),   s = e / 16
///
/// Dot products pair it with `Q8_K` activations.
public enum Q6_K {
    /// Weights per block.
    public static let blockSize = 256
    /// Bytes per block.
    public static let blockBytes = 210
}
