import SparrowRuntime

/// Namespace of the SparrowDiffusion module; its pipelines arrive with their issues.
public enum SparrowDiffusion {
    /// The runtime this module computes with.
    public static let runtimeVersion = Sparrow.version
}
