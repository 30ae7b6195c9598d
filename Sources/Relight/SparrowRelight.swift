import SparrowRuntime

/// Namespace of the SparrowRelight module; its pipelines arrive with their issues.
public enum SparrowRelight {
    /// The runtime this module computes with.
    public static let runtimeVersion = Sparrow.version
}
