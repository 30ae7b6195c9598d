/// Chooses the next token from a model's logits: repetition penalty, then greedy argmax when the
/// temperature is 0, otherwise top-k, top-p, min-p, temperature and a seeded random draw — llama.cpp's
/// default sampler chain (common/sampling.cpp) with its default parameters.
///
/// A sampler owns its random generator, so one seed reproduces a whole generation, and its buffers,
/// so sampling allocates nothing after the first token.
public struct Sampler {
    /// The parameters this sampler was made with.
    public let parameters: SamplingParameters
    private var penalty: RepetitionPenalty
    private let topK: TopK
    private let topP: TopP
    private let minP: MinP
    private let temperature: Temperature
    private var candidates = TokenCandidates()
    private var generator: Xoshiro256StarStar

    /// Makes a sampler. The parameters must pass `SamplingParameters.validate()`; check user input with it first.
    public init(parameters: SamplingParameters) {
        do {
            try parameters.validate()
        } catch {
            preconditionFailure("\(error); check user input with SamplingParameters.validate() before making a Sampler")
        }
        self.parameters = parameters
        penalty = RepetitionPenalty(penalty: parameters.repeatPenalty, lastN: parameters.repeatLastN)
        topK = TopK(k: parameters.topK)
        topP = TopP(p: parameters.topP)
        minP = MinP(p: parameters.minP)
        temperature = Temperature(temperature: parameters.temperature)
        generator = Xoshiro256StarStar(seed: parameters.seed ?? UInt64.random(in: .min ... .max))
    }

    /// Picks the next token id.
    /// - Parameters:
    ///   - logits: one logit per vocabulary entry, `[vocabularySize]`; the repetition penalty is applied
    ///     to it in place.
    ///   - history: the token ids so far (prompt and generated), oldest first; only the last
    ///     `repeatLastN` matter.
    public mutating func sample(logits: UnsafeMutableBufferPointer<Float>, history: [Int32]) -> Int32 {
        precondition(!logits.isEmpty, "sample(logits:) needs at least one logit")
        penalty.apply(to: logits, history: history)
        if parameters.temperature <= 0 { return Self.argmax(UnsafeBufferPointer(logits)) }
        candidates.load(UnsafeBufferPointer(logits))
        topK.apply(to: &candidates)
        topP.apply(to: &candidates)
        minP.apply(to: &candidates)
        temperature.apply(to: &candidates)
        return TokenDistribution().sample(from: &candidates, using: &generator)
    }

    /// The index of the largest logit (the first one on ties).
    public static func argmax(_ logits: UnsafeBufferPointer<Float>) -> Int32 {
        var best = 0
        var bestValue = -Float.infinity
        for index in 0..<logits.count where logits[index] > bestValue {
            best = index
            bestValue = logits[index]
        }
        return Int32(truncatingIfNeeded: best)
    }
}
