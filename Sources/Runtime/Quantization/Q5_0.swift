/// Q5_0: 5-bit symmetric blocks of 32 weights (matches ggml-common.h `block_q5_0`).
///
/// Layout of one 22-byte block, little-endian:
///
///     offset 0   f16 d        scale
///     offset 2   u8  qh[4]    fifth bits: bit j of the u32 qh belongs to weight j
///     offset 6   u8  qs[16]   low 4 bits: weight j (j < 16) uses qs[j] & 0x0F, weight j + 16 uses qs[j] >> 4
///
///     weight j = (q_j - 16) * d,   q_j = nibble | (bit j of qh) << 4   (0 … 31)
///
/// Dot products pair it with Q8_0 activations (as llama.cpp does). llama.cpp's quantizer falls back
/// to Q5_0 for Q4_K tensors whose rows are not a multiple of 256 (all K = 640 matrices of Gemma-3
/// 270M Q4_K_M), so this is a hot format of real K-quant files.
public enum Q5_0 {
    /// Weights per block.
    public static let blockSize = 32
    /// Bytes per block.
    public static let blockBytes = 22
}
