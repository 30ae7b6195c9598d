/// IQ4_NL: 4-bit non-linear blocks of 32 weights (matches ggml-common.h `block_iq4_nl`).
///
/// Layout of one 18-byte block, little-endian:
///
///     offset 0   f16 d        scale
///     offset 2   u8  qs[16]   4-bit indices, ordered as Q4_0 (weight j < 16: low nibble of qs[j],
///                             weight j + 16: high nibble)
///
///     weight j = d * value[index_j],
///     value = [-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113]
///
/// Dot products pair it with Q8_0 activations. llama.cpp's quantizer uses it for Q2_K / Q3_K tensors
/// whose rows are not a multiple of 256.
public enum IQ4_NL {
    /// Weights per block.
    public static let blockSize = 32
    /// Bytes per block.
    public static let blockBytes = 18
    /// The 16 levels an index selects (matches ggml-common.h kvalues_iq4nl).
    public static let values: [Int8] = [-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113]
}
