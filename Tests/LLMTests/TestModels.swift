import Foundation
import SparrowRuntime

/// Paths of the real model files the tests use. They are fetched by `Scripts/fetch-models.sh`
/// (called by the README's test command); a missing file fails the test with that instruction.
enum TestModels {
    static let smolLM2ID = "smollm2-135m-instruct"
    static let smolLM2File = "SmolLM2-135M-Instruct.Q4_1.gguf"

    static func smolLM2() throws -> String {
        let path = ModelStore.path(id: smolLM2ID, fileName: smolLM2File)
        guard FileManager.default.fileExists(atPath: path) else {
            throw MissingModel(path: path)
        }
        return path
    }

    /// The F16 re-encoding of SmolLM2 made by Scripts/requantize-gguf.py (as the llama.cpp F16
    /// reference was made with llama-quantize --allow-requantize).
    static func smolLM2F16() throws -> String {
        let path = ModelStore.path(id: smolLM2ID, fileName: "SmolLM2-135M-Instruct.F16.gguf")
        guard FileManager.default.fileExists(atPath: path) else { throw MissingModel(path: path) }
        return path
    }

    static let gemma3ID = "gemma3-270m"
    static let gemma3File = "gemma-3-270m-q4_k_m.gguf"

    /// Gemma-3 270M Q4_K_M (weights-manifest/gemma3-270m.json); SPARROW_GEMMA3 overrides the path
    /// (e.g. a float re-encoding while debugging).
    static func gemma3() throws -> String {
        let path = ProcessInfo.processInfo.environment["SPARROW_GEMMA3"] ?? ModelStore.path(id: gemma3ID, fileName: gemma3File)
        guard FileManager.default.fileExists(atPath: path) else { throw MissingModel(path: path) }
        return path
    }

    struct MissingModel: Error, CustomStringConvertible {
        let path: String
        var description: String { "model file missing at \(path): run Scripts/fetch-models.sh (or `sparrow models fetch`)" }
    }

    /// ../shared/reference, found from this source file's location.
    static var referenceDirectory: String {
        let here = URL(fileURLWithPath: #filePath)
        return here.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("shared/reference").path
    }
}
