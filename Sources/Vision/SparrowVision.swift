import SparrowRuntime

/// Namespace of the SparrowVision module; its pipelines arrive with their issues.
public enum SparrowVision {
    /// The runtime this module computes with.
    public static let runtimeVersion = Sparrow.version
}
