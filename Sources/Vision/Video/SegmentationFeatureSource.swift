import Foundation
import SparrowRuntime

/// FrameExit's per-frame inputs computed by Sparrow itself: every frame of a video (decoded by ffmpeg
/// straight to the model's input size) runs through the selfie model once; the frame keeps the pooled
/// encoder feature (`SelfieSegmenter.encoderFeatures()`, what FrameExit reads) and the dense mask's
/// coverage (the all-frames teacher).
public final class SegmentationFeatureSource: FrameFeatureSource {
    public let name: String
    public let frameCount: Int
    public let macsPerFrame: Int
    private let featureRows: [[Float]]
    private let coverages: [Float]

    /// Runs `segmenter` (loaded with `keepingEncoderFeatures: true`) on every frame of `videoPath`;
    /// `progress(done, total)` is called after each frame.
    public init(videoPath: String, segmenter: SelfieSegmenter, progress: (Int, Int?) -> Void = { _, _ in }) throws {
        name = URL(fileURLWithPath: videoPath).deletingPathExtension().lastPathComponent
        let reader = try FFmpegVideoReader(path: videoPath, outputSize: (segmenter.inputWidth, segmenter.inputHeight))
        var features: [[Float]] = [], coverages: [Float] = []
        while let frame = try reader.next() {
            segmenter.setInput(frame)
            segmenter.run()
            features.append(try segmenter.encoderFeatures())
            coverages.append(CoverageTask.coverage(maskValues: Array(segmenter.interpreter.output())))
            progress(features.count, reader.frameCount)
        }
        featureRows = features
        self.coverages = coverages
        frameCount = features.count
        macsPerFrame = segmenter.encoderMACs
    }

    public func features(frame: Int) throws -> [Float] { featureRows[frame] }
    public func coverage(frame: Int) throws -> Float { coverages[frame] }
}
