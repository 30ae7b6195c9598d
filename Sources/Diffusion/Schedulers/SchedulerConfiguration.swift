import SparrowRuntime

/// What the denoising model predicts (diffusers `prediction_type`).
public enum PredictionType: String, Sendable, CaseIterable {
    /// The added noise ε (SD 1.x).
    case epsilon
    /// The velocity v = √ᾱ·ε − √(1−ᾱ)·x₀ (SD 2.x 768-px models, section 2.4 of the Imagen Video paper).
    case vPrediction = "v_prediction"
    /// The clean sample x₀.
    case sample
}

/// How inference timesteps are laid over the training timesteps (diffusers `timestep_spacing`,
/// Table 2 of "Common Diffusion Noise Schedules and Sample Steps are Flawed").
public enum TimestepSpacing: String, Sendable, CaseIterable {
    /// Multiples of `numTrainTimesteps / steps` from 0, plus `stepsOffset`.
    case leading
    /// Counting down from `numTrainTimesteps − 1` in strides of `numTrainTimesteps / steps`.
    case trailing
    /// Evenly spaced over [0, numTrainTimesteps − 1], rounded (Euler keeps the fractions).
    case linspace
}

/// The β schedule of the forward process (diffusers `beta_schedule`).
public enum BetaSchedule: String, Sendable, CaseIterable {
    /// β evenly spaced from `betaStart` to `betaEnd`.
    case linear
    /// √β evenly spaced, then squared (Stable Diffusion).
    case scaledLinear = "scaled_linear"
    /// The Glide cosine schedule, β capped at 0.999.
    case squaredCosineCapV2 = "squaredcos_cap_v2"
}

/// A diffusers `scheduler/scheduler_config.json`, shared by all Sparrow schedulers.
///
/// Keys diffusers writes that no Sparrow scheduler reads (`_class_name`, `skip_prk_steps`, …) are ignored;
/// a known key with a value of the wrong type is an error naming the key. A `null` value counts as absent.
/// Options whose diffusers default differs between scheduler classes are optional here (nil = absent):
/// each scheduler applies its own class's default, as diffusers' `from_config` does.
public struct SchedulerConfiguration: Sendable, Equatable {
    public var numTrainTimesteps = 1000
    /// nil: 0.00085 for LCM, 0.0001 for the others.
    public var betaStart: Double?
    /// nil: 0.012 for LCM, 0.02 for the others.
    public var betaEnd: Double?
    /// nil: scaled_linear for LCM, linear for the others.
    public var betaSchedule: BetaSchedule?
    /// Explicit β values (`trained_betas`); when set they replace the schedule.
    public var trainedBetas: [Double]?
    public var predictionType = PredictionType.epsilon
    /// nil: leading for DDIM and LCM, linspace for Euler and Euler ancestral.
    public var timestepSpacing: TimestepSpacing?
    public var stepsOffset = 0
    /// DDIM/LCM: whether the step past timestep 0 uses ᾱ = 1 (true) or ᾱ₀.
    public var setAlphaToOne = true
    /// nil: true for DDIM, false for LCM (clamps the predicted x₀ to ±`clipSampleRange`).
    public var clipSample: Bool?
    public var clipSampleRange = 1.0
    /// Dynamic thresholding (not supported: refused by `setTimesteps`).
    public var thresholding = false
    /// Zero-terminal-SNR rescaling (not supported: refused by `setTimesteps`).
    public var rescaleBetasZeroSNR = false
    /// LCM: the length of the distillation schedule the few steps are taken from.
    public var originalInferenceSteps = 50
    /// LCM: the factor on t in the consistency boundary conditions c_skip, c_out.
    public var timestepScaling = 10.0
    /// Euler options Sparrow does not implement; `setTimesteps` refuses values other than the defaults.
    public var useKarrasSigmas = false
    public var useExponentialSigmas = false
    public var useBetaSigmas = false
    public var interpolationType = "linear"
    public var timestepType = "discrete"
    public var finalSigmasType = "zero"

    /// The diffusers defaults of every key.
    public init() {}

    /// Reads `scheduler_config.json`.
    public init(jsonFile path: String) throws {
        let file = try MappedFile(path: path)
        guard file.count > 0 else { throw FormatError(file: path, offset: nil, message: "empty scheduler configuration") }
        let value = try JSONValue.parse(try file.bytes(at: 0, count: file.count, what: "JSON text"), file: path)
        guard case .object(let members) = value else {
            throw FormatError(file: path, offset: 0, message: "a scheduler configuration must be a JSON object, found \(value.kind)")
        }
        try self.init(members: members, file: path)
    }

    /// Builds a configuration from a parsed JSON object.
    public init(json: [String: JSONValue]) throws {
        try self.init(members: json.map { (key: $0.key, value: $0.value) }, file: nil)
    }

    private init(members: [(key: String, value: JSONValue)], file: String?) throws {
        let reader = ConfigurationReader(file: file)
        for (key, value) in members where !value.isNull {
            switch key {
            case "num_train_timesteps": numTrainTimesteps = try reader.int(key, value)
            case "beta_start": betaStart = try reader.double(key, value)
            case "beta_end": betaEnd = try reader.double(key, value)
            case "beta_schedule": betaSchedule = try reader.option(key, value, BetaSchedule.self)
            case "trained_betas":
                guard let items = value.arrayValue else { throw reader.wrongType(key, "an array of numbers", value) }
                trainedBetas = try items.map { try reader.double(key, $0) }
            case "prediction_type": predictionType = try reader.option(key, value, PredictionType.self)
            case "timestep_spacing": timestepSpacing = try reader.option(key, value, TimestepSpacing.self)
            case "steps_offset": stepsOffset = try reader.int(key, value)
            case "set_alpha_to_one": setAlphaToOne = try reader.bool(key, value)
            case "clip_sample": clipSample = try reader.bool(key, value)
            case "clip_sample_range": clipSampleRange = try reader.double(key, value)
            case "thresholding": thresholding = try reader.bool(key, value)
            case "rescale_betas_zero_snr": rescaleBetasZeroSNR = try reader.bool(key, value)
            case "original_inference_steps": originalInferenceSteps = try reader.int(key, value)
            case "timestep_scaling": timestepScaling = try reader.double(key, value)
            case "use_karras_sigmas": useKarrasSigmas = try reader.bool(key, value)
            case "use_exponential_sigmas": useExponentialSigmas = try reader.bool(key, value)
            case "use_beta_sigmas": useBetaSigmas = try reader.bool(key, value)
            case "interpolation_type": interpolationType = try reader.string(key, value)
            case "timestep_type": timestepType = try reader.string(key, value)
            case "final_sigmas_type": finalSigmasType = try reader.string(key, value)
            default: continue  // `_class_name`, `skip_prk_steps`, keys of other schedulers
            }
        }
        try validate(file: file)
    }

    /// Checks ranges; called by the JSON initialisers and by every scheduler's `setTimesteps`.
    public func validate(file: String? = nil) throws {
        func bad(_ key: String, _ message: String) -> SchedulerError { .invalidValue(key: key, file: file, message: message) }
        guard (1...1_000_000).contains(numTrainTimesteps) else {
            throw bad("num_train_timesteps", "\(numTrainTimesteps) is not between 1 and 1000000")
        }
        for (key, beta) in [("beta_start", betaStart), ("beta_end", betaEnd)] {
            if let beta, !(beta >= 0 && beta < 1) { throw bad(key, "\(beta) is not in [0, 1)") }
        }
        if let trainedBetas {
            guard trainedBetas.count == numTrainTimesteps else {
                throw bad("trained_betas", "has \(trainedBetas.count) values but num_train_timesteps is \(numTrainTimesteps)")
            }
            guard trainedBetas.allSatisfy({ $0 >= 0 && $0 < 1 }) else { throw bad("trained_betas", "every β must be in [0, 1)") }
        }
        guard (0..<numTrainTimesteps).contains(stepsOffset) else {
            throw bad("steps_offset", "\(stepsOffset) is not between 0 and num_train_timesteps - 1")
        }
        guard (1...numTrainTimesteps).contains(originalInferenceSteps) else {
            throw bad("original_inference_steps", "\(originalInferenceSteps) is not between 1 and num_train_timesteps")
        }
        guard clipSampleRange.isFinite, clipSampleRange > 0 else { throw bad("clip_sample_range", "\(clipSampleRange) must be > 0") }
        guard timestepScaling.isFinite, timestepScaling > 0 else { throw bad("timestep_scaling", "\(timestepScaling) must be > 0") }
    }
}

/// Typed reads of JSON values with errors that name the key.
private struct ConfigurationReader {
    let file: String?

    func wrongType(_ key: String, _ expected: String, _ value: JSONValue) -> SchedulerError {
        .invalidValue(key: key, file: file, message: "expected \(expected), found \(value.kind)")
    }

    func int(_ key: String, _ value: JSONValue) throws -> Int {
        guard let v = value.intValue else { throw wrongType(key, "an integer", value) }
        return v
    }

    func double(_ key: String, _ value: JSONValue) throws -> Double {
        guard let v = value.doubleValue, v.isFinite else { throw wrongType(key, "a finite number", value) }
        return v
    }

    func bool(_ key: String, _ value: JSONValue) throws -> Bool {
        guard let v = value.boolValue else { throw wrongType(key, "true or false", value) }
        return v
    }

    func string(_ key: String, _ value: JSONValue) throws -> String {
        guard let v = value.stringValue else { throw wrongType(key, "a string", value) }
        return v
    }

    func option<T: RawRepresentable & CaseIterable>(_ key: String, _ value: JSONValue, _ type: T.Type) throws -> T
    where T.RawValue == String {
        let text = try string(key, value)
        guard let v = T(rawValue: text) else {
            let allowed = T.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")
            throw SchedulerError.invalidValue(key: key, file: file, message: "\"\(text)\" is not one of \(allowed)")
        }
        return v
    }
}
