import Foundation
import SparrowDiffusion
import SparrowRuntime
import Testing

/// `sparrow quantize IN OUT --type int8` on the tiny SD 1 folder: the file layout (I8 weights with
/// per-output-channel scales, everything else unchanged), the images (oracle: `--weights int8` on the
/// original, bit for bit, and the diffusers golden within the PSNR bar), and refused inputs.
@Suite struct QuantizedFolderTests {
    static let original = DiffusionFixtures.directory + "/sd1-tiny"

    /// The tiny folder quantized into a fresh temporary folder (removed with the returned handle).
    static func quantized() throws -> (TemporaryDiffusionFolder, String, [QuantizedFolderWriter.FileReport]) {
        let temporary = TemporaryDiffusionFolder()
        let out = temporary.path + "/sd1-int8"
        let reports = try QuantizedFolderWriter.write(folder: original, to: out)
        return (temporary, out, reports)
    }

    static func files(under folder: String) -> [String] {
        (FileManager.default.enumerator(atPath: folder)?.compactMap { $0 as? String } ?? [])
            .filter { !isFolder(folder + "/" + $0) }.sorted()
    }

    static func isFolder(_ path: String) -> Bool {
        var folder: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &folder) && folder.boolValue
    }

    @Test func layerWeightsAreInt8WithScalesAndEverythingElseIsUnchanged() throws {
        let (temporary, out, reports) = try Self.quantized()
        defer { _ = temporary }
        #expect(Self.files(under: out) == Self.files(under: Self.original))
        #expect(!FileManager.default.fileExists(atPath: out + ".partial"))
        #expect(reports.map(\.file) == ["text_encoder/model.safetensors", "unet/diffusion_pytorch_model.safetensors"])
        for file in Self.files(under: Self.original) {
            let before = try Data(contentsOf: URL(fileURLWithPath: Self.original + "/" + file))
            let after = try Data(contentsOf: URL(fileURLWithPath: out + "/" + file))
            guard let report = reports.first(where: { $0.file == file }) else {
                #expect(before == after, "\(file) should be copied byte for byte")
                continue
            }
            #expect(report.bytesBefore == before.count && report.bytesAfter == after.count)
            // The tiny text encoder's file is mostly its (unquantized) token embedding and the scales'
            // header entries outweigh what its 8-wide layers save, so the tensor data is compared per file.
            if file.hasPrefix("unet/") { #expect(after.count < before.count, "\(file): \(before.count) -> \(after.count) bytes") }
            let source = try SafetensorsFile(path: Self.original + "/" + file)
            let result = try SafetensorsFile(path: out + "/" + file)
            #expect(result.metadata[QuantizedFolderWriter.metadataKey] == QuantizedFolderWriter.metadataValue)
            #expect(result.metadata["format"] == source.metadata["format"])
            var quantizedCount = 0
            for info in source.tensors {
                let stored = try #require(result.tensor(named: info.name), "\(file): \(info.name) is missing")
                #expect(stored.shape == info.shape)
                guard QuantizedFolderWriter.quantizes(info.name, shape: info.shape) else {
                    #expect(stored.type == info.type && Array(result.bytes(of: stored)) == Array(source.bytes(of: info)), "\(info.name)")
                    #expect(result.tensor(named: info.name + "_scale") == nil)
                    continue
                }
                quantizedCount += 1
                let scaleInfo = try #require(result.tensor(named: info.name + "_scale"), "\(info.name) has no scale")
                #expect(stored.type == .i8 && scaleInfo.type == .f32 && scaleInfo.shape == [info.shape[0]])
                try Self.expectRowsQuantized(source.floats(of: info), q: result.floats(of: stored), scale: result.floats(of: scaleInfo), info.name)
            }
            #expect(quantizedCount == report.quantizedTensorCount && quantizedCount > 0)
            #expect(result.tensors.count == source.tensors.count + quantizedCount)
            let dataBefore = source.tensors.reduce(0) { $0 + $1.byteCount }, dataAfter = result.tensors.reduce(0) { $0 + $1.byteCount }
            #expect(dataAfter < dataBefore, "\(file): tensor data \(dataBefore) -> \(dataAfter) bytes")
        }
    }

    /// Invariants of symmetric per-row int8: each row's largest |q| is 127 (or the row is zero, scale 1)
    /// and every |q · scale − w| ≤ scale / 2 (rounding to nearest, up to float32 error).
    static func expectRowsQuantized(_ w: [Float], q: [Float], scale: [Float], _ name: String) throws {
        try #require(w.count == q.count && !scale.isEmpty && w.count % scale.count == 0)
        let k = w.count / scale.count
        for r in scale.indices {
            let rowQ = q[(r * k)..<((r + 1) * k)], rowW = w[(r * k)..<((r + 1) * k)]
            let maxQ = rowQ.map(abs).max() ?? 0
            #expect(maxQ == 127 || (maxQ == 0 && scale[r] == 1), "\(name) row \(r): max |q| \(maxQ)")
            let worst = zip(rowQ, rowW).map { abs($0 * scale[r] - $1) }.max() ?? 0
            #expect(worst <= scale[r] * roundingBound, "\(name) row \(r): error \(worst), scale \(scale[r])")
        }
    }

    /// Half a quantization step, plus float32 slack for the division by the scale.
    static let roundingBound: Float = 0.5 + 1e-5

    /// The quantized folder loaded with `--weights stored` runs int8: the same image and latents as
    /// `--weights int8` on the original, bit for bit (re-quantizing q · scale is lossless), an image that
    /// differs from the fp16 one, and diffusers' golden within the PSNR bar.
    @Test func quantizedFolderGivesTheAtLoadInt8ImagesBitForBit() throws {
        let (temporary, out, _) = try Self.quantized()
        defer { _ = temporary }
        let runs = PipelineGoldenTests.runs(.sd1, prefix: "t2i_lcm_4") + PipelineGoldenTests.runs(.sd1, prefix: "t2i_euler-a_2")
        try #require(!runs.isEmpty, "goldens.json has no sd1 runs")
        for run in runs {
            let (atLoad, request) = try PipelineGoldenTests.prepare(run, weights: .int8)
            let fromFile = try StableDiffusionPipeline(folder: try DiffusersFolder(path: out), context: ExecutionContext(threadCount: 1))
            fromFile.schedulerConfiguration = atLoad.schedulerConfiguration
            let expected = try atLoad.generate(request), image = try fromFile.generate(request)
            #expect(image.pixels == expected.pixels, "\(run): pixels differ from --weights int8")
            #expect(image.latents == expected.latents, "\(run): latents differ from --weights int8")
            let (stored, _) = try PipelineGoldenTests.prepare(run)
            #expect(try stored.generate(request).pixels != image.pixels, "\(run): the int8 folder ran at the file's fp16")
            let psnr = PipelineGoldenTests.psnr(image.pixels, try run.pipeline.golden("\(run.name)/image"))
            #expect(psnr >= PipelineGoldenTests.minimumPSNR, "\(run): PSNR \(psnr) dB")
        }
    }

    /// A one-layer component in memory: weight `l.weight` [2, 3] as I8 and optional scale and bias.
    static func component(scale: (dtype: String, shape: [Int], values: [Float])?, bias: Bool = false,
                          metadata: [String: String] = [:]) throws -> ComponentWeights {
        var w = SafetensorsWriter()
        w.metadata = metadata
        if let scale {
            let bytes = scale.values.flatMap { v in withUnsafeBytes(of: v.bitPattern.littleEndian, Array.init) }
            w.addTensor(name: "l.weight_scale", dtype: scale.dtype, shape: scale.shape, data: bytes)
        }
        if bias { w.addTensor(name: "l.bias", dtype: "F32", shape: [2], data: [UInt8](repeating: 0, count: 8)) }
        w.addTensor(name: "l.weight", dtype: "I8", shape: [2, 3], data: [Int8(127), -64, 0, 3, -127, 1].map { UInt8(bitPattern: $0) })
        return try ComponentWeights(component: "UNet", files: [try SafetensorsFile(bytes: w.serialize(), name: "unet.safetensors")])
    }

    @Test func int8WeightsLoadAsQuantizedTimesScale() throws {
        let weights = try Self.component(scale: ("F32", [2], [0.5, 0.25]))
        #expect(weights.storage(of: "l.weight") == .int8)
        #expect(try weights.floats("l.weight", shape: [2, 3]) == [63.5, -32, 0, 0.75, -31.75, 0.25])
        try weights.verifyAllUsed()
        weights.storage = .float16
        #expect(weights.storage(of: "l.weight") == .float16)
        // An F32 tensor keeps fp32, unless the file is one `sparrow quantize` wrote (then the layers
        // are kept as `--weights int8` keeps them: the CLIP token table as fp16, like any non-F32).
        let plain = try Self.component(scale: ("F32", [2], [1, 1]), bias: true)
        #expect(plain.storage(of: "l.bias") == .float32)
        let marked = try Self.component(scale: ("F32", [2], [1, 1]), bias: true,
                                        metadata: [QuantizedFolderWriter.metadataKey: QuantizedFolderWriter.metadataValue])
        #expect(marked.storage(of: "l.bias") == .int8)
    }

    @Test func int8WeightsWithoutAProperScaleAreFormatErrors() throws {
        func expectFormatError(_ weights: ComponentWeights, _ fragments: String...) {
            do {
                _ = try weights.floats("l.weight", shape: [2, 3])
                Issue.record("loaded an I8 weight without a proper scale")
            } catch let error as FormatError {
                #expect(error.file == "unet.safetensors")
                for f in fragments { #expect(error.message.contains(f), "'\(f)' not in: \(error.message)") }
            } catch {
                Issue.record("expected a FormatError, got \(error)")
            }
        }
        expectFormatError(try Self.component(scale: nil), "'l.weight' is I8", "'l.weight_scale' is missing")
        expectFormatError(try Self.component(scale: ("F32", [3], [1, 1, 1])), "'l.weight_scale'", "expected float [2]")
        expectFormatError(try Self.component(scale: ("F32", [2, 1], [1, 1])), "'l.weight_scale'", "expected float [2]")
        // A scale nobody reads (its weight was never asked for) fails the unused-tensor check.
        let unread = try Self.component(scale: ("F32", [2], [1, 1]), bias: true)
        _ = try unread.floats("l.bias", shape: [2])
        #expect(throws: FormatError.self) { try unread.verifyAllUsed() }
    }

    @Test func layerWeightsAreQuantizedAndEmbeddingTablesAreNot() {
        let cases: [(String, [Int], Bool)] = [
            ("down_blocks.0.resnets.0.conv1.weight", [32, 32, 3, 3], true),
            ("time_embedding.linear_1.weight", [32, 8], true),
            ("text_model.encoder.layers.0.self_attn.q_proj.weight", [8, 8], true),
            ("text_model.embeddings.token_embedding.weight", [49408, 8], false),
            ("text_model.embeddings.position_embedding.weight", [77, 8], false),
            ("down_blocks.0.resnets.0.norm1.weight", [32], false),
            ("down_blocks.0.resnets.0.conv1.bias", [32], false),
            ("empty.weight", [0, 8], false),
        ]
        for (name, shape, expected) in cases {
            #expect(QuantizedFolderWriter.quantizes(name, shape: shape) == expected, "\(name) \(shape)")
        }
    }

    /// A weight of an odd byte count as I8 ([3, 3], whose F32 scale would follow it at byte 9 in data
    /// order): the output still has every tensor aligned to its elements (the reader refuses it
    /// otherwise), and the other tensors keep their values.
    @Test func oddSizedWeightsStayAligned() throws {
        let temporary = TemporaryDiffusionFolder()
        try FileManager.default.createDirectory(atPath: temporary.path + "/in/unet", withIntermediateDirectories: true)
        _ = temporary.write("in/model_index.json", "{}")
        var w = SafetensorsWriter()
        let odd: [Float] = [1, -2, 3, 0.5, 0, -0.25, 4, 4, -4]
        w.addTensor(name: "a.weight", dtype: "F32", shape: [3, 3], data: odd.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) })
        w.addTensor(name: "b.bias", dtype: "F32", shape: [1], data: withUnsafeBytes(of: Float(7).bitPattern.littleEndian, Array.init))
        w.addTensor(name: "a.bias", dtype: "F16", shape: [3], data: [0x3C00, 0x4000, 0x4200].flatMap { (h: UInt16) in [UInt8(h & 0xFF), UInt8(h >> 8)] })
        FileManager.default.createFile(atPath: temporary.path + "/in/unet/diffusion_pytorch_model.safetensors", contents: Data(w.serialize()))
        try QuantizedFolderWriter.write(folder: temporary.path + "/in", to: temporary.path + "/out")
        let result = try SafetensorsFile(path: temporary.path + "/out/unet/diffusion_pytorch_model.safetensors")
        let weights = try ComponentWeights(component: "UNet", files: [result])
        #expect(try weights.floats("a.bias", shape: [3]) == [1, 2, 3])
        #expect(try weights.floats("b.bias", shape: [1]) == [7])
        let dequantized = try weights.floats("a.weight", shape: [3, 3])
        let qInfo = try #require(result.tensor(named: "a.weight")), scaleInfo = try #require(result.tensor(named: "a.weight_scale"))
        let q = result.floats(of: qInfo), scale = result.floats(of: scaleInfo)
        try Self.expectRowsQuantized(odd, q: q, scale: scale, "a.weight")
        #expect(dequantized == q.indices.map { q[$0] * scale[$0 / 3] })
        try weights.verifyAllUsed()
    }

    @Test func badFoldersAreRefusedWithAMessage() throws {
        let (temporary, out, _) = try Self.quantized()
        defer { _ = temporary }
        func expectRefused(_ input: String, _ output: String, _ fragment: String) {
            do {
                try QuantizedFolderWriter.write(folder: input, to: output)
                Issue.record("quantized \(input) into \(output)")
            } catch {
                #expect("\(error)".contains(fragment), "'\(fragment)' not in: \(error)")
            }
        }
        expectRefused(Self.original, out, "already exists")
        expectRefused(Self.original, Self.original, "must differ")
        expectRefused(Self.original, Self.original + "/unet/int8", "inside the input folder")
        expectRefused(Self.original + "/unet", temporary.path + "/x", "no model_index.json")
        expectRefused(out, temporary.path + "/twice", "already quantized")
        #expect(!FileManager.default.fileExists(atPath: temporary.path + "/twice"))
        #expect(!FileManager.default.fileExists(atPath: temporary.path + "/twice.partial"))
    }
}
