/// A diffusion usage error (bad prompt length, options out of range, a model that cannot run): the
/// message says what to change.
public struct DiffusionError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ message: String) { description = message }
}
