import SparrowRuntime

/// How a pipeline keeps its linear and convolution weights in memory (`sparrow imagine --weights`).
/// Compute is always fp32; this only decides what stays resident and is widened per chunk.
public enum WeightPrecision: String, Sendable, CaseIterable {
    /// The file's precision: F32 as fp32, F16 and BF16 as fp16 (exact for F16).
    case stored
    case float32, float16
    /// UNet and text encoder quantized at load, symmetric int8 with one scale per output channel
    /// (about a quarter of fp32, half of fp16); the VAE keeps the file's precision.
    case int8

    /// The storage `ComponentWeights.storage` gets for `component` (nil: the file's precision).
    func storage(for component: Component) -> WeightStorage? {
        switch self {
        case .stored: return nil
        case .float32: return .float32
        case .float16: return .float16
        case .int8: return component == .autoencoder ? nil : .int8
        }
    }

    enum Component { case textEncoder, unet, autoencoder }
}

extension ComponentWeights {
    /// These weights with `precision` applied for `component`.
    func kept(as precision: WeightPrecision, _ component: WeightPrecision.Component) -> ComponentWeights {
        storage = precision.storage(for: component)
        return self
    }
}
