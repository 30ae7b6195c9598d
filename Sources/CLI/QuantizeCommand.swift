import ArgumentParser
import Foundation
import SparrowLLM
import SparrowRuntime

extension QuantizationRecipe: ExpressibleByArgument {}

/// `sparrow quantize IN OUT --type T`: a GGUF model re-quantized as llama-quantize would (no imatrix).
struct QuantizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quantize",
        abstract: "Quantize a GGUF model (F32, F16, BF16 or any type Sparrow dequantizes) to a new GGUF, as llama-quantize does.",
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
            """)

    @Argument(help: "Input GGUF file, or a Hugging Face LlamaForCausalLM folder (config.json, safetensors, tokenizer.model).")
    var input: String

    @Argument(help: "Output GGUF file (written to OUT.partial, renamed when complete).")
    var output: String

    @Option(name: .long, help: "Target: \(QuantizationRecipe.allCases.map(\.rawValue).joined(separator: ", ")).")
    var type: QuantizationRecipe

    @Flag(name: .long, help: "Print per-tensor RMSE and max abs error of dequantize(quantize(w)) vs w.")
    var stats = false

    func validate() throws {
        let resolved = { (p: String) in URL(fileURLWithPath: p).standardizedFileURL.resolvingSymlinksInPath().path }
        if resolved(input) == resolved(output) {
            throw ValidationError("OUT must differ from IN")
        }
    }

    func run() throws {
        guard FileManager.default.fileExists(atPath: input) else { throw CLIError("cannot find \(input)") }
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
