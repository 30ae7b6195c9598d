import Foundation
import Testing
@testable import SparrowVision

/// Deterministic pseudo-random numbers for test inputs (SplitMix64).
private struct SplitMix64 {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Uniform in [-1, 1).
    mutating func float() -> Float { Float(next() >> 40) / Float(1 << 23) - 1 }
    mutating func floats(_ n: Int) -> [Float] { (0..<n).map { _ in float() } }
}

/// A policy with random heads; `neverExit` makes every gate and the first-step rule refuse to exit.
private func randomPolicy(steps: Int, features: Int, classes: Int, seed: UInt64, neverExit: Bool) -> FrameExitPolicy {
    var rng = SplitMix64(state: seed)
    func layer(_ i: Int, _ o: Int) -> LinearLayer {
        var l = LinearLayer(inputCount: i, outputCount: o)
        l.weights = rng.floats(i * o)
        l.bias = rng.floats(o)
        return l
    }
    var gates = (0..<steps).map { _ in layer(FrameExitPolicy.gateInputCount, 1) }
    if neverExit {
        for t in gates.indices { gates[t].weights = [0, 0, 0, 0]; gates[t].bias = [-1000] }
    }
    return FrameExitPolicy(
        stepCount: steps, featureCount: features, classNames: (0..<classes).map { "c\($0)" },
        featureMean: rng.floats(features), featureScale: rng.floats(features).map { 0.5 + abs($0) },
        classifiers: (0..<steps).map { _ in layer(features, classes) }, gates: gates,
        firstStepConfidence: neverExit ? 1 : 0.99)
}

/// FrameExit order, policy, classifier, trainer and coverage task.
@Suite struct FrameExitTests {
    @Test func frameOrderForTenFramesIsThePapers() {
        #expect(FrameExit.order(frameCount: 10) == [5, 0, 9, 2, 7, 4, 6, 3, 8, 1])
    }

    @Test func frameOrderIsAPermutationForEveryCount() {
        #expect(FrameExit.order(frameCount: 0).isEmpty)
        for n in 1...64 {
            let order = FrameExit.order(frameCount: n)
            #expect(order.sorted() == Array(0..<n), "count \(n): \(order)")
            #expect(order.first == n / 2)
        }
    }

    @Test func earlyExitDisabledEqualsFullClipDecision() throws {
        let (steps, d, k) = (10, 6, 3)
        let policy = randomPolicy(steps: steps, features: d, classes: k, seed: 7, neverExit: true)
        var rng = SplitMix64(state: 99)
        let frames = (0..<steps).map { _ in rng.floats(d) }
        let classifier = FrameExitClassifier(policy: policy)
        let gated = try classifier.classify(clip: steps) { frames[$0] }
        let disabled = try classifier.classify(clip: steps, earlyExit: false) { frames[$0] }
        #expect(gated == disabled)
        #expect(gated.framesUsed == FrameExit.order(frameCount: steps))
        #expect(gated.exitedAt == steps - 1)

        // Oracle: the last classifier on the element-wise max of all standardised frames, in plain loops.
        var z = [Float](repeating: -.infinity, count: d)
        for f in frames { for i in 0..<d { z[i] = max(z[i], (f[i] - policy.featureMean[i]) * policy.featureScale[i]) } }
        var logits = policy.classifiers[steps - 1].bias
        for o in 0..<k { for i in 0..<d { logits[o] += policy.classifiers[steps - 1].weights[o * d + i] * z[i] } }
        let best = logits.indices.max { logits[$0] < logits[$1] }
        #expect(gated.label == best)
    }

    @Test func maxAccumulationIsFrameOrderIndependentWhenAllFramesAreRead() throws {
        let (steps, d) = (12, 5)
        let policy = randomPolicy(steps: steps, features: d, classes: 4, seed: 3, neverExit: true)
        var rng = SplitMix64(state: 11)
        let frames = (0..<steps).map { _ in rng.floats(d) }
        let reversed = Array(frames.reversed())
        let classifier = FrameExitClassifier(policy: policy)
        let a = try classifier.classify(clip: steps, earlyExit: false) { frames[$0] }
        let b = try classifier.classify(clip: steps, earlyExit: false) { reversed[$0] }
        // max is exact, so the accumulated features and probabilities are bit-identical.
        #expect(a.probabilities == b.probabilities)
        #expect(a.label == b.label)
    }

    @Test func classifierReadsOnlyTheFramesItUses() throws {
        let policy = randomPolicy(steps: 16, features: 4, classes: 3, seed: 5, neverExit: false)
        var rng = SplitMix64(state: 17)
        let frames = (0..<16).map { _ in rng.floats(4) }
        var reads: [Int] = []
        let decision = try FrameExitClassifier(policy: policy).classify(clip: 16) { reads.append($0); return frames[$0] }
        #expect(reads == decision.framesUsed)
        #expect(decision.framesUsed == Array(FrameExit.order(frameCount: 16).prefix(decision.exitedAt + 1)))
        #expect(throws: FrameExitError.self) { try FrameExitClassifier(policy: policy).classify(clip: 15) { frames[$0] } }
    }

    @Test func trainingFitsSeparableSyntheticClipsDeterministically() throws {
        // Class k: feature k is high (2) in one random frame of the clip, noise elsewhere — separable only
        // after max-accumulating the frames, which is what the classifiers see.
        let (steps, d, k) = (8, 5, 3)
        var rng = SplitMix64(state: 2024)
        var clips: [FrameExitTrainingClip] = []
        for c in 0..<36 {
            let label = c % k
            let hot = Int(rng.next() % UInt64(steps))
            let features = (0..<steps).map { t -> [Float] in
                var f = rng.floats(d).map { $0 * 0.3 }
                if t == hot { f[label] = 2 }
                return f
            }
            clips.append(FrameExitTrainingClip(features: features, label: label))
        }
        var options = FrameExitTrainingOptions()
        options.iterationCount = 400
        let policy = try FrameExitTrainer.train(clips: clips, classNames: ["a", "b", "c"], options: options)
        let again = try FrameExitTrainer.train(clips: clips, classNames: ["a", "b", "c"], options: options)
        #expect(policy == again)
        let classifier = FrameExitClassifier(policy: policy)
        let correct = try clips.filter { clip in try classifier.classify(clip: steps, earlyExit: false) { clip.features[$0] }.label == clip.label }.count
        #expect(correct == clips.count)
    }

    @Test func policyRoundTripsThroughJSONAndRejectsBadSizes() throws {
        let policy = randomPolicy(steps: 6, features: 3, classes: 2, seed: 1, neverExit: false)
        let data = try policy.jsonData()
        #expect(try JSONDecoder().decode(FrameExitPolicy.self, from: data) == policy)

        var broken = policy
        broken.classifiers[2].weights.removeLast()
        let bad = try broken.jsonData()
        #expect(throws: FrameExitError.self) { try JSONDecoder().decode(FrameExitPolicy.self, from: bad) }
    }

    @Test func bundledCoverageParametersMatchTheStandardTask() throws {
        let policy = try FrameExitPolicy.bundledCoverage()
        #expect(policy.stepCount == CoverageTask.standard.clipFrameCount)
        #expect(policy.classNames == CoverageTask.standard.classNames)
    }

    @Test func coverageTaskLabelsAndClips() throws {
        let task = CoverageTask.standard
        #expect(task.label(coverage: 0) == 0)
        #expect(task.label(coverage: 0.05) == 1)
        #expect(task.label(coverage: 0.3499) == 1)
        #expect(task.label(coverage: 0.35) == 2)
        #expect(task.teacherLabel(frameCoverages: [0.0, 0.08]) == 0)   // mean 4 %
        #expect(task.teacherLabel(frameCoverages: [0.2, 0.6]) == 2)    // mean 40 %
        #expect(CoverageTask.coverage(maskValues: [0.2, 0.6, 0.51, 0.5]) == 0.5)
        #expect(task.clips(frameCount: 40) == [0..<16, 16..<32])

        let split = try CoverageSplit(contentsOf: VisionFixtures.directory + "/frameexit/coverage-split.json")
        #expect(split.task == task)
    }
}
