import SparrowRuntime
import SparrowVision

/// Builds the segmenter for `sparrow segment`.
///
/// Placeholder until SelfieSegmenter lands: the lead replaces this file with
/// `SelfieSegmenter(modelPath: modelPath, context: context)`.
func makeSegmenter(modelPath: String, variant: SegmentationModelVariant, context: ExecutionContext) throws -> ImageSegmenter {
    throw CLIError("the \(variant.rawValue) segmentation model runner is not built yet in this version of sparrow (model: \(modelPath))")
}
