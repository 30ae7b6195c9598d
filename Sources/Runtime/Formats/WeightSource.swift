/// Named weight tensors a model can load from, whatever the file format (GGUF, safetensors).
///
/// Matrices are row-major `[rows, columns]` (rows = output dimension) and point into memory the
/// source keeps alive (its mapping); vectors are converted to floats. Every accessor throws a
/// `FormatError` naming the tensor and the file when it is missing, mis-shaped or of a type Sparrow
/// cannot compute with.
public protocol WeightSource: AnyObject, Sendable {
    /// The file or folder the weights come from, for messages.
    var path: String { get }
    /// Every tensor name the source holds (so loaders can refuse tensors they do not use).
    var tensorNames: [String] { get }
    /// Whether the source holds a tensor called `name`.
    func containsTensor(_ name: String) -> Bool
    /// The 2-D tensor `name` as a `[rows, columns]` weight matrix.
    func matrix(_ name: String, rows: Int, columns: Int) throws -> WeightMatrix
    /// The 1-D tensor `name` of `count` elements as floats.
    func vector(_ name: String, count: Int) throws -> [Float]
}

extension GGUFFile: WeightSource {
    public var tensorNames: [String] { tensors.map(\.name) }
    public func containsTensor(_ name: String) -> Bool { tensor(named: name) != nil }
}
