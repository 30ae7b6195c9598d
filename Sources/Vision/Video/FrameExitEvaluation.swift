import Foundation

/// FrameExit on every clip of some videos, compared with the all-frames teacher.
public struct FrameExitEvaluation: Codable, Sendable {
    /// One clip's result.
    public struct Clip: Codable, Sendable {
        public var video: String
        /// Index of the clip within its video.
        public var clip: Int
        /// First frame of the clip in the video.
        public var firstFrame: Int
        /// Clip-relative frame indices read, in reading order.
        public var framesUsed: [Int]
        public var decision: String
        /// Teacher: the class of the clip's mean coverage over all frames' dense masks.
        public var allFramesDecision: String
        public var coverage: Float
        /// The same policy reading every frame (early exit off).
        public var policyAllFramesDecision: String
        public var agrees: Bool { decision == allFramesDecision }
    }

    public var clips: [Clip]
    public var framesPerClip: Int
    public var backboneMACsPerFrame: Int
    /// Average frames read per clip with early exit.
    public var averageFramesUsed: Double
    /// Average MACs per clip (backbone on the frames read + heads) with early exit.
    public var averageMACs: Double
    /// MACs per clip reading every frame (backbone + heads).
    public var allFramesMACs: Double
    /// Fraction of clips whose early-exit decision equals the all-frames teacher decision.
    public var agreement: Double
    /// The same for the policy with early exit off (how good the heads are).
    public var policyAllFramesAgreement: Double
    /// Fraction of clips where early exit gives the same decision as the policy reading all frames.
    public var agreementWithPolicyAllFrames: Double

    /// Classifies the clips of each source with early exit and with every frame, against the teacher.
    /// - Parameter parts: only these clips per video (e.g. a split's test parts); nil = every clip.
    public static func run(policy: FrameExitPolicy, task: CoverageTask, sources: [FrameFeatureSource],
                           parts: [CoverageSplit.Part]? = nil) throws -> FrameExitEvaluation {
        guard task.clipFrameCount == policy.stepCount else {
            throw FrameExitError.wrongClipLength(frameCount: task.clipFrameCount, expected: policy.stepCount)
        }
        let classifier = FrameExitClassifier(policy: policy)
        var clips: [Clip] = []
        var macs = 0.0, frames = 0.0
        let macsPerFrame = sources.first?.macsPerFrame ?? 0
        for source in sources {
            let ranges = task.clips(frameCount: source.frameCount)
            var selected = Array(ranges.indices)
            if let parts {
                selected = parts.filter { $0.video == source.name }.flatMap { part -> [Int] in
                    let from = max(part.from, 0), to = min(part.to, ranges.count)
                    return from < to ? Array(from..<to) : []
                }
            }
            for index in selected {
                let range = ranges[index]
                let coverages = try range.map { try source.coverage(frame: $0) }
                let feature: (Int) throws -> [Float] = { try source.features(frame: range.lowerBound + $0) }
                let early = try classifier.classify(clip: range.count, features: feature)
                let full = try classifier.classify(clip: range.count, earlyExit: false, features: feature)
                let meanCoverage = coverages.reduce(0, +) / Float(max(coverages.count, 1))
                clips.append(Clip(video: source.name, clip: index, firstFrame: range.lowerBound, framesUsed: early.framesUsed,
                                  decision: policy.classNames[early.label],
                                  allFramesDecision: task.classNames[task.label(coverage: meanCoverage)],
                                  coverage: meanCoverage, policyAllFramesDecision: policy.classNames[full.label]))
                frames += Double(early.framesUsed.count)
                macs += Double(early.framesUsed.count * source.macsPerFrame + classifier.headMACs(framesUsed: early.framesUsed.count))
            }
        }
        let n = Double(max(clips.count, 1))
        let t = policy.stepCount
        return FrameExitEvaluation(
            clips: clips, framesPerClip: t, backboneMACsPerFrame: macsPerFrame,
            averageFramesUsed: frames / n, averageMACs: macs / n,
            allFramesMACs: Double(t * macsPerFrame + classifier.headMACs(framesUsed: t)),
            agreement: Double(clips.filter(\.agrees).count) / n,
            policyAllFramesAgreement: Double(clips.filter { $0.policyAllFramesDecision == $0.allFramesDecision }.count) / n,
            agreementWithPolicyAllFrames: Double(clips.filter { $0.policyAllFramesDecision == $0.decision }.count) / n)
    }
}
