import ArgumentParser
import Foundation
import SparrowDiffusion
import SparrowLLM
import SparrowRuntime

/// `--type`: a GGUF recipe, or int8 for a diffusers Stable Diffusion folder.
enum QuantizeTarget: ExpressibleByArgument, Equatable {
    case gguf(QuantizationRecipe)
    case int8

    init?(argument: String) {
        if argument == "int8" { self = .int8 } else if let r = QuantizationRecipe(rawValue: argument) { self = .gguf(r) } else { return nil }
    }

    static var allValueStrings: [String] { QuantizationRecipe.allCases.map(\.rawValue) + ["int8"] }
}

/// `sparrow quantize IN OUT --type T`: a GGUF model re-quantized as llama-quantize would (no imatrix).
struct QuantizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quantize",
        abstract: "Quantize a GGUF model to a new GGUF, as llama-quantize does, or a Stable Diffusion folder to int8.",
        discussion: """
            Bytes match llama.cpp's reference quantizers (quantize_row_*_ref) without an importance matrix. \
            All metadata (tokenizer, chat template, …) is copied; general.file_type and \
            general.quantization_version are set as llama.cpp sets them.

            Tensor types (llama.cpp llama_tensor_get_type):
              - only tensors with 2+ dimensions named *weight are quantized; norms, 1-D tensors and \
            position/token-type embeddings keep their type (usually F32);
              - output.weight (token_embd.weight when embeddings are tied) gets Q6_K, or Q8_0 when its \
            rows are not a multiple of the recipe type's block (q8_0 keeps Q8_0);
              - q4_k_m: attn_v / attn_qkv and ffn_down get Q6_K in layers i with i < n/8, i >= 7n/8 or \
            (i - n/8) % 3 == 2 (use_more_bits), everything else Q4_K;
              - q4_k and q5_k are pure (like --pure); file type recorded as Q4_K_S / Q5_K_S;
              - rows not a multiple of 256 fall back: Q4_K -> Q5_0, Q5_K -> Q5_1, Q6_K -> Q8_0 (F16 if \
            not a multiple of 32 either);
              - a tensor whose chosen type equals its source type is copied unchanged.
            Not modelled: Falcon, mixture-of-experts and 70B-specific rules.

            A Hugging Face folder is first converted as llama.cpp's convert_hf_to_gguf.py does (llama             hyper-parameters, Q/K rows permuted to GGUF's RoPE layout, tokenizer.model as tokenizer.ggml.*             keys, the chat template), into a float GGUF next to OUT that is removed afterwards.

            A diffusers Stable Diffusion folder (model_index.json) with --type int8 is copied to the folder \
            OUT with its unet/ and text_encoder/ layer weights stored as I8 plus one F32 scale per output \
            channel (X.weight_scale); everything else (VAE, tokenizer, scheduler, configs) is copied \
            unchanged. `sparrow imagine --model OUT` then loads it as int8 without quantizing.
            """)

    @Argument(help: "Input GGUF file, a Hugging Face LlamaForCausalLM folder (config.json, safetensors, tokenizer.model), or a diffusers Stable Diffusion folder.")
    var input: String

    @Argument(help: "Output GGUF file or folder (written to OUT.partial, renamed when complete).")
    var output: String

    @Option(name: .long, help: "Target: \(QuantizationRecipe.allCases.map(\.rawValue).joined(separator: ", ")) (GGUF), or int8 (Stable Diffusion folder).")
    var type: QuantizeTarget

    @Flag(name: .long, help: "Print per-tensor RMSE and max abs error of dequantize(quantize(w)) vs w.")
    var stats = false

    func validate() throws {
        let resolved = { (p: String) in URL(fileURLWithPath: p).standardizedFileURL.resolvingSymlinksInPath().path }
        if resolved(input) == resolved(output) {
            throw ValidationError("OUT must differ from IN")
        }
        if type == .int8 && stats { throw ValidationError("--stats applies to GGUF types, not int8") }
    }

    func run() throws {
        guard FileManager.default.fileExists(atPath: input) else { throw CLIError("cannot find \(input)") }
        let isDiffusers = FileManager.default.fileExists(atPath: input + "/model_index.json")
        switch type {
        case .int8:
            guard isDiffusers else {
                throw CLIError("--type int8 quantizes a diffusers Stable Diffusion folder (with model_index.json); \(input) is not one. GGUF types: \(QuantizationRecipe.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return try quantizeDiffusers()
        case .gguf(let recipe):
            guard !isDiffusers else {
                throw CLIError("\(input) is a Stable Diffusion folder: use --type int8 (\(recipe) is a GGUF type)")
            }
            try quantizeGGUF(recipe)
        }
    }

    /// `IN` diffusers folder → `OUT` folder with int8 UNet and text-encoder weights.
    private func quantizeDiffusers() throws {
        let start = Date()
        let reports = try QuantizedFolderWriter.write(folder: input, to: output) { r in
            printError(r.file + String(format: ": %.1f MiB -> %.1f MiB (%d of %d tensors int8)", Double(r.bytesBefore) / 1048576,
                                       Double(r.bytesAfter) / 1048576, r.quantizedTensorCount, r.tensorCount))
        }
        let before = reports.reduce(0) { $0 + $1.bytesBefore }, after = reports.reduce(0) { $0 + $1.bytesAfter }
        printError(String(format: "%.1f MiB -> %.1f MiB in %.1f s", Double(before) / 1048576, Double(after) / 1048576,
                          Date().timeIntervalSince(start)))
        print(output)
    }

    /// `IN` GGUF (or Hugging Face Llama folder) → `OUT` GGUF quantized with `recipe`.
    private func quantizeGGUF(_ type: QuantizationRecipe) throws {
        var source = input
        var converted: String? = nil
        defer { if let converted { try? FileManager.default.removeItem(atPath: converted) } }
        if HuggingFaceFolder.isFolder(input) {
            printError("converting \(input) to GGUF")
            let path = output + ".source.partial"
            try HuggingFaceFolder(path: input).ggufWriter().write(to: path)
            converted = path
            source = path
        }
        let model = try GGUFFile(path: source)
        let start = Date()
        var sourceBytes = 0, outputBytes = 0
        let writer = try ModelQuantizer.quantize(model, recipe: type, statistics: stats) { r in
            let elements = r.dimensions.reduce(1, *)
            sourceBytes += r.sourceType.byteCount(elements: elements) ?? 0
            outputBytes += r.type.byteCount(elements: elements) ?? 0
            func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }
            var line = String(format: "[%3d/%3d] ", r.index + 1, r.count) + pad(r.name, 28) + " "
                + pad(r.dimensions.map(String.init).joined(separator: "x"), 11) + " " + pad(r.sourceType.description, 4)
                + " -> " + pad(r.type.description, 4)
            if r.copied { line += " (copied)" }
            if let f = r.fallback { line += " fallback: \(f)" }
            if stats {
                if let s = r.statistics {
                    line += String(format: " rmse %.3e max %.3e", s.rootMeanSquareError, s.maxAbsoluteError)
                } else {
                    line += " rmse n/a (copied)"
                }
            }
            printError(line)
        }
        printError("writing \(output)")
        QuantizeInterrupt.install(partialPath: output + ".partial")
        defer { QuantizeInterrupt.uninstall() }
        try writer.write(to: output)
        printError(String(format: "%.1f MiB -> %.1f MiB in %.1f s", Double(sourceBytes) / 1048576, Double(outputBytes) / 1048576,
                          Date().timeIntervalSince(start)))
        print(output)
    }
}

/// Ctrl-C while the output is written removes the partial file before exiting.
private enum QuantizeInterrupt {
    nonisolated(unsafe) static var partial: UnsafeMutablePointer<CChar>? = nil

    static func install(partialPath: String) {
        partial = strdup(partialPath)
        signal(SIGINT) { _ in
            if let p = QuantizeInterrupt.partial { unlink(p) }
            _exit(130)
        }
    }

    static func uninstall() {
        signal(SIGINT, SIG_DFL)
        free(partial)
        partial = nil
    }
}
