/// DDIM with η = 0: deterministic steps along the predicted x₀ and ε (matches diffusers
/// `schedulers/scheduling_ddim.py`, DDIMScheduler, eta = 0, no thresholding).
///
/// Like diffusers, the previous timestep is always t − numTrainTimesteps / steps, whatever the spacing
/// (with `trailing` or `linspace` it is not the next entry of `timesteps`).
public struct DDIMScheduler: DiffusionScheduler, Sendable {
    public let configuration: SchedulerConfiguration
    /// β and ᾱ per training timestep.
    public let noiseSchedule: NoiseSchedule
    public private(set) var timesteps: [Int] = []
    /// DDIM samples start from unit-variance noise.
    public var initialNoiseSigma: Float { 1 }
    /// The step count given to `setTimesteps` (before any img2img truncation); sets the stride to the previous timestep.
    public private(set) var inferenceStepCount = 0

    public init(configuration: SchedulerConfiguration) {
        self.configuration = configuration
        noiseSchedule = NoiseSchedule(configuration: configuration, kind: .ddim)
    }

    /// ᾱ for the step past timestep 0: 1 with `set_alpha_to_one`, else ᾱ₀.
    var finalAlphaCumprod: Float { configuration.setAlphaToOne ? 1 : noiseSchedule.alphasCumprod[0] }

    public mutating func setTimesteps(_ steps: Int) throws {
        let c = configuration
        try c.checkSupported(by: .ddim)
        try InferenceTimesteps.checkStepCount(steps, trainSteps: c.numTrainTimesteps)
        let values = InferenceTimesteps.values(
            c.timestepSpacing ?? .leading, steps: steps, trainSteps: c.numTrainTimesteps, offset: c.stepsOffset)
        let list = values.map { Int($0.rounded(.toNearestOrEven)) }
        guard list.allSatisfy({ (0..<c.numTrainTimesteps).contains($0) }) else {
            throw SchedulerError.invalidStepCount(
                steps: steps, maximum: c.numTrainTimesteps - c.stepsOffset,
                reason: "steps_offset \(c.stepsOffset) pushes a timestep past \(c.numTrainTimesteps - 1)")
        }
        timesteps = list
        inferenceStepCount = steps
    }

    public mutating func setTimesteps(_ steps: Int, strength: Float) throws {
        let start = try InferenceTimesteps.imageToImageStart(steps: steps, strength: strength)
        try setTimesteps(steps)
        timesteps.removeFirst(start)
    }

    public func scaleModelInput(_ sample: [Float], stepIndex: Int) -> [Float] {
        checkStepArguments(stepIndex, count: timesteps.count)
        return sample
    }

    public mutating func step(modelOutput: [Float], stepIndex: Int, sample: [Float], noise: inout any NoiseGenerator)
        -> SchedulerStepResult
    {
        checkStepArguments(stepIndex, count: timesteps.count, modelOutput, sample)
        let t = timesteps[stepIndex]
        let previousT = t - configuration.numTrainTimesteps / inferenceStepCount
        let alpha = noiseSchedule.alphasCumprod[t]
        let alphaPrevious = previousT >= 0 ? noiseSchedule.alphasCumprod[previousT] : finalAlphaCumprod
        var (original, epsilon) = predictOriginalAndNoise(
            configuration.predictionType, modelOutput: modelOutput, sample: sample, alphaCumprod: alpha)
        if configuration.clipSample ?? true {
            let r = Float(configuration.clipSampleRange)
            original = original.map { min(max($0, -r), r) }
        }
        // x_{t−1} = √ᾱ_prev · x̂₀ + √(1 − ᾱ_prev) · ε̂ (η = 0: no variance term).
        let a = alphaPrevious.squareRoot(), b = (1 - alphaPrevious).squareRoot()
        let previous = zip(original, epsilon).map { a * $0 + b * $1 }
        return SchedulerStepResult(previousSample: previous, denoised: original)
    }

    public func addNoise(original: [Float], noise: [Float], timestepIndex: Int) -> [Float] {
        checkStepArguments(timestepIndex, count: timesteps.count, original, noise)
        return noiseSchedule.addNoise(original: original, noise: noise, timestep: timesteps[timestepIndex])
    }
}
