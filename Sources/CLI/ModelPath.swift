import SparrowRuntime

/// Maps `--model PATH|ID` to a verified file through the manifest and the model store.
func resolveModelPath(_ argument: String) throws -> String {
    try ModelStore.resolve(modelArgument: argument)
}
