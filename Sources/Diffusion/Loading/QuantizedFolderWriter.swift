import CSparrowKernels
import Foundation
import SparrowRuntime

/// Writes an int8 copy of a diffusers Stable Diffusion folder (`sparrow quantize IN OUT --type int8`).
///
/// Layout (Sparrow's own; the scale tensor's name follows compressed-tensors' `weight_scale`
/// convention): every file of the folder is copied unchanged except the `.safetensors` files of
/// `unet/` and `text_encoder/`, which keep their names and in which each layer weight `X.weight`
/// (2+ dimensions, not an embedding table) is stored as
///
///     X.weight        I8  same shape as the original, [O, I] or [O, I, kH, kW]
///     X.weight_scale  F32 [O]: weight[o, …] ≈ q[o, …] · scale[o]
///
/// quantized per output channel by `sp_quantize_rows_i8` (rows = first dimension, a convolution's row
/// holds I·kH·kW values) — the same code `--weights int8` quantizes with at load, so a quantized folder
/// loaded as stored gives the images `--weights int8` gives on the original. Every other tensor keeps
/// its dtype and bytes; `__metadata__` gains {"sparrow.quantization": "int8-per-output-channel"}.
/// The VAE, tokenizer, scheduler and configs are copied byte for byte.
public enum QuantizedFolderWriter {
    /// The `__metadata__` key and value a quantized weights file carries.
    public static let metadataKey = "sparrow.quantization"
    public static let metadataValue = "int8-per-output-channel"
    /// The component folders whose weights are quantized.
    public static let quantizedComponents = ["text_encoder", "unet"]

    /// What happened to one rewritten weights file.
    public struct FileReport: Sendable, Equatable {
        /// Path relative to the folder (`unet/diffusion_pytorch_model.fp16.safetensors`).
        public let file: String
        public let bytesBefore: Int
        public let bytesAfter: Int
        /// Weights stored as I8 (each with its scale).
        public let quantizedTensorCount: Int
        public let tensorCount: Int
    }

    /// Whether tensor `name` of `shape` is quantized: a layer weight (linear or convolution) with 2+
    /// dimensions. Embedding tables (token and position embeddings: a layer whose own name contains
    /// "embedding") are lookups, not layers, and keep their dtype; `time_embedding.linear_1.weight` is a
    /// linear layer like any other (and `--weights int8` quantizes it too).
    public static func quantizes(_ name: String, shape: [Int]) -> Bool {
        guard shape.count >= 2, name.hasSuffix(".weight"), shape.allSatisfy({ $0 > 0 }) else { return false }
        let layer = name.dropLast(".weight".count).split(separator: ".").last ?? ""
        return !layer.contains("embedding")
    }

    /// Copies the diffusers folder `input` to `output` with its UNet and text-encoder weights quantized
    /// (see the type's documentation). Writes `output.partial` and renames it when complete; refuses an
    /// `output` that exists, is `input` or lies inside it, an input without model_index.json, and weights
    /// that are already quantized. `progress` gets each rewritten file's report as it is written.
    @discardableResult
    public static func write(folder input: String, to output: String,
                             progress: (FileReport) -> Void = { _ in }) throws -> [FileReport] {
        let fm = FileManager.default
        let folder = try DiffusersFolder(path: input)
        func resolved(_ p: String) -> String { URL(fileURLWithPath: p).standardizedFileURL.resolvingSymlinksInPath().path }
        let source = resolved(folder.path), target = resolved(output)
        guard target != source else { throw DiffusionError("the output folder must differ from the input folder \(input)") }
        guard !target.hasPrefix(source + "/") else {
            throw DiffusionError("the output folder \(output) lies inside the input folder \(input); choose a folder outside it")
        }
        guard !fm.fileExists(atPath: output) else {
            throw DiffusionError("\(output) already exists; remove it or choose another output folder")
        }
        let partial = output + ".partial"
        if fm.fileExists(atPath: partial) { try fm.removeItem(atPath: partial) }  // an interrupted earlier run
        var complete = false
        defer { if !complete { try? fm.removeItem(atPath: partial) } }

        guard let walker = fm.enumerator(atPath: source) else { throw DiffusionError("cannot list \(input)") }
        let files = walker.compactMap { $0 as? String }.sorted()
        try fm.createDirectory(atPath: partial, withIntermediateDirectories: true)
        var reports: [FileReport] = []
        for file in files {
            let from = resolved(source + "/" + file), to = partial + "/" + file
            var isFolder: ObjCBool = false
            guard fm.fileExists(atPath: from, isDirectory: &isFolder) else { continue }  // a dangling link
            if isFolder.boolValue {
                try fm.createDirectory(atPath: to, withIntermediateDirectories: true)
                continue
            }
            let component = file.split(separator: "/").first.map(String.init) ?? ""
            guard quantizedComponents.contains(component), file.hasSuffix(".safetensors") else {
                try fm.copyItem(atPath: from, toPath: to)
                continue
            }
            let (bytes, quantized, count) = try quantizedFile(SafetensorsFile(path: from))
            guard fm.createFile(atPath: to, contents: Data(bytes)) else { throw DiffusionError("cannot write \(to)") }
            let before = (try fm.attributesOfItem(atPath: from)[.size] as? NSNumber)?.intValue ?? 0
            let report = FileReport(file: file, bytesBefore: before, bytesAfter: bytes.count,
                                    quantizedTensorCount: quantized, tensorCount: count)
            reports.append(report)
            progress(report)
        }
        try fm.moveItem(atPath: partial, toPath: output)
        complete = true
        return reports
    }

    /// The bytes of `file` with its layer weights quantized, and how many tensors were quantized of how
    /// many. Safetensors has no padding, so tensors go in order of decreasing element size (F32, then
    /// F16 / BF16, then I8; the original order within each) to keep every tensor aligned to its elements.
    static func quantizedFile(_ file: SafetensorsFile) throws -> (bytes: [UInt8], quantized: Int, tensors: Int) {
        if file.metadata[metadataKey] != nil || file.tensors.contains(where: { $0.type == .i8 }) {
            throw DiffusionError("\(file.path) is already quantized (\(file.metadata[metadataKey] ?? "I8 tensors")); quantize the original folder")
        }
        var writer = SafetensorsWriter()
        writer.metadata = file.metadata
        writer.metadata[metadataKey] = metadataValue
        var tensors: [(type: GGMLType, name: String, shape: [Int], data: [UInt8])] = []
        var quantized = 0
        for info in file.tensors {
            defer { file.release(info) }
            guard quantizes(info.name, shape: info.shape) else {
                tensors.append((info.type, info.name, info.shape, Array(file.bytes(of: info))))
                continue
            }
            let rows = info.shape[0], columns = info.elementCount / rows
            let (q, scale) = quantizeRows(file.floats(of: info), rows: rows, columns: columns)
            tensors.append((.i8, info.name, info.shape, q))
            tensors.append((.f32, info.name + ComponentWeights.scaleSuffix, [rows],
                            scale.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) }))
            quantized += 1
        }
        for size in Set(tensors.map(\.type.blockGeometry.bytes)).sorted(by: >) {
            for t in tensors where t.type.blockGeometry.bytes == size {
                writer.addTensor(name: t.name, dtype: t.type.description, shape: t.shape, data: t.data)
            }
        }
        return (writer.serialize(), quantized, file.tensors.count)
    }

    /// `sp_quantize_rows_i8` of a row-major [rows, columns] matrix: the int8 values (as bytes) and one
    /// scale per row.
    static func quantizeRows(_ w: [Float], rows: Int, columns: Int) -> (q: [UInt8], scale: [Float]) {
        precondition(w.count == rows * columns && rows > 0)
        var q = [UInt8](repeating: 0, count: w.count)
        var scale = [Float](repeating: 1, count: rows)
        w.withUnsafeBufferPointer { w in
            q.withUnsafeMutableBytes { q in
                scale.withUnsafeMutableBufferPointer { s in
                    sp_quantize_rows_i8(w.baseAddress!, Int64(rows), Int64(columns),
                                        q.baseAddress!.assumingMemoryBound(to: Int8.self), s.baseAddress!)
                }
            }
        }
        return (q, scale)
    }
}
