/// Latent Consistency Model multistep sampling (matches diffusers `schedulers/scheduling_lcm.py`, LCMScheduler).
///
/// Each step maps the sample to the consistency-model estimate denoised = c_out·x̂₀ + c_skip·x with the
/// boundary conditions c_skip = σ_d²/((s·t)² + σ_d²), c_out = s·t/√((s·t)² + σ_d²), σ_d = 0.5,
/// s = `timestepScaling`; every step but the last then re-noises it to the next timestep with fresh noise.
/// Timesteps come from the `originalInferenceSteps`-long distillation schedule; `timestep_spacing` and
/// `steps_offset` are ignored, as in diffusers.
public struct LCMScheduler: AlphaCumprodScheduler, Sendable {
    public let configuration: SchedulerConfiguration
    /// β and ᾱ per training timestep.
    public let noiseSchedule: NoiseSchedule
    public private(set) var timesteps: [Int] = []

    /// The consistency-model data standard deviation σ_d.
    static let sigmaData: Float = 0.5

    public init(configuration: SchedulerConfiguration) {
        self.configuration = configuration
        noiseSchedule = NoiseSchedule(configuration: configuration, kind: .lcm)
    }

    public mutating func setTimesteps(_ steps: Int) throws {
        try setTimesteps(steps, distillationFraction: 1)
    }

    /// img2img as diffusers' LatentConsistencyModelImg2ImgPipeline does it: `steps` timesteps taken evenly from
    /// the first ⌊originalInferenceSteps·strength⌋ distillation timesteps (so `timesteps.count == steps`).
    public mutating func setTimesteps(_ steps: Int, strength: Float) throws {
        try setTimesteps(steps, distillationFraction: try InferenceTimesteps.pythonStrength(strength))
    }

    /// img2img as diffusers' StableDiffusionImg2ImgPipeline drives an LCMScheduler (SD + LCM-LoRA): the full
    /// `steps` schedule with the first steps dropped by `get_timesteps` (so `timesteps.count == min(Int(steps·strength), steps)`).
    public mutating func setTimesteps(_ steps: Int, truncatingWithStrength strength: Float) throws {
        let start = try InferenceTimesteps.imageToImageStart(steps: steps, strength: strength)
        try setTimesteps(steps)
        timesteps.removeFirst(start)
    }

    private mutating func setTimesteps(_ steps: Int, distillationFraction: Double) throws {
        let c = configuration
        try c.checkSupported(by: .lcm)
        try InferenceTimesteps.checkStepCount(steps, trainSteps: c.numTrainTimesteps)
        guard steps <= c.originalInferenceSteps else {
            throw SchedulerError.invalidStepCount(
                steps: steps, maximum: c.originalInferenceSteps,
                reason: "LCM takes its steps from original_inference_steps = \(c.originalInferenceSteps)")
        }
        timesteps = try InferenceTimesteps.lcm(
            steps: steps, originalSteps: c.originalInferenceSteps, trainSteps: c.numTrainTimesteps,
            strength: distillationFraction)
    }

    /// The consistency boundary conditions at timestep `t`, in float32 like diffusers (t·scaling is a float32 tensor).
    func boundaryScalings(_ t: Int) -> (skip: Float, out: Float) {
        let scaled = Float(t) * Float(configuration.timestepScaling)
        let denominator = scaled * scaled + LCMScheduler.sigmaData * LCMScheduler.sigmaData
        let skip = LCMScheduler.sigmaData * LCMScheduler.sigmaData / denominator
        let out = scaled / denominator.squareRoot()
        return (skip, out)
    }

    public mutating func step(modelOutput: [Float], stepIndex: Int, sample: [Float], noise: inout any NoiseGenerator)
        -> SchedulerStepResult
    {
        let (t, original, _) = predictOriginalAndNoise(
            modelOutput: modelOutput, stepIndex: stepIndex, sample: sample, clipsByDefault: false)
        let isLast = stepIndex == timesteps.count - 1
        let (skip, out) = boundaryScalings(t)
        let denoised = zip(original, sample).map { out * $0 + skip * $1 }
        guard !isLast else { return SchedulerStepResult(previousSample: denoised, denoised: denoised) }
        // Re-noise to the next timestep: √ᾱ_prev · denoised + √(1 − ᾱ_prev) · z.
        let alphaPrevious = alphaCumprod(at: timesteps[stepIndex + 1])
        let z = noise.normal(count: sample.count)
        precondition(z.count == sample.count, "the noise generator returned \(z.count) values for \(sample.count)")
        let a = alphaPrevious.squareRoot(), b = (1 - alphaPrevious).squareRoot()
        let previous = zip(denoised, z).map { a * $0 + b * $1 }
        return SchedulerStepResult(previousSample: previous, denoised: denoised)
    }
}
