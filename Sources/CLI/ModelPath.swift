import SparrowLLM
import SparrowRuntime

/// Maps `--model PATH|ID` to a Hugging Face model folder as given, or to a verified file through the
/// manifest and the model store.
func resolveModelPath(_ argument: String) throws -> String {
    if HuggingFaceFolder.isFolder(argument) { return argument }
    return try ModelStore.resolve(modelArgument: argument)
}
