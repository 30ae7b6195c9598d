import Foundation

/// One training clip: per-frame backbone features in frame order and the teacher label.
public struct FrameExitTrainingClip: Sendable {
    /// [T][D], frame i at index i.
    public var features: [[Float]]
    /// Teacher class (index into the class names).
    public var label: Int

    public init(features: [[Float]], label: Int) {
        self.features = features
        self.label = label
    }
}

/// Trainer settings. Training is full-batch gradient descent from zero weights, so it is deterministic
/// without a random seed; the only randomness-like choice, the cross-validation folds for the gate
/// targets, is fixed (clip i goes to fold i mod `foldCount`).
public struct FrameExitTrainingOptions: Sendable, Equatable {
    /// Gradient steps per classifier / gate.
    public var iterationCount = 2000
    public var learningRate: Float = 0.1
    /// L2 weight decay on the weights (not the biases).
    public var weightDecay: Float = 0.01
    /// Folds for the out-of-fold classifier predictions the gates learn from (1 = in-sample).
    public var foldCount = 4
    /// Step 0 exits when the top probability is above this (the paper's 0.99).
    public var firstStepConfidence: Float = 0.99

    public init() {}
}

/// Trains the FrameExit heads: per step, a softmax classifier on the max-accumulated features
/// (cross-entropy against the teacher label), then per step a logistic gate whose target is "the
/// step's classifier already predicts the teacher label" — as in the paper, the gate learns to exit
/// when the current decision is right. The gate targets come from out-of-fold classifiers so that
/// they reflect accuracy on clips the classifier did not see (in-sample the classifiers are right on
/// every clip and the gates would learn to always exit).
public enum FrameExitTrainer {
    /// Trains a policy on clips of `stepCount` frames each.
    public static func train(clips: [FrameExitTrainingClip], classNames: [String], options: FrameExitTrainingOptions = .init(),
                             provenance: String = "") throws -> FrameExitPolicy {
        guard let first = clips.first else { throw FrameExitError.badTrainingSet("no clips") }
        let stepCount = first.features.count
        let featureCount = first.features.first?.count ?? 0
        guard stepCount >= 1, featureCount >= 1, classNames.count >= 2 else {
            throw FrameExitError.badTrainingSet("need clips of at least 1 frame with features and 2 classes")
        }
        for (i, clip) in clips.enumerated() {
            guard clip.features.count == stepCount, clip.features.allSatisfy({ $0.count == featureCount && !$0.contains(where: { !$0.isFinite }) }),
                  classNames.indices.contains(clip.label)
            else { throw FrameExitError.badTrainingSet("clip \(i) must have \(stepCount) frames of \(featureCount) finite features and a label below \(classNames.count)") }
        }

        // Standardisation from every training frame.
        var mean = [Double](repeating: 0, count: featureCount), square = mean
        var frameCount = 0
        for clip in clips {
            for f in clip.features {
                for i in 0..<featureCount { mean[i] += Double(f[i]); square[i] += Double(f[i]) * Double(f[i]) }
                frameCount += 1
            }
        }
        let featureMean = mean.map { Float($0 / Double(frameCount)) }
        let featureScale = (0..<featureCount).map { i -> Float in
            let m = mean[i] / Double(frameCount)
            let variance = max(square[i] / Double(frameCount) - m * m, 0)
            // A floor on the deviation: a channel (nearly) constant in training must not be scaled
            // up into the thousands on frames where it moves.
            return Float(1 / max(variance.squareRoot(), 1e-3))
        }
        var policy = FrameExitPolicy(
            stepCount: stepCount, featureCount: featureCount, classNames: classNames, featureMean: featureMean, featureScale: featureScale,
            classifiers: Array(repeating: LinearLayer(inputCount: featureCount, outputCount: classNames.count), count: stepCount),
            gates: Array(repeating: LinearLayer(inputCount: FrameExitPolicy.gateInputCount, outputCount: 1), count: stepCount),
            firstStepConfidence: options.firstStepConfidence, provenance: provenance)

        // z[c][t]: clip c's accumulated feature after step t.  [N][T][D]
        let accumulated = clips.map { accumulate($0, policy: policy) }
        let labels = clips.map(\.label)
        for t in 0..<stepCount {
            policy.classifiers[t] = fitSoftmax(inputs: accumulated.map { $0[t] }, labels: labels, classCount: classNames.count, options: options)
        }

        // Out-of-fold probabilities per clip and step.  [N][T][K]
        let folds = max(1, min(options.foldCount, clips.count))
        var heldOut = [[[Float]]](repeating: [], count: clips.count)
        for fold in 0..<folds {
            let trainIndices = clips.indices.filter { folds == 1 || $0 % folds != fold }
            let testIndices = clips.indices.filter { $0 % folds == fold }
            for t in 0..<stepCount {
                let layer = folds == 1 ? policy.classifiers[t]
                    : fitSoftmax(inputs: trainIndices.map { accumulated[$0][t] }, labels: trainIndices.map { labels[$0] },
                                 classCount: classNames.count, options: options)
                for c in testIndices { heldOut[c].append(softmax(layer.apply(accumulated[c][t]))) }
            }
        }
        for t in 1..<max(stepCount - 1, 1) {
            var inputs: [[Float]] = [], targets: [Float] = []
            for c in clips.indices {
                inputs.append(FrameExitPolicy.gateInputs(probabilities: heldOut[c][t], z: accumulated[c][t],
                                                         previous: (accumulated[c][t - 1], heldOut[c][t - 1])))
                targets.append(argmax(heldOut[c][t]) == labels[c] ? 1 : 0)
            }
            policy.gates[t] = fitLogistic(inputs: inputs, targets: targets, options: options)
        }
        try policy.validate()
        return policy
    }

    /// The standardised max-accumulated feature after each step, in FrameExit order.  [T][D]
    static func accumulate(_ clip: FrameExitTrainingClip, policy: FrameExitPolicy) -> [[Float]] {
        var z = [Float](repeating: -.infinity, count: policy.featureCount)
        return FrameExit.order(frameCount: clip.features.count).map { frame in
            let phi = policy.standardize(clip.features[frame])
            for i in z.indices { z[i] = max(z[i], phi[i]) }
            return z
        }
    }

    /// Multinomial logistic regression by full-batch gradient descent from zero weights.
    static func fitSoftmax(inputs: [[Float]], labels: [Int], classCount: Int, options: FrameExitTrainingOptions) -> LinearLayer {
        let d = inputs.first?.count ?? 0
        var layer = LinearLayer(inputCount: d, outputCount: classCount)
        guard !inputs.isEmpty else { return layer }
        let n = Float(inputs.count)
        var gradW = [Float](repeating: 0, count: d * classCount), gradB = [Float](repeating: 0, count: classCount)
        for _ in 0..<options.iterationCount {
            for i in gradW.indices { gradW[i] = 0 }
            for k in gradB.indices { gradB[k] = 0 }
            for (x, y) in zip(inputs, labels) {
                var p = softmax(layer.apply(x))
                p[y] -= 1   // d(cross-entropy)/d(logits)
                for k in 0..<classCount {
                    gradB[k] += p[k]
                    for i in 0..<d { gradW[k * d + i] += p[k] * x[i] }
                }
            }
            for i in gradW.indices { layer.weights[i] -= options.learningRate * (gradW[i] / n + options.weightDecay * layer.weights[i]) }
            for k in gradB.indices { layer.bias[k] -= options.learningRate * gradB[k] / n }
        }
        return layer
    }

    /// Binary logistic regression (binary cross-entropy) by full-batch gradient descent from zero.
    static func fitLogistic(inputs: [[Float]], targets: [Float], options: FrameExitTrainingOptions) -> LinearLayer {
        let d = inputs.first?.count ?? 0
        var layer = LinearLayer(inputCount: d, outputCount: 1)
        guard !inputs.isEmpty else { return layer }
        let n = Float(inputs.count)
        for _ in 0..<options.iterationCount {
            var gradW = [Float](repeating: 0, count: d), gradB: Float = 0
            for (x, y) in zip(inputs, targets) {
                let e = sigmoid(layer.apply(x)[0]) - y
                gradB += e
                for i in 0..<d { gradW[i] += e * x[i] }
            }
            for i in 0..<d { layer.weights[i] -= options.learningRate * (gradW[i] / n + options.weightDecay * layer.weights[i]) }
            layer.bias[0] -= options.learningRate * gradB / n
        }
        return layer
    }
}
