/// The σ schedule both Euler schedulers step along (matches diffusers EulerDiscreteScheduler and
/// EulerAncestralDiscreteScheduler `set_timesteps` with linear interpolation and no Karras/exponential/beta σ),
/// with the configuration and noise schedule it is built from.
///
/// σ_t = √((1 − ᾱ_t)/ᾱ_t) in float32 at the training timesteps, linearly interpolated in float64 (`np.interp`)
/// at the inference timesteps, then stored as float32 with a final σ = 0 appended.
struct EulerSigmas: Sendable {
    let configuration: SchedulerConfiguration
    /// β and ᾱ per training timestep.
    let noiseSchedule: NoiseSchedule
    /// The scheduler this schedule serves (names it in errors).
    let kind: SchedulerKind
    /// Timestep values of the full schedule (float32, as diffusers stores them; `linspace` ones may be fractional).
    private(set) var fullTimesteps: [Float] = []
    /// σ per full-schedule step plus the final 0 (count = fullTimesteps.count + 1).
    private(set) var sigmas: [Float] = []
    /// img2img: the number of leading steps dropped (diffusers' `begin_index`).
    private(set) var beginIndex = 0
    private var spacing = TimestepSpacing.linspace

    /// An empty schedule: call `setTimesteps` before stepping.
    init(configuration: SchedulerConfiguration, kind: SchedulerKind) {
        self.configuration = configuration
        self.kind = kind
        noiseSchedule = NoiseSchedule(configuration: configuration, kind: kind)
    }

    /// Lays out `steps` timesteps and their σ, starting again from the first step; on error nothing changes.
    mutating func setTimesteps(_ steps: Int) throws {
        let c = configuration
        try c.checkSupported(by: kind)
        let name = kind.rawValue
        if c.useKarrasSigmas { throw SchedulerError.unsupported(key: "use_karras_sigmas", value: "true", scheduler: name) }
        if c.useExponentialSigmas { throw SchedulerError.unsupported(key: "use_exponential_sigmas", value: "true", scheduler: name) }
        if c.useBetaSigmas { throw SchedulerError.unsupported(key: "use_beta_sigmas", value: "true", scheduler: name) }
        if c.interpolationType != "linear" {
            throw SchedulerError.unsupported(key: "interpolation_type", value: "\"\(c.interpolationType)\"", scheduler: name)
        }
        if c.timestepType != "discrete" {
            throw SchedulerError.unsupported(key: "timestep_type", value: "\"\(c.timestepType)\"", scheduler: name)
        }
        if c.finalSigmasType != "zero" {
            throw SchedulerError.unsupported(key: "final_sigmas_type", value: "\"\(c.finalSigmasType)\"", scheduler: name)
        }
        try InferenceTimesteps.checkStepCount(steps, trainSteps: c.numTrainTimesteps)
        spacing = c.timestepSpacing ?? .linspace
        let values = InferenceTimesteps.values(spacing, steps: steps, trainSteps: c.numTrainTimesteps, offset: c.stepsOffset)
        fullTimesteps = values.map { Float($0) }
        let trainingSigmas = noiseSchedule.sigmas
        sigmas = fullTimesteps.map { EulerSigmas.interpolate(trainingSigmas, at: Double($0)) } + [0]
        beginIndex = 0
    }

    /// `np.interp(x, arange(n), table)` in float64, rounded to float32.
    static func interpolate(_ table: [Float], at x: Double) -> Float {
        let last = table.count - 1
        guard x > 0 else { return table[0] }
        guard x < Double(last) else { return table[last] }
        let j = Int(x.rounded(.down))
        let low = Double(table[j]), high = Double(table[j + 1])
        return Float((high - low) * (x - Double(j)) + low)
    }

    /// Drops the first `count` steps (img2img).
    mutating func begin(at count: Int) {
        beginIndex = count
    }

    /// The steps left after `beginIndex`.
    var timesteps: [Float] { Array(fullTimesteps[beginIndex...]) }

    /// σ at step `stepIndex` of the remaining steps.
    func sigma(_ stepIndex: Int) -> Float { sigmas[beginIndex + stepIndex] }

    /// σ at the following step (0 after the last).
    func nextSigma(_ stepIndex: Int) -> Float { sigmas[beginIndex + stepIndex + 1] }

    /// max σ for `linspace`/`trailing`, √(max σ² + 1) for `leading` (diffusers' `init_noise_sigma` quirk:
    /// with `leading` the largest σ is at a timestep below T − 1).
    var initialNoiseSigma: Float {
        let largest = sigmas.max() ?? 0
        return spacing == .leading ? (largest * largest + 1).squareRoot() : largest
    }

    /// sample / √(σ² + 1).
    func scaleModelInput(_ sample: [Float], stepIndex: Int) -> [Float] {
        let s = sigma(stepIndex)
        let scale = (s * s + 1).squareRoot()
        return sample.map { $0 / scale }
    }

    /// original + σ·noise at step `stepIndex` (matches diffusers Euler `add_noise` with a begin index set).
    func addNoise(original: [Float], noise: [Float], stepIndex: Int) -> [Float] {
        let s = sigma(stepIndex)
        return zip(original, noise).map { $0 + $1 * s }
    }

    /// x̂₀ from the model output at σ (epsilon: x − σ·ε; v: −σ/√(σ²+1)·v + x/(σ²+1); sample: the output).
    static func predictOriginal(_ prediction: PredictionType, modelOutput: [Float], sample: [Float], sigma: Float) -> [Float] {
        switch prediction {
        case .epsilon:
            return zip(sample, modelOutput).map { $0 - sigma * $1 }
        case .vPrediction:
            let variance = sigma * sigma + 1
            let c = -sigma / variance.squareRoot()
            return zip(sample, modelOutput).map { $1 * c + $0 / variance }
        case .sample:
            return modelOutput
        }
    }
}

/// A scheduler that steps along an `EulerSigmas` schedule (Euler and Euler ancestral): everything but `step`
/// comes from here, so the two differ only in how they move from σ_i to σ_{i+1}.
protocol EulerSigmaScheduler: DiffusionScheduler {
    var schedule: EulerSigmas { get set }
}

extension EulerSigmaScheduler {
    public var configuration: SchedulerConfiguration { schedule.configuration }
    /// Timesteps rounded to integers; see `modelTimesteps` for the exact (possibly fractional) values.
    public var timesteps: [Int] { schedule.timesteps.map { Int($0.rounded(.toNearestOrEven)) } }
    public var modelTimesteps: [Float] { schedule.timesteps }
    /// Depends on the spacing: max σ, or √(max σ² + 1) with `leading` (as diffusers).
    public var initialNoiseSigma: Float { schedule.initialNoiseSigma }

    public mutating func setTimesteps(_ steps: Int) throws {
        try schedule.setTimesteps(steps)
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

    public func addNoise(original: [Float], noise: [Float], timestepIndex: Int) -> [Float] {
        checkStepArguments(timestepIndex, count: schedule.timesteps.count, original, noise)
        return schedule.addNoise(original: original, noise: noise, stepIndex: timestepIndex)
    }

    /// The start of every Euler step: checks the arguments, then σ at `stepIndex`, the σ after it (0 after the
    /// last step) and the predicted clean sample x̂₀.
    func predictOriginal(modelOutput: [Float], stepIndex: Int, sample: [Float])
        -> (sigma: Float, nextSigma: Float, original: [Float])
    {
        checkStepArguments(stepIndex, count: schedule.timesteps.count, modelOutput, sample)
        let sigma = schedule.sigma(stepIndex)
        let original = EulerSigmas.predictOriginal(
            configuration.predictionType, modelOutput: modelOutput, sample: sample, sigma: sigma)
        return (sigma, schedule.nextSigma(stepIndex), original)
    }
}
