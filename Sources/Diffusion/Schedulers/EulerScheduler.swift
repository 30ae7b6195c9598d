/// Euler sampling of the probability-flow ODE in σ (matches diffusers `schedulers/scheduling_euler_discrete.py`,
/// EulerDiscreteScheduler with s_churn = 0, linear σ interpolation, final σ = 0).
///
/// x_{i+1} = x_i + (x_i − x̂₀)/σ_i · (σ_{i+1} − σ_i). Deterministic: draws no noise.
public struct EulerScheduler: EulerSigmaScheduler, Sendable {
    var schedule: EulerSigmas

    public init(configuration: SchedulerConfiguration) {
        schedule = EulerSigmas(configuration: configuration, kind: .euler)
    }

    /// β and ᾱ per training timestep.
    public var noiseSchedule: NoiseSchedule { schedule.noiseSchedule }
    /// σ per step of the full schedule plus the final 0, as diffusers' `sigmas` (not truncated by img2img).
    public var sigmas: [Float] { schedule.sigmas }

    public mutating func step(modelOutput: [Float], stepIndex: Int, sample: [Float], noise: inout any NoiseGenerator)
        -> SchedulerStepResult
    {
        let (sigma, nextSigma, original) = predictOriginal(modelOutput: modelOutput, stepIndex: stepIndex, sample: sample)
        let dt = nextSigma - sigma
        let previous = zip(sample, original).map { x, x0 in x + (x - x0) / sigma * dt }
        return SchedulerStepResult(previousSample: previous, denoised: original)
    }
}
