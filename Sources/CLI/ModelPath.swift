import Foundation
import SparrowRuntime

/// Maps `--model PATH|ID` to a file: an existing path is used as is, otherwise the id is looked up
/// in the model store. (Replaced by the manifest-aware resolver.)
func resolveModelPath(_ argument: String) throws -> String {
    if FileManager.default.fileExists(atPath: argument) { return argument }
    let path = ModelStore.path(id: argument, fileName: "SmolLM2-135M-Instruct.Q4_1.gguf")
    guard FileManager.default.fileExists(atPath: path) else {
        throw FormatError(file: argument, offset: nil, message: "no such model file or id; run `sparrow models fetch`")
    }
    return path
}
