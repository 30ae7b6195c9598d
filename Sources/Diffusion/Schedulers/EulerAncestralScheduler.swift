/// Euler ancestral sampling (matches diffusers `schedulers/scheduling_euler_ancestral_discrete.py`,
/// EulerAncestralDiscreteScheduler).
///
/// Each step splits the move from σ_from to σ_to into a deterministic Euler step down to
/// σ_down = √(σ_to² − σ_up²) and fresh noise of scale σ_up = √(σ_to²(σ_from² − σ_to²)/σ_from²).
/// Like diffusers it draws noise on every step, the last one included (where σ_up = 0), so the noise
/// stream stays aligned with diffusers'. `sample` prediction is not supported (diffusers raises too).
public struct EulerAncestralScheduler: EulerSigmaScheduler, Sendable {
    var schedule: EulerSigmas

    public init(configuration: SchedulerConfiguration) {
        schedule = EulerSigmas(configuration: configuration, kind: .eulerAncestral)
    }

    public mutating func setTimesteps(_ steps: Int) throws {
        if configuration.predictionType == .sample {
            throw SchedulerError.unsupported(key: "prediction_type", value: "\"sample\"", scheduler: SchedulerKind.eulerAncestral.rawValue)
        }
        try schedule.setTimesteps(steps)
    }

    /// β and ᾱ per training timestep.
    public var noiseSchedule: NoiseSchedule { schedule.noiseSchedule }
    /// σ per step of the full schedule plus the final 0, as diffusers' `sigmas` (not truncated by img2img).
    public var sigmas: [Float] { schedule.sigmas }

    /// σ_up and σ_down for the move from σ_from to σ_to, in diffusers' float32 order.
    static func ancestralSigmas(from: Float, to: Float) -> (up: Float, down: Float) {
        let from2 = from * from, to2 = to * to
        let up = (to2 * (from2 - to2) / from2).squareRoot()
        let down = (to2 - up * up).squareRoot()
        return (up, down)
    }

    public mutating func step(modelOutput: [Float], stepIndex: Int, sample: [Float], noise: inout any NoiseGenerator)
        -> SchedulerStepResult
    {
        let (sigma, nextSigma, original) = predictOriginal(modelOutput: modelOutput, stepIndex: stepIndex, sample: sample)
        let (up, down) = EulerAncestralScheduler.ancestralSigmas(from: sigma, to: nextSigma)
        let dt = down - sigma
        let z = noise.normal(count: sample.count)
        precondition(z.count == sample.count, "the noise generator returned \(z.count) values for \(sample.count)")
        var previous = zip(sample, original).map { x, x0 in x + (x - x0) / sigma * dt }
        for i in previous.indices { previous[i] = previous[i] + z[i] * up }
        return SchedulerStepResult(previousSample: previous, denoised: original)
    }
}
