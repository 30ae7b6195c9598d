import Foundation

/// The forward-process noise levels: β per training timestep and the cumulative products ᾱ.
///
/// Matches diffusers' scheduler constructors bit for bit: β in float32 as `torch.linspace(…, dtype=float32)`
/// produces it (the step (end − start)/(n − 1) in float32, each value start + step·i, or end − step·(n−1−i)
/// in the upper half, rounded once), ᾱ as `torch.cumprod` on the CPU computes it (a float64 running product
/// stored to float32 after every factor).
public struct NoiseSchedule: Sendable, Equatable {
    /// β per training timestep, float32 like diffusers.
    public let betas: [Float]
    /// ᾱ_t = ∏_{s≤t} (1 − β_s) per training timestep.
    public let alphasCumprod: [Float]

    /// The schedule `configuration` describes, with `kind`'s diffusers defaults for absent β keys.
    /// Expects a validated configuration (`SchedulerConfiguration.validate()`).
    public init(configuration c: SchedulerConfiguration, kind: SchedulerKind) {
        let count = max(c.numTrainTimesteps, 1)
        let isLCM = kind == .lcm
        let start = c.betaStart ?? (isLCM ? 0.00085 : 0.0001)
        let end = c.betaEnd ?? (isLCM ? 0.012 : 0.02)
        let schedule = c.betaSchedule ?? (isLCM ? .scaledLinear : .linear)
        var betas: [Float]
        if let trained = c.trainedBetas, trained.count == count {
            betas = trained.map { Float($0) }
        } else {
            switch schedule {
            case .linear:
                betas = NoiseSchedule.torchLinspace(start, end, count: count)
            case .scaledLinear:
                betas = NoiseSchedule.torchLinspace(pow(start, 0.5), pow(end, 0.5), count: count).map { $0 * $0 }
            case .squaredCosineCapV2:
                betas = NoiseSchedule.cosineBetas(count: count)
            }
        }
        self.betas = betas
        var product = 1.0
        alphasCumprod = betas.map { beta in
            product *= Double(1 - beta)
            return Float(product)
        }
    }

    /// `torch.linspace(start, end, count, dtype=torch.float32)` on the CPU.
    static func torchLinspace(_ start: Double, _ end: Double, count: Int) -> [Float] {
        let a = Float(start), b = Float(end)
        guard count > 1 else { return count == 1 ? [a] : [] }
        let step = (b - a) / Float(count - 1)
        let half = count / 2
        return (0..<count).map { i in
            i < half ? a.addingProduct(step, Float(i)) : b.addingProduct(-step, Float(count - 1 - i))
        }
    }

    /// Glide's cosine schedule: β_i = min(1 − ᾱ(t_{i+1})/ᾱ(t_i), 0.999) with ᾱ(t) = cos²((t + 0.008)/1.008 · π/2),
    /// computed in float64 and stored as float32 (matches diffusers `betas_for_alpha_bar`).
    static func cosineBetas(count: Int) -> [Float] {
        func alphaBar(_ t: Double) -> Double {
            let c = cos((t + 0.008) / 1.008 * Double.pi / 2)
            return c * c
        }
        return (0..<count).map { i in
            let t1 = Double(i) / Double(count), t2 = Double(i + 1) / Double(count)
            return Float(min(1 - alphaBar(t2) / alphaBar(t1), 0.999))
        }
    }

    /// σ_t = √((1 − ᾱ_t)/ᾱ_t) per training timestep, in float32 like diffusers' Euler schedulers.
    public var sigmas: [Float] {
        alphasCumprod.map { ((1 - $0) / $0).squareRoot() }
    }

    /// The forward process at integer training timestep `t`: √ᾱ_t·x₀ + √(1−ᾱ_t)·ε
    /// (matches diffusers DDIMScheduler/LCMScheduler `add_noise`).
    func addNoise(original: [Float], noise: [Float], timestep t: Int) -> [Float] {
        precondition(original.count == noise.count, "addNoise: \(original.count) sample values but \(noise.count) noise values")
        precondition(alphasCumprod.indices.contains(t), "addNoise: timestep \(t) is outside the training schedule")
        let alpha = alphasCumprod[t]
        let a = alpha.squareRoot(), b = (1 - alpha).squareRoot()
        return zip(original, noise).map { a * $0 + b * $1 }
    }
}

extension NoiseSchedule {
    /// Converts a model output to the predicted clean sample x₀ and noise ε at ᾱ_t (matches diffusers DDIM/LCM `step`).
    static func predictOriginalAndNoise(_ prediction: PredictionType, modelOutput: [Float], sample: [Float], alphaCumprod: Float)
        -> (original: [Float], noise: [Float])
    {
        precondition(modelOutput.count == sample.count, "step: \(modelOutput.count) model outputs for \(sample.count) sample values")
        let a = alphaCumprod.squareRoot(), b = (1 - alphaCumprod).squareRoot()
        switch prediction {
        case .epsilon:
            return (zip(sample, modelOutput).map { ($0 - b * $1) / a }, modelOutput)
        case .sample:
            return (modelOutput, zip(sample, modelOutput).map { ($0 - a * $1) / b })
        case .vPrediction:
            return (zip(sample, modelOutput).map { a * $0 - b * $1 }, zip(sample, modelOutput).map { a * $1 + b * $0 })
        }
    }
}

/// A scheduler that steps on integer training timesteps through ᾱ (DDIM and LCM): starts from unit noise, feeds
/// the sample to the model unscaled, noises with `NoiseSchedule.addNoise`, and begins every step the same way.
protocol AlphaCumprodScheduler: DiffusionScheduler {
    /// β and ᾱ per training timestep.
    var noiseSchedule: NoiseSchedule { get }
}

extension AlphaCumprodScheduler {
    /// DDIM and LCM samples start from unit-variance noise.
    public var initialNoiseSigma: Float { 1 }

    public func scaleModelInput(_ sample: [Float], stepIndex: Int) -> [Float] {
        checkStepArguments(stepIndex, count: timesteps.count)
        return sample
    }

    public func addNoise(original: [Float], noise: [Float], timestepIndex: Int) -> [Float] {
        checkStepArguments(timestepIndex, count: timesteps.count, original, noise)
        return noiseSchedule.addNoise(original: original, noise: noise, timestep: timesteps[timestepIndex])
    }

    /// ᾱ at training timestep `t`; past timestep 0 (t < 0) 1 with `set_alpha_to_one`, else ᾱ₀.
    func alphaCumprod(at t: Int) -> Float {
        guard t >= 0 else { return configuration.setAlphaToOne ? 1 : noiseSchedule.alphasCumprod[0] }
        return noiseSchedule.alphasCumprod[t]
    }

    /// The start of every DDIM/LCM step: checks the arguments, then the timestep t of `stepIndex` and the predicted
    /// clean sample x̂₀ and noise ε̂ at ᾱ_t, x̂₀ clamped to ±`clipSampleRange` when `clip_sample` (absent:
    /// `clipsByDefault`, the scheduler class's diffusers default) says so.
    func predictOriginalAndNoise(modelOutput: [Float], stepIndex: Int, sample: [Float], clipsByDefault: Bool)
        -> (t: Int, original: [Float], noise: [Float])
    {
        checkStepArguments(stepIndex, count: timesteps.count, modelOutput, sample)
        let t = timesteps[stepIndex]
        var (original, epsilon) = NoiseSchedule.predictOriginalAndNoise(
            configuration.predictionType, modelOutput: modelOutput, sample: sample, alphaCumprod: alphaCumprod(at: t))
        if configuration.clipSample ?? clipsByDefault {
            let r = Float(configuration.clipSampleRange)
            original = original.map { min(max($0, -r), r) }
        }
        return (t, original, epsilon)
    }
}
