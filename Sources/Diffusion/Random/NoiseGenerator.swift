/// A seeded source of standard-normal noise (mean 0, variance 1) for initial latents and the
/// stochastic schedulers. Successive calls continue one stream, so a pipeline that draws its initial
/// latents and then per-step noise reproduces a reference run that draws in the same order.
public protocol NoiseGenerator {
    /// The next `count` standard-normal floats of the stream.
    mutating func normal(count: Int) -> [Float]
}
