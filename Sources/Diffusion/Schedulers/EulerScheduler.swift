/// Euler sampling of the probability-flow ODE in σ (matches diffusers `schedulers/scheduling_euler_discrete.py`,
/// EulerDiscreteScheduler with s_churn = 0, linear σ interpolation, final σ = 0).
///
/// x_{i+1} = x_i + (x_i − x̂₀)/σ_i · (σ_{i+1} − σ_i). Deterministic: draws no noise.
public struct EulerScheduler: DiffusionScheduler, Sendable {
    public let configuration: SchedulerConfiguration
    /// β and ᾱ per training timestep.
    public let noiseSchedule: NoiseSchedule
    private var schedule = EulerSigmas()

    public init(configuration: SchedulerConfiguration) {
        self.configuration = configuration
        noiseSchedule = NoiseSchedule(configuration: configuration, kind: .euler)
    }

    /// Timesteps rounded to integers; see `modelTimesteps` for the exact (possibly fractional) values.
    public var timesteps: [Int] { schedule.timesteps.map { Int($0.rounded(.toNearestOrEven)) } }
    public var modelTimesteps: [Float] { schedule.timesteps }
    /// σ per step of the full schedule plus the final 0, as diffusers' `sigmas` (not truncated by img2img).
    public var sigmas: [Float] { schedule.sigmas }
    /// Depends on the spacing: max σ, or √(max σ² + 1) with `leading` (as diffusers).
    public var initialNoiseSigma: Float { schedule.initialNoiseSigma }

    public mutating func setTimesteps(_ steps: Int) throws {
        schedule = try EulerSigmas(steps: steps, configuration: configuration, schedule: noiseSchedule, kind: .euler)
    }

    public mutating func setTimesteps(_ steps: Int, strength: Float) throws {
        let start = try InferenceTimesteps.imageToImageStart(steps: steps, strength: strength)
        try setTimesteps(steps)
        schedule.begin(at: start)
    }

    public func scaleModelInput(_ sample: [Float], stepIndex: Int) -> [Float] {
        checkStepArguments(stepIndex, count: schedule.timesteps.count)
        return schedule.scaleModelInput(sample, stepIndex: stepIndex)
    }

    public mutating func step(modelOutput: [Float], stepIndex: Int, sample: [Float], noise: inout any NoiseGenerator)
        -> SchedulerStepResult
    {
        checkStepArguments(stepIndex, count: schedule.timesteps.count, modelOutput, sample)
        let sigma = schedule.sigma(stepIndex)
        let original = EulerSigmas.predictOriginal(
            configuration.predictionType, modelOutput: modelOutput, sample: sample, sigma: sigma)
        let dt = schedule.nextSigma(stepIndex) - sigma
        let previous = zip(sample, original).map { x, x0 in x + (x - x0) / sigma * dt }
        return SchedulerStepResult(previousSample: previous, denoised: original)
    }

    public func addNoise(original: [Float], noise: [Float], timestepIndex: Int) -> [Float] {
        checkStepArguments(timestepIndex, count: schedule.timesteps.count, original, noise)
        return schedule.addNoise(original: original, noise: noise, stepIndex: timestepIndex)
    }
}
