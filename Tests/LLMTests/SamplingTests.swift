import Foundation
import SparrowLLM
import Testing

/// Sampling invariants: greedy is argmax, seeds reproduce, each filter matches a plain full-sort
/// reference, the penalty matches hand-computed values, and draws follow softmax(logits / T).
@Suite struct SamplingTests {
    /// Empirical frequencies may differ from the exact probability by this many binomial standard deviations.
    static let frequencySigmaBound = 5.0
    static let vocabularySize = 49152  // SmolLM2

    /// Uniform logits in [-10, 10) from a seeded generator.
    static func randomLogits(count: Int, seed: UInt64) -> [Float] {
        var generator = Xoshiro256StarStar(seed: seed)
        return (0..<count).map { _ in Float(generator.nextUnitDouble() * 20 - 10) }
    }

    static func sample(_ sampler: inout Sampler, _ logits: [Float], history: [Int32] = []) -> Int32 {
        var copy = logits
        return copy.withUnsafeMutableBufferPointer { sampler.sample(logits: $0, history: history) }
    }

    static func scalarArgmax(_ logits: [Float]) -> Int32 {
        var best = 0
        for index in logits.indices where logits[index] > logits[best] { best = index }
        return Int32(best)
    }

    /// Live candidate ids after the filters, for set comparisons.
    static func survivors(_ logits: [Float], topK: Int, topP: Float, minP: Float) -> Set<Int32> {
        var candidates = TokenCandidates()
        logits.withUnsafeBufferPointer { candidates.load($0) }
        TopK(k: topK).apply(to: &candidates)
        TopP(p: topP).apply(to: &candidates)
        MinP(p: minP).apply(to: &candidates)
        return Set(candidates.ids)
    }

    /// The same filters written plainly: full sort, softmax, cumulative sum, threshold.
    static func referenceSurvivors(_ logits: [Float], topK: Int, topP: Float, minP: Float) -> Set<Int32> {
        var order = logits.indices.sorted { logits[$0] > logits[$1] }
        if topK > 0 { order = Array(order.prefix(topK)) }
        if topP < 1 {
            let maxLogit = Double(logits[order[0]])
            let total = order.reduce(0.0) { $0 + exp(Double(logits[$1]) - maxLogit) }
            var cumulative = 0.0
            var kept = 0
            for index in order {
                cumulative += exp(Double(logits[index]) - maxLogit) / total
                kept += 1
                if cumulative >= Double(topP) { break }
            }
            order = Array(order.prefix(kept))
        }
        if minP > 0 {
            let threshold = logits[order[0]] + logf(minP)
            order = order.filter { logits[$0] >= threshold }
        }
        return Set(order.map { Int32($0) })
    }

    @Test func temperatureZeroIsArgmax() {
        var sampler = Sampler(parameters: .greedy)
        for seed in 0..<10 as Range<UInt64> {
            let logits = Self.randomLogits(count: Self.vocabularySize, seed: seed)
            #expect(Self.sample(&sampler, logits) == Self.scalarArgmax(logits))
        }
    }

    @Test func sameSeedReproducesTheSequence() {
        let logits = Self.randomLogits(count: 1000, seed: 7)
        let parameters = SamplingParameters(temperature: 1.5, topK: 0, topP: 1, minP: 0, seed: 42)
        var first = Sampler(parameters: parameters), second = Sampler(parameters: parameters)
        var other = Sampler(parameters: SamplingParameters(temperature: 1.5, topK: 0, topP: 1, minP: 0, seed: 43))
        let a = (0..<200).map { _ in Self.sample(&first, logits) }
        let b = (0..<200).map { _ in Self.sample(&second, logits) }
        let c = (0..<200).map { _ in Self.sample(&other, logits) }
        #expect(a == b)
        #expect(a != c)
        #expect(Set(a).count > 20)  // it really samples
    }

    @Test func topKOfOneIsGreedy() {
        var sampler = Sampler(parameters: SamplingParameters(temperature: 0.8, topK: 1, seed: 1))
        for seed in 0..<10 as Range<UInt64> {
            let logits = Self.randomLogits(count: Self.vocabularySize, seed: seed)
            #expect(Self.sample(&sampler, logits) == Self.scalarArgmax(logits))
        }
    }

    @Test func tinyTopPIsGreedy() {
        var sampler = Sampler(parameters: SamplingParameters(temperature: 1, topK: 0, topP: 1e-6, minP: 0, seed: 2))
        for seed in 0..<10 as Range<UInt64> {
            let logits = Self.randomLogits(count: Self.vocabularySize, seed: seed)
            #expect(Self.sample(&sampler, logits) == Self.scalarArgmax(logits))
        }
    }

    @Test func minPKeepsTokensAboveAFractionOfTheBest() {
        let probabilities: [Float] = [0.5, 0.3, 0.15, 0.05]
        let logits = probabilities.map { logf($0) }
        // p >= minP * 0.5: 0.2 -> threshold 0.1, 0.7 -> 0.35, 0.09 -> 0.045
        #expect(Self.survivors(logits, topK: 0, topP: 1, minP: 0.2) == [0, 1, 2])
        #expect(Self.survivors(logits, topK: 0, topP: 1, minP: 0.7) == [0])
        #expect(Self.survivors(logits, topK: 0, topP: 1, minP: 0.09) == [0, 1, 2, 3])
        var sampler = Sampler(parameters: SamplingParameters(temperature: 1, topK: 0, topP: 1, minP: 0.2, seed: 3))
        let draws = (0..<2000).map { _ in Self.sample(&sampler, logits) }
        #expect(!draws.contains(3))
        #expect(Set(draws) == [0, 1, 2])
    }

    @Test func filtersMatchAFullSortReference() {
        let logits = Self.randomLogits(count: Self.vocabularySize, seed: 11)
        for (topK, topP, minP) in [(40, Float(0.95), Float(0.05)), (0, 0.5, 0), (0, 0.9, 0.5), (1000, 0.3, 0), (0, 1, 0.9)] {
            #expect(Self.survivors(logits, topK: topK, topP: topP, minP: minP)
                    == Self.referenceSurvivors(logits, topK: topK, topP: topP, minP: minP),
                    "topK \(topK) topP \(topP) minP \(minP)")
        }
    }

    @Test func repetitionPenaltyMatchesHandComputedValues() {
        var penalty = RepetitionPenalty(penalty: 1.5, lastN: 64)
        var logits: [Float] = [2, -1, 0.5, 3, 0]
        logits.withUnsafeMutableBufferPointer { penalty.apply(to: $0, history: [0, 1, 1, 4, 1]) }
        // seen tokens 0, 1, 4 are penalised once each: 2 / 1.5, -1 * 1.5, 0 * 1.5
        #expect(logits == [2 / 1.5, -1.5, 0.5, 3, 0])

        var window = RepetitionPenalty(penalty: 2, lastN: 2)
        var recent: [Float] = [2, -1, 0.5, 3]
        recent.withUnsafeMutableBufferPointer { window.apply(to: $0, history: [0, 1, 3, 2]) }
        #expect(recent == [2, -1, 0.25, 1.5])  // only the last two tokens (3, 2) count

        var disabled = RepetitionPenalty(penalty: 1, lastN: 64)
        var unchanged: [Float] = [2, -1]
        unchanged.withUnsafeMutableBufferPointer { disabled.apply(to: $0, history: [0, 1]) }
        #expect(unchanged == [2, -1])
    }

    @Test func penaltyChangesTheGreedyChoice() {
        var sampler = Sampler(parameters: SamplingParameters(temperature: 0, repeatPenalty: 2, repeatLastN: 8))
        let logits: [Float] = [1, 3, 2]  // 3 / 2 = 1.5 < 2
        #expect(Self.sample(&sampler, logits, history: [1]) == 2)
        #expect(Self.sample(&sampler, logits, history: [0]) == 1)
    }

    @Test func drawsFollowSoftmaxOfLogitsOverTemperature() {
        let logits: [Float] = [1, 2, 0.5, -1, 0]
        let temperature: Float = 0.7
        let scaled = logits.map { Double($0 / temperature) }
        let total = scaled.reduce(0) { $0 + exp($1) }
        let expected = scaled.map { exp($0) / total }
        var sampler = Sampler(parameters: SamplingParameters(temperature: temperature, topK: 0, topP: 1, minP: 0, seed: 99))
        let drawCount = 200_000
        var counts = [Int](repeating: 0, count: logits.count)
        var buffer = logits
        for _ in 0..<drawCount {
            buffer.withUnsafeMutableBufferPointer { counts[Int(sampler.sample(logits: $0, history: []))] += 1 }
        }
        for (token, p) in expected.enumerated() {
            let frequency = Double(counts[token]) / Double(drawCount)
            let sigma = (p * (1 - p) / Double(drawCount)).squareRoot()
            #expect(abs(frequency - p) <= Self.frequencySigmaBound * sigma, "token \(token): \(frequency) vs \(p)")
        }
    }

    @Test func invalidParametersAreReported() {
        #expect(throws: SamplingParameters.InvalidParameter.self) { try SamplingParameters(topP: 1.5).validate() }
        #expect(throws: SamplingParameters.InvalidParameter.self) { try SamplingParameters(repeatPenalty: 0).validate() }
        #expect(throws: SamplingParameters.InvalidParameter.self) { try SamplingParameters(temperature: .nan).validate() }
        #expect(throws: Never.self) { try SamplingParameters().validate() }
    }
}
