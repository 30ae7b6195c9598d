import Foundation

/// FrameExit (Ghodrati et al., CVPR 2021): clip-level decisions that look at frames coarse-to-fine and
/// stop as soon as a learned gate says the decision will not change.
///
/// Dimensions: T frames per clip (steps), D features per frame, K classes. At step t the frame
/// `order(T)[t]` is read, its backbone feature Φ (D floats, standardised with the policy's training
/// statistics) is max-accumulated, `z_t = max(z_{t-1}, Φ)`, the step's classifier gives K
/// probabilities, and the step's gate decides to exit.
public enum FrameExit {
    /// The coarse-to-fine frame order of the paper: middle, first, last, then bisecting the widest gap
    /// between frames already taken (ties: the gap whose midpoint is nearer the middle frame, then the
    /// earlier one; midpoints round half to even). For 10 frames this is the paper's
    /// 5, 0, 9, 2, 7, 4, 6, 3, 8, 1 (FrameExit's released code hard-codes that list). Every index in
    /// `0..<frameCount` appears exactly once.
    public static func order(frameCount: Int) -> [Int] {
        guard frameCount > 0 else { return [] }
        let middle = frameCount / 2
        var order = [middle]
        for end in [0, frameCount - 1] where !order.contains(end) { order.append(end) }
        let taken = order.sorted()
        var gaps: [(Int, Int)] = zip(taken, taken.dropFirst()).filter { $1 - $0 > 1 }
        func midpoint(_ gap: (Int, Int)) -> Int {
            let sum = gap.0 + gap.1
            if sum % 2 == 0 { return sum / 2 }
            let low = sum / 2
            return low % 2 == 0 ? low : low + 1   // half to even
        }
        while !gaps.isEmpty {
            var best = 0
            for i in gaps.indices.dropFirst() {
                let (a, b) = (gaps[i], gaps[best])
                let keyA = (-(a.1 - a.0), abs(midpoint(a) - middle), midpoint(a))
                let keyB = (-(b.1 - b.0), abs(midpoint(b) - middle), midpoint(b))
                if keyA < keyB { best = i }
            }
            let gap = gaps.remove(at: best)
            let m = midpoint(gap)
            order.append(m)
            for part in [(gap.0, m), (m, gap.1)] where part.1 - part.0 > 1 { gaps.append(part) }
        }
        return order
    }
}

/// A dense layer `y = W x + b` with W stored row-major as [outputCount, inputCount].
public struct LinearLayer: Codable, Equatable, Sendable {
    public var inputCount: Int
    public var outputCount: Int
    /// [outputCount, inputCount], row-major.
    public var weights: [Float]
    /// [outputCount]
    public var bias: [Float]

    /// A zero layer of the given size.
    public init(inputCount: Int, outputCount: Int) {
        self.inputCount = inputCount
        self.outputCount = outputCount
        weights = [Float](repeating: 0, count: inputCount * outputCount)
        bias = [Float](repeating: 0, count: outputCount)
    }

    /// `W x + b`; `x` has `inputCount` elements.
    public func apply(_ x: [Float]) -> [Float] {
        precondition(x.count == inputCount, "LinearLayer input has \(x.count) elements, expected \(inputCount)")
        var y = bias
        for o in 0..<outputCount {
            var sum: Float = 0
            let row = o * inputCount
            for i in 0..<inputCount { sum += weights[row + i] * x[i] }
            y[o] += sum
        }
        return y
    }

    /// Multiply-accumulates of one `apply`.
    public var macs: Int { inputCount * outputCount }

    func check(inputCount expectedIn: Int, outputCount expectedOut: Int, name: String) throws {
        guard inputCount == expectedIn, outputCount == expectedOut, weights.count == expectedIn * expectedOut,
              bias.count == expectedOut, !weights.contains(where: { !$0.isFinite }), !bias.contains(where: { !$0.isFinite })
        else {
            throw FrameExitError.badParameters(
                "\(name) must be \(expectedOut)x\(expectedIn) with \(expectedOut) biases and finite values; found \(outputCount)x\(inputCount), \(weights.count) weights, \(bias.count) biases")
        }
    }
}

/// The trained FrameExit parameters: per-step classifiers and gates, plus the feature standardisation.
///
/// The gate at step t is a logistic unit on `FrameExitPolicy.gateInputCount` summary statistics of
/// [z_t, z_{t-1}] (see `gateInputs`) — a deliberately small stand-in for the paper's MLP on the
/// concatenated features, because the real clip sets here have tens of clips, not thousands.
/// Step 0 exits only when the classifier's top probability exceeds `firstStepConfidence` (the paper's
/// rule); the last step always exits. `gates[0]` and `gates[stepCount - 1]` are therefore unused.
public struct FrameExitPolicy: Codable, Equatable, Sendable {
    /// T: frames per clip.
    public var stepCount: Int
    /// D: features per frame.
    public var featureCount: Int
    /// K class names, in label order.
    public var classNames: [String]
    /// Standardisation `(x - featureMean) * featureScale`, both [D], from the training frames.
    public var featureMean: [Float]
    public var featureScale: [Float]
    /// T classifiers, each D → K logits.
    public var classifiers: [LinearLayer]
    /// T gates, each `gateInputCount` → 1 logit; exit when sigmoid ≥ 0.5.
    public var gates: [LinearLayer]
    /// Step 0 exits when the top probability is above this (the paper uses 0.99).
    public var firstStepConfidence: Float
    /// Where the parameters came from (features, split, trainer options).
    public var provenance: String

    /// Inputs of every gate: top probability, top-1 minus top-2 probability, mean |z_t − z_{t−1}|
    /// (standardised units), and whether the top class equals the previous step's.
    public static let gateInputCount = 4

    public init(stepCount: Int, featureCount: Int, classNames: [String], featureMean: [Float], featureScale: [Float],
                classifiers: [LinearLayer], gates: [LinearLayer], firstStepConfidence: Float = 0.99, provenance: String = "") {
        self.stepCount = stepCount
        self.featureCount = featureCount
        self.classNames = classNames
        self.featureMean = featureMean
        self.featureScale = featureScale
        self.classifiers = classifiers
        self.gates = gates
        self.firstStepConfidence = firstStepConfidence
        self.provenance = provenance
    }

    /// K
    public var classCount: Int { classNames.count }

    /// Checks every size and value; the decoder calls it, so a decoded policy is safe to run.
    public func validate() throws {
        guard stepCount >= 1, featureCount >= 1, classNames.count >= 2 else {
            throw FrameExitError.badParameters("need at least 1 step, 1 feature and 2 classes; found \(stepCount), \(featureCount), \(classNames.count)")
        }
        guard featureMean.count == featureCount, featureScale.count == featureCount,
              !featureMean.contains(where: { !$0.isFinite }), !featureScale.contains(where: { !($0.isFinite && $0 > 0) })
        else { throw FrameExitError.badParameters("featureMean/featureScale must hold \(featureCount) finite values (scales > 0)") }
        guard classifiers.count == stepCount, gates.count == stepCount else {
            throw FrameExitError.badParameters("need \(stepCount) classifiers and gates; found \(classifiers.count) and \(gates.count)")
        }
        for (t, layer) in classifiers.enumerated() { try layer.check(inputCount: featureCount, outputCount: classCount, name: "classifier \(t)") }
        for (t, layer) in gates.enumerated() { try layer.check(inputCount: Self.gateInputCount, outputCount: 1, name: "gate \(t)") }
    }

    private enum CodingKeys: String, CodingKey {
        case stepCount, featureCount, classNames, featureMean, featureScale, classifiers, gates, firstStepConfidence, provenance
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(stepCount: try c.decode(Int.self, forKey: .stepCount), featureCount: try c.decode(Int.self, forKey: .featureCount),
                  classNames: try c.decode([String].self, forKey: .classNames),
                  featureMean: try c.decode([Float].self, forKey: .featureMean), featureScale: try c.decode([Float].self, forKey: .featureScale),
                  classifiers: try c.decode([LinearLayer].self, forKey: .classifiers), gates: try c.decode([LinearLayer].self, forKey: .gates),
                  firstStepConfidence: try c.decodeIfPresent(Float.self, forKey: .firstStepConfidence) ?? 0.99,
                  provenance: try c.decodeIfPresent(String.self, forKey: .provenance) ?? "")
        try validate()
    }

    /// Loads and validates parameters written by `write(to:)`.
    public init(contentsOf path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw FrameExitError.badParameters("cannot read \(path); pass a file written by `sparrow classify-clips --train`")
        }
        self = try JSONDecoder().decode(FrameExitPolicy.self, from: data)
    }

    /// The parameters as pretty JSON (stable key order).
    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self)
    }

    /// Standardised copy of one frame's feature.
    func standardize(_ feature: [Float]) -> [Float] {
        (0..<featureCount).map { (feature[$0] - featureMean[$0]) * featureScale[$0] }
    }

    /// The gate inputs at a step (see `gateInputCount`); `previous` is nil at step 0.
    static func gateInputs(probabilities p: [Float], z: [Float], previous: (z: [Float], probabilities: [Float])?) -> [Float] {
        let sorted = p.sorted(by: >)
        let top = sorted[0], second = sorted.count > 1 ? sorted[1] : 0
        guard let previous else { return [top, top - second, 0, 0] }
        var change: Float = 0
        for i in z.indices { change += abs(z[i] - previous.z[i]) }
        change /= Float(max(z.count, 1))
        let same: Float = argmax(p) == argmax(previous.probabilities) ? 1 : 0
        return [top, top - second, change, same]
    }
}

/// Softmax of logits (numerically stable).
func softmax(_ logits: [Float]) -> [Float] {
    let m = logits.max() ?? 0
    let e = logits.map { Float(Foundation.exp(Double($0 - m))) }
    let s = e.reduce(0, +)
    return e.map { $0 / s }
}

/// Index of the largest element (first on ties).
func argmax(_ values: [Float]) -> Int {
    var best = 0
    for i in values.indices where values[i] > values[best] { best = i }
    return best
}

func sigmoid(_ x: Float) -> Float { 1 / (1 + Float(Foundation.exp(Double(-x)))) }

/// A FrameExit decision for one clip.
public struct ClipDecision: Equatable, Sendable, Codable {
    /// Frame indices read, in the order they were read.
    public var framesUsed: [Int]
    /// The class chosen (index into `FrameExitPolicy.classNames`).
    public var label: Int
    /// K probabilities of the exiting step's classifier.
    public var probabilities: [Float]
    /// The step that exited (`framesUsed.count - 1`).
    public var exitedAt: Int
}

/// Runs a `FrameExitPolicy` on clips, pulling per-frame features only as they are needed.
public struct FrameExitClassifier: Sendable {
    public let policy: FrameExitPolicy

    public init(policy: FrameExitPolicy) { self.policy = policy }

    /// Classifies one clip of `frameCount` frames (must equal the policy's `stepCount`).
    /// - Parameters:
    ///   - features: the backbone feature of frame i (D floats); called once per frame read, in
    ///     `FrameExit.order` order, and never for frames after the exit.
    ///   - earlyExit: false reads every frame (the all-frames decision of the same policy).
    public func classify(clip frameCount: Int, earlyExit: Bool = true, features: (Int) throws -> [Float]) throws -> ClipDecision {
        guard frameCount == policy.stepCount else {
            throw FrameExitError.wrongClipLength(frameCount: frameCount, expected: policy.stepCount)
        }
        let order = FrameExit.order(frameCount: frameCount)
        var z = [Float](repeating: -.infinity, count: policy.featureCount)   // [D]
        var previous: (z: [Float], probabilities: [Float])?
        var used: [Int] = []
        for (t, frame) in order.enumerated() {
            let raw = try features(frame)
            guard raw.count == policy.featureCount else {
                throw FrameExitError.wrongFeatureCount(frame: frame, count: raw.count, expected: policy.featureCount)
            }
            let phi = policy.standardize(raw)
            for i in z.indices { z[i] = max(z[i], phi[i]) }
            used.append(frame)
            let p = softmax(policy.classifiers[t].apply(z))
            let last = t == order.count - 1
            var exit = last
            if earlyExit && !last {
                if t == 0 {
                    exit = (p.max() ?? 0) > policy.firstStepConfidence
                } else {
                    let g = FrameExitPolicy.gateInputs(probabilities: p, z: z, previous: previous)
                    exit = sigmoid(policy.gates[t].apply(g)[0]) >= 0.5
                }
            }
            if exit { return ClipDecision(framesUsed: used, label: argmax(p), probabilities: p, exitedAt: t) }
            previous = (z, p)
        }
        preconditionFailure("the last step always exits")
    }

    /// Head MACs (classifiers and gates) for a clip that read `framesUsed` frames.
    public func headMACs(framesUsed: Int) -> Int {
        (0..<framesUsed).reduce(0) { $0 + policy.classifiers[$1].macs + policy.gates[$1].macs }
    }
}

/// Why FrameExit parameters or inputs were refused.
public enum FrameExitError: Error, CustomStringConvertible, Equatable {
    case badParameters(String)
    case wrongClipLength(frameCount: Int, expected: Int)
    case wrongFeatureCount(frame: Int, count: Int, expected: Int)
    case badTrainingSet(String)

    public var description: String {
        switch self {
        case .badParameters(let m): return "FrameExit parameters: \(m)"
        case .wrongClipLength(let n, let e):
            return "a clip of \(n) frames was given to a FrameExit policy trained for \(e)-frame clips; use --clip-frames \(e) or retrain"
        case .wrongFeatureCount(let f, let n, let e):
            return "frame \(f) has \(n) features but the FrameExit policy expects \(e); the feature extractor and the parameters do not match — retrain with `sparrow classify-clips --train`"
        case .badTrainingSet(let m): return "FrameExit training set: \(m)"
        }
    }
}
