import SparrowRuntime
import SparrowVision

/// Opens each video with the segmentation model as a `FrameFeatureSource` for `classify-clips`: per
/// frame, `SelfieSegmenter.encoderFeatures(frame)` (D floats) and the dense mask's coverage
/// (`CoverageTask.coverage(maskValues:)`), plus the encoder's MACs per frame.
///
/// PLACEHOLDER: the lead replaces this one function once SelfieSegmenter and a video frame source are
/// in Sparrow. Until then, `--features FILE` (from Scripts/dump-frameexit-features.py) stands in.
func makeClipFeatureSources(videos: [String], model: String, threads: Int?) throws -> [FrameFeatureSource] {
    throw ClipFeaturesNotBuilt()
}

/// The Swift feature extractor is not wired yet.
struct ClipFeaturesNotBuilt: Error, CustomStringConvertible {
    var description: String {
        "classify-clips cannot run the segmentation model on videos yet; pass --features FILE.json written by Scripts/dump-frameexit-features.py"
    }
}
