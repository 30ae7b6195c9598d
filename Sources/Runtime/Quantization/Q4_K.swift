/// Q4_K: 4-bit asymmetric super-blocks of 256 weights in 8 sub-blocks of 32 (matches ggml-common.h
/// `block_q4_K`). The main format of Q4_K_M files.
///
/// Layout of one 144-byte block, little-endian:
///
///     offset 0    f16 d           super-block scale of the sub-block scales
///     offset 2    f16 dmin        super-block scale of the sub-block mins
///     offset 4    u8  scales[12]  8 six-bit scales and 8 six-bit mins (ggml-quants.c get_scale_min_k4):
///                                 s < 4:  scale = scales[s] & 63,   min = scales[s + 4] & 63
///                                 s >= 4: scale = (scales[s + 4] & 15) | (scales[s - 4] >> 6) << 4
///                                         min   = (scales[s + 4] >> 4) | (scales[s] >> 6) << 4
///     offset 16   u8  qs[128]     nibbles: sub-blocks 2p and 2p + 1 share qs[32p ..< 32p + 32],
///                                 the even one in the low nibbles, the odd one in the high nibbles
///
///     weight e = (d * scale_s) * q_e - dmin * min_s,   s = e / 32
///
/// Dot products pair it with `Q8_K` activations.
public enum Q4_K {
    /// Weights per block.
    public static let blockSize = 256
    /// Bytes per block.
    public static let blockBytes = 144
}

/// Q8_K: the activation format of the K-quants, blocks of 256 values (matches ggml-common.h
/// `block_q8_K` and ggml-quants.c quantize_row_q8_K_ref).
///
/// Layout of one 292-byte block, little-endian:
///
///     offset 0    f32 d           scale, 1 / iscale with iscale = -127 / (value of largest magnitude)
///     offset 4    i8  qs[256]     min(127, round_half_even(iscale * x))
///     offset 260  i16 bsums[16]   sums of qs in groups of 16 (the K-quant mins multiply these)
///
/// An all-zero block is all zero bytes (ggml leaves bsums unset there).
public enum Q8_K {
    /// Values per block.
    public static let blockSize = 256
    /// Bytes per block.
    public static let blockBytes = 292
}
