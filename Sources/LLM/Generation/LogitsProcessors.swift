import Foundation

// The steps of the sampler chain, one type each, in llama.cpp's default order (common/common.h
// `samplers`, src/llama-sampler.cpp): repetition penalty, top-k, top-p, min-p, temperature; a draw
// from the remaining distribution (TokenDistribution) ends the chain.

/// Penalises tokens that occur in the last `lastN` tokens of the history, once per distinct token:
/// a positive logit is divided by `penalty`, a zero or negative one multiplied (matches llama.cpp
/// `llama_sampler_penalties_apply` with frequency and presence penalties at 0).
public struct RepetitionPenalty {
    public var penalty: Float
    public var lastN: Int
    private var stamps: [UInt32] = []
    private var generation: UInt32 = 0

    public init(penalty: Float, lastN: Int) {
        self.penalty = penalty
        self.lastN = lastN
    }

    public var isEnabled: Bool { penalty != 1 && lastN != 0 }

    /// Applies the penalty to `logits` in place. History ids outside the vocabulary are ignored.
    public mutating func apply(to logits: UnsafeMutableBufferPointer<Float>, history: [Int32]) {
        guard isEnabled, !history.isEmpty else { return }
        if stamps.count != logits.count {
            stamps = Array(repeating: 0, count: logits.count)
            generation = 0
        }
        generation &+= 1
        if generation == 0 {  // wrapped: clear old marks
            for index in stamps.indices { stamps[index] = 0 }
            generation = 1
        }
        let window = lastN < 0 ? history.count : min(lastN, history.count)
        for token in history[(history.count - window)...] {
            let index = Int(token)
            guard index >= 0, index < logits.count, stamps[index] != generation else { continue }
            stamps[index] = generation
            if logits[index] <= 0 {
                logits[index] *= penalty
            } else {
                logits[index] /= penalty
            }
        }
    }
}

/// Keeps the `k` highest logits (all when `k <= 0`), sorted descending (matches llama.cpp top-k).
public struct TopK {
    public var k: Int

    public init(k: Int) { self.k = k }

    public func apply(to candidates: inout TokenCandidates) {
        guard k > 0, k < candidates.count else { return }
        candidates.sortPrefix(k)
        candidates.truncate(to: k)
        candidates.isSortedDescending = true
    }
}

/// Keeps the smallest prefix of the most likely tokens whose probabilities sum to at least `p`
/// (nucleus sampling, matches llama.cpp top-p with min_keep 0). Unsorted large sets are first
/// searched within their top 256, as llama.cpp does, before falling back to a full sort.
public struct TopP {
    public var p: Float

    public init(p: Float) { self.p = p }

    public func apply(to candidates: inout TokenCandidates) {
        guard p < 1, candidates.count > 1 else { return }
        let maxLogit = candidates.maxLogit
        let total = candidates.withLive { live in live.reduce(Float(0)) { $0 + expf($1.logit - maxLogit) } }
        var sortedCount = candidates.isSortedDescending ? candidates.count : min(256, candidates.count)
        if !candidates.isSortedDescending { candidates.sortPrefix(sortedCount) }
        var cumulative: Float = 0
        var index = 0
        while index < candidates.count {
            if index == sortedCount {
                // Not reached within the sorted prefix: grow it fourfold (still cheaper than a full sort).
                sortedCount = min(candidates.count, sortedCount * 4)
                candidates.sortPrefix(sortedCount)
            }
            cumulative += expf(candidates[index].logit - maxLogit) / total
            index += 1
            if cumulative >= p { break }
        }
        candidates.truncate(to: index)
        candidates.isSortedDescending = true
    }
}

/// Drops tokens whose probability is below `p` times the most likely token's, i.e. whose logit is
/// below `max + log(p)` (matches llama.cpp min-p).
public struct MinP {
    public var p: Float

    public init(p: Float) { self.p = p }

    public func apply(to candidates: inout TokenCandidates) {
        guard p > 0, candidates.count > 1 else { return }
        let threshold = candidates.maxLogit + logf(p)
        let kept = candidates.withLive { live in
            var kept = 0
            for index in live.indices where live[index].logit >= threshold {
                live[kept] = live[index]
                kept += 1
            }
            return kept
        }
        candidates.truncate(to: kept)
    }
}

/// Divides the logits by `temperature` (> 0; the sampler handles 0 as greedy).
public struct Temperature {
    public var temperature: Float

    public init(temperature: Float) { self.temperature = temperature }

    public func apply(to candidates: inout TokenCandidates) {
        guard temperature != 1 else { return }
        let scale = 1 / temperature
        candidates.withLive { live in
            for index in live.indices { live[index].logit *= scale }
        }
    }
}

/// Draws a token from the softmax of the remaining logits with one uniform number: the first
/// candidate whose running probability sum reaches it (matches llama.cpp `dist`).
public struct TokenDistribution {
    public init() {}

    public func sample(from candidates: inout TokenCandidates, using generator: inout Xoshiro256StarStar) -> Int32 {
        precondition(candidates.count > 0, "no candidates left to sample from")
        let uniform = generator.nextUnitDouble()
        let maxLogit = candidates.maxLogit
        return candidates.withLive { live in
            var total: Double = 0
            for entry in live { total += Double(expf(entry.logit - maxLogit)) }
            let target = uniform * total
            var running: Double = 0
            for entry in live {
                running += Double(expf(entry.logit - maxLogit))
                if running >= target { return entry.id }
            }
            return live[live.count - 1].id
        }
    }
}
