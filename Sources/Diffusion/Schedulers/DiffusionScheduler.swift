/// The outcome of one denoising step.
public struct SchedulerStepResult: Sendable, Equatable {
    /// The sample to feed the next step (x_{t−1}); after the last step, the result.
    public var previousSample: [Float]
    /// The scheduler's estimate of the clean sample: diffusers' `pred_original_sample`, or LCM's `denoised`.
    public var denoised: [Float]

    public init(previousSample: [Float], denoised: [Float]) {
        self.previousSample = previousSample
        self.denoised = denoised
    }
}

/// A diffusion sampler: turns model outputs into a denoising trajectory, as the diffusers scheduler of the same
/// name does.
///
/// Schedulers are element-wise over flat float arrays, so they do not care about the caller's layout (NCHW or
/// NHWC). Usage, as diffusers' pipelines do:
/// ```swift
/// var scheduler = makeScheduler(.eulerAncestral, configuration: config)
/// try scheduler.setTimesteps(4)
/// var x = noise.normal(count: n).map { $0 * scheduler.initialNoiseSigma }
/// for i in scheduler.timesteps.indices {
///     let eps = unet(scheduler.scaleModelInput(x, stepIndex: i), scheduler.modelTimesteps[i])
///     x = scheduler.step(modelOutput: eps, stepIndex: i, sample: x, noise: &noise).previousSample
/// }
/// ```
/// `stepIndex` always indexes `timesteps` (after any img2img truncation). Calling the per-step functions before
/// `setTimesteps`, with an index out of range or with arrays of different sizes is a programming error (precondition).
public protocol DiffusionScheduler {
    /// The configuration the scheduler was made with.
    var configuration: SchedulerConfiguration { get }
    /// Training timesteps in diffusers' order (descending), valid after `setTimesteps`. Euler's `linspace`
    /// timesteps can be fractional; this list rounds them — feed the UNet `modelTimesteps`.
    var timesteps: [Int] { get }
    /// The timestep value each step gives the denoising model (equal to `timesteps` except for Euler's
    /// fractional `linspace` values).
    var modelTimesteps: [Float] { get }
    /// The standard deviation of the initial noise for text-to-image (multiply unit normal noise by it).
    var initialNoiseSigma: Float { get }
    /// Lays out `steps` inference timesteps (1 ≤ steps ≤ numTrainTimesteps).
    mutating func setTimesteps(_ steps: Int) throws
    /// img2img: lays out `steps` timesteps, then drops the first ones as diffusers' `get_timesteps` does, so
    /// `timesteps.count == min(Int(steps·strength), steps)`; strength in (0, 1]. Start from
    /// `addNoise(original:noise:timestepIndex: 0)`. (LCM instead takes `steps` timesteps from a shortened
    /// distillation schedule, as its scheduler's own `strength` argument does.)
    mutating func setTimesteps(_ steps: Int, strength: Float) throws
    /// The model input for step `stepIndex` (Euler: sample / √(σ² + 1); the others: the sample itself).
    func scaleModelInput(_ sample: [Float], stepIndex: Int) -> [Float]
    /// One denoising step from `sample` at `timesteps[stepIndex]`. Stochastic schedulers draw
    /// `sample.count` values from `noise` (Euler ancestral on every step, LCM on every step but the last).
    mutating func step(modelOutput: [Float], stepIndex: Int, sample: [Float], noise: inout any NoiseGenerator) -> SchedulerStepResult
    /// The forward process: `original` noised to the level of `timesteps[timestepIndex]`.
    func addNoise(original: [Float], noise: [Float], timestepIndex: Int) -> [Float]
}

extension DiffusionScheduler {
    public var modelTimesteps: [Float] { timesteps.map { Float($0) } }
}

/// The schedulers Sparrow implements; raw values are the CLI names.
public enum SchedulerKind: String, CaseIterable, Sendable {
    /// Latent Consistency Model multistep sampling (diffusers `LCMScheduler`).
    case lcm
    /// Euler ancestral sampling, stochastic (diffusers `EulerAncestralDiscreteScheduler`).
    case eulerAncestral = "euler-a"
    /// Euler sampling, deterministic (diffusers `EulerDiscreteScheduler`).
    case euler
    /// DDIM with η = 0, deterministic (diffusers `DDIMScheduler`).
    case ddim
}

/// A scheduler of `kind` for `configuration`. Unsupported configuration options are reported by `setTimesteps`.
public func makeScheduler(_ kind: SchedulerKind, configuration: SchedulerConfiguration) -> any DiffusionScheduler {
    switch kind {
    case .lcm: return LCMScheduler(configuration: configuration)
    case .eulerAncestral: return EulerAncestralScheduler(configuration: configuration)
    case .euler: return EulerScheduler(configuration: configuration)
    case .ddim: return DDIMScheduler(configuration: configuration)
    }
}

extension SchedulerConfiguration {
    /// Validates and refuses the diffusers options no Sparrow scheduler implements.
    func checkSupported(by kind: SchedulerKind) throws {
        try validate()
        let name = kind.rawValue
        if thresholding { throw SchedulerError.unsupported(key: "thresholding", value: "true", scheduler: name) }
        if rescaleBetasZeroSNR { throw SchedulerError.unsupported(key: "rescale_betas_zero_snr", value: "true", scheduler: name) }
    }
}

/// Checks the per-step arguments every scheduler shares.
func checkStepArguments(_ stepIndex: Int, count: Int, _ arrays: [Float]...) {
    precondition(count > 0, "call setTimesteps before stepping a scheduler")
    precondition((0..<count).contains(stepIndex), "step index \(stepIndex) is outside 0..<\(count)")
    if let first = arrays.first {
        precondition(arrays.allSatisfy { $0.count == first.count }, "scheduler arrays differ in size: \(arrays.map(\.count))")
    }
}
