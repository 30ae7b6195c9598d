/// DDIM with η = 0: deterministic steps along the predicted x₀ and ε (matches diffusers
/// `schedulers/scheduling_ddim.py`, DDIMScheduler, eta = 0, no thresholding).
///
/// Like diffusers, the previous timestep is always t − numTrainTimesteps / steps, whatever the spacing
/// (with `trailing` or `linspace` it is not the next entry of `timesteps`).
public struct DDIMScheduler: AlphaCumprodScheduler, Sendable {
    public let configuration: SchedulerConfiguration
    /// β and ᾱ per training timestep.
    public let noiseSchedule: NoiseSchedule
    public private(set) var timesteps: [Int] = []
    /// The step count given to `setTimesteps` (before any img2img truncation); sets the stride to the previous timestep.
    public private(set) var inferenceStepCount = 0

    public init(configuration: SchedulerConfiguration) {
        self.configuration = configuration
        noiseSchedule = NoiseSchedule(configuration: configuration, kind: .ddim)
    }

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

    public mutating func step(modelOutput: [Float], stepIndex: Int, sample: [Float], noise: inout any NoiseGenerator)
        -> SchedulerStepResult
    {
        let (t, original, epsilon) = predictOriginalAndNoise(
            modelOutput: modelOutput, stepIndex: stepIndex, sample: sample, clipsByDefault: true)
        let alphaPrevious = alphaCumprod(at: t - configuration.numTrainTimesteps / inferenceStepCount)
        // x_{t−1} = √ᾱ_prev · x̂₀ + √(1 − ᾱ_prev) · ε̂ (η = 0: no variance term).
        let a = alphaPrevious.squareRoot(), b = (1 - alphaPrevious).squareRoot()
        let previous = zip(original, epsilon).map { a * $0 + b * $1 }
        return SchedulerStepResult(previousSample: previous, denoised: original)
    }
}
