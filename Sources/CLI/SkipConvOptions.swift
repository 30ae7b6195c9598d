import ArgumentParser
import Foundation
import SparrowVision

/// `--skip-conv [--threshold ε] [--block S] [--keyframe N]`: run a video's convolutions only where the
/// input changed since the previous frame (Skip-Conv, Habibian et al., CVPR 2021).
///
/// The segment command declares these; the Skip-Conv runner reads them.
struct SkipConvOptions: ParsableArguments {
    static let defaultThreshold: Float = 0.01
    static let defaultBlock = 4
    static let defaultKeyframe = 30
    static let allowedBlocks = [1, 2, 4, 8]

    @Flag(name: .customLong("skip-conv"), help: "Video only: recompute convolutions only where the frame changed.")
    var enabled = false

    @Option(name: .long, help: "Skip-Conv: a block is recomputed when its mean absolute input change exceeds ε (default \(SkipConvOptions.defaultThreshold); 0 recomputes every change).")
    var threshold: Float?

    @Option(name: .long, help: "Skip-Conv: gate block size in pixels, 1, 2, 4 or 8 (default \(SkipConvOptions.defaultBlock)).")
    var block: Int?

    @Option(name: .long, help: "Skip-Conv: run a full dense frame every N frames to stop drift (default \(SkipConvOptions.defaultKeyframe)).")
    var keyframe: Int?

    func validate() throws {
        if !enabled, threshold != nil || block != nil || keyframe != nil {
            throw ValidationError("--threshold, --block and --keyframe tune Skip-Conv; add --skip-conv")
        }
        if let threshold, !(threshold >= 0 && threshold.isFinite) { throw ValidationError("--threshold must be 0 or more") }
        if let block, !SkipConvOptions.allowedBlocks.contains(block) {
            throw ValidationError("--block must be one of \(SkipConvOptions.allowedBlocks.map(String.init).joined(separator: ", "))")
        }
        if let keyframe, keyframe < 1 { throw ValidationError("--keyframe must be at least 1") }
    }

    /// ε, with the default applied.
    var effectiveThreshold: Float { threshold ?? SkipConvOptions.defaultThreshold }
    /// Gate block size, with the default applied.
    var effectiveBlock: Int { block ?? SkipConvOptions.defaultBlock }
    /// Keyframe interval, with the default applied.
    var effectiveKeyframe: Int { keyframe ?? SkipConvOptions.defaultKeyframe }
}

/// Running totals of a Skip-Conv video for `sparrow segment --skip-conv`'s report.
struct SkipConvolutionTotals {
    private(set) var frames = 0, keyframes = 0
    private(set) var denseMACs = 0, executedMACs = 0

    mutating func add(_ stats: SkipConvolutionFrameStats) {
        frames += 1
        if stats.isKeyframe { keyframes += 1 }
        denseMACs += stats.denseMACs
        executedMACs += stats.executedMACs
    }

    /// One frame's line: MACs dense vs executed.
    func frameLine(_ stats: SkipConvolutionFrameStats, index: Int) -> String {
        let kind = stats.isKeyframe ? " (key frame)" : ""
        return "frame \(index): \(Self.millions(stats.executedMACs)) of \(Self.millions(stats.denseMACs)) MMACs executed\(kind)"
    }

    /// The whole video: mean MACs per frame dense vs executed and the savings.
    var summary: String {
        guard frames > 0 else { return "skip-conv: no frames" }
        let ratio = executedMACs > 0 ? Double(denseMACs) / Double(executedMACs) : .infinity
        return "skip-conv: \(frames) frames (\(keyframes) key frames), MMACs per frame \(Self.millions(denseMACs / frames)) dense vs "
            + "\(Self.millions(executedMACs / frames)) executed: \(String(format: "%.2f", ratio))× fewer"
    }

    private static func millions(_ macs: Int) -> String { String(format: "%.1f", Double(macs) / 1e6) }
}
