/// How the next token is chosen from the model's logits. Defaults are llama.cpp's
/// (common/common.h, `common_params_sampling`).
public struct SamplingParameters: Sendable, Equatable {
    /// Divides the logits before sampling; 0 (or below) picks the most likely token (greedy).
    public var temperature: Float = 0.8
    /// Keep only the `topK` most likely tokens; 0 or below keeps all.
    public var topK: Int = 40
    /// Keep the smallest set of most likely tokens whose probability reaches `topP`; 1 keeps all.
    public var topP: Float = 0.95
    /// Drop tokens whose probability is below `minP` times the most likely token's; 0 keeps all.
    public var minP: Float = 0.05
    /// Penalty for tokens seen in the last `repeatLastN` tokens: positive logits are divided by it,
    /// negative ones multiplied; 1 disables it.
    public var repeatPenalty: Float = 1.0
    /// How many recent tokens the repetition penalty looks at; 0 disables it, -1 means the whole history.
    public var repeatLastN: Int = 64
    /// Seed of the random generator; nil draws a fresh seed from the system.
    public var seed: UInt64?

    public init(temperature: Float = 0.8, topK: Int = 40, topP: Float = 0.95, minP: Float = 0.05,
                repeatPenalty: Float = 1.0, repeatLastN: Int = 64, seed: UInt64? = nil) {
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
        self.minP = minP
        self.repeatPenalty = repeatPenalty
        self.repeatLastN = repeatLastN
        self.seed = seed
    }

    /// Greedy decoding: always the most likely token.
    public static let greedy = SamplingParameters(temperature: 0)

    /// Why a set of parameters cannot be used.
    public struct InvalidParameter: Error, CustomStringConvertible {
        public let name: String
        public let value: String
        public let requirement: String
        public var description: String { "sampling parameter \(name) = \(value) is invalid: \(requirement)" }
    }

    /// Checks every value; call it on user input before making a `Sampler`.
    public func validate() throws {
        guard temperature.isFinite else {
            throw InvalidParameter(name: "temperature", value: "\(temperature)", requirement: "must be a finite number (0 for greedy)")
        }
        guard topP.isFinite, topP >= 0, topP <= 1 else {
            throw InvalidParameter(name: "topP", value: "\(topP)", requirement: "must be between 0 and 1")
        }
        guard minP.isFinite, minP >= 0, minP <= 1 else {
            throw InvalidParameter(name: "minP", value: "\(minP)", requirement: "must be between 0 and 1")
        }
        guard repeatPenalty.isFinite, repeatPenalty > 0 else {
            throw InvalidParameter(name: "repeatPenalty", value: "\(repeatPenalty)", requirement: "must be a positive number (1 disables it)")
        }
        guard repeatLastN >= -1 else {
            throw InvalidParameter(name: "repeatLastN", value: "\(repeatLastN)", requirement: "must be -1 (whole history), 0 (off) or a count")
        }
    }
}
