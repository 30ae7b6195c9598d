/// Q5_1: 5-bit asymmetric blocks of 32 weights (matches ggml-common.h `block_q5_1`).
///
/// Layout of one 24-byte block, little-endian:
///
///     offset 0   f16 d        scale
///     offset 2   f16 m        minimum
///     offset 4   u8  qh[4]    fifth bits: bit j of the u32 qh belongs to weight j
///     offset 8   u8  qs[16]   low 4 bits, ordered as Q4_1
///
///     weight j = q_j * d + m,   q_j = nibble | (bit j of qh) << 4   (0 … 31)
///
/// Dot products pair it with Q8_1 activations, so the m term costs one multiply per block (as Q4_1).
/// llama.cpp's quantizer uses it for Q5_K tensors whose rows are not a multiple of 256.
public enum Q5_1 {
    /// Weights per block.
    public static let blockSize = 32
    /// Bytes per block.
    public static let blockBytes = 24
}
