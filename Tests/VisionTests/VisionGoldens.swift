import Foundation
import SparrowRuntime
import Testing

/// One LiteRT golden from `Fixtures/litert-goldens.json` (written by `Scripts/make-vision-goldens.py`):
/// a model-sized RGB8 PNG, the normalisation MediaPipe applies to it, and every output tensor LiteRT
/// 2.3.0 (XNNPACK, 1 thread) computed from it.
struct VisionGolden: Decodable, Sendable {
    /// Model input = `byte * scale + offset` for each R, G, B byte (ImageToTensorCalculator's range).
    struct Normalization: Decodable, Sendable {
        let scale: Float
        let offset: Float
        /// The float range [min, max] MediaPipe's graph asks for.
        let range: [Float]
        /// Where the range was read (graph file in the mediapipe wheel).
        let source: String
    }

    /// One output tensor, stored raw little-endian and row-major in `shape`.
    struct Output: Decodable, Sendable {
        enum DType: String, Decodable, Sendable {
            case float32, float16
            var byteSize: Int { self == .float32 ? 4 : 2 }
        }
        /// The tensor's name in the .tflite file.
        let name: String
        let shape: [Int]
        let dtype: DType
        /// File name in the fixtures folder.
        let file: String
        let bytes: Int
        /// Extremes of LiteRT's float32 output (before any float16 rounding).
        let min: Float
        let max: Float
        var count: Int { shape.reduce(1, *) }
    }

    /// "model/input", e.g. "selfie-segmentation/astronaut".
    let name: String
    /// Manifest id of the model (weights-manifest/<model>.json).
    let model: String
    /// PNG file name in the fixtures folder, already at the model's input size.
    let input: String
    /// Where the pixels came from (manifest id, crop, video frame).
    let inputSource: String
    /// [H, W, 3].
    let inputShape: [Int]
    let normalization: Normalization
    let outputs: [Output]

    /// Absolute path of the input PNG.
    var inputPath: String { VisionFixtures.directory + "/" + input }

    /// The output named `name` (e.g. "regressors").
    func output(named name: String) throws -> Output {
        guard let output = outputs.first(where: { $0.name == name }) else {
            throw VisionGoldenError(message: "\(self.name) has no output '\(name)' (has \(outputs.map(\.name).joined(separator: ", "))); regenerate with Scripts/make-vision-goldens.py")
        }
        return output
    }

    /// The output's values as Float (float16 files widened exactly), checked against its shape.
    func values(of output: Output) throws -> [Float] {
        let path = VisionFixtures.directory + "/" + output.file
        guard let data = FileManager.default.contents(atPath: path) else {
            throw VisionGoldenError(message: "cannot read \(path); regenerate with Scripts/make-vision-goldens.py")
        }
        guard data.count == output.count * output.dtype.byteSize, data.count == output.bytes else {
            throw VisionGoldenError(message: "\(path) has \(data.count) bytes; shape \(output.shape) of \(output.dtype.rawValue) needs \(output.count * output.dtype.byteSize)")
        }
        let bytes = [UInt8](data)
        switch output.dtype {
        case .float32:
            return (0..<output.count).map { i in
                let b = 4 * i
                return Float(bitPattern: UInt32(bytes[b]) | UInt32(bytes[b + 1]) << 8 | UInt32(bytes[b + 2]) << 16 | UInt32(bytes[b + 3]) << 24)
            }
        case .float16:
            return (0..<output.count).map { i in halfToFloat(UInt16(bytes[2 * i]) | UInt16(bytes[2 * i + 1]) << 8) }
        }
    }

    /// The path of this golden's model in the model store, or nil when it is not fetched (tests then
    /// skip; `Scripts/fetch-models.sh` fetches it).
    func storedModelPath() -> String? {
        let manifest = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("weights-manifest").path
        guard let entry = (try? WeightsManifest(directory: manifest))?.entry(id: model) else { return nil }
        let path = ModelStore.path(for: entry)
        return FileManager.default.fileExists(atPath: path) ? path : nil
    }
}

/// The whole index file.
struct VisionGoldenIndex: Decodable, Sendable {
    /// The command, library versions and date the goldens were made with.
    let generator: [String: VisionGoldenGeneratorValue]
    let cases: [VisionGolden]
}

/// A generator field: a string, or a table of strings (model hashes).
enum VisionGoldenGeneratorValue: Decodable, Sendable {
    case text(String)
    case table([String: String])

    init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let text = try? container.decode(String.self) {
            self = .text(text)
        } else {
            self = .table(try container.decode([String: String].self))
        }
    }
}

/// A golden file that is missing or does not match its index entry.
struct VisionGoldenError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

/// Reads `Fixtures/litert-goldens.json`.
func loadGoldenIndex() throws -> VisionGoldenIndex {
    let path = VisionFixtures.directory + "/litert-goldens.json"
    guard let data = FileManager.default.contents(atPath: path) else {
        throw VisionGoldenError(message: "cannot read \(path); regenerate with Scripts/make-vision-goldens.py")
    }
    return try JSONDecoder().decode(VisionGoldenIndex.self, from: data)
}

/// Every LiteRT golden case, in the index's order.
func loadGoldens() throws -> [VisionGolden] {
    try loadGoldenIndex().cases
}

/// IEEE 754 binary16 → binary32, exact (subnormals, infinities and NaN included).
func halfToFloat(_ h: UInt16) -> Float {
    let sign = UInt32(h >> 15) << 31
    let exponent = Int(h >> 10) & 0x1F
    let mantissa = UInt32(h & 0x3FF)
    switch exponent {
    case 0:
        // Zero or subnormal: mantissa · 2⁻²⁴.
        let magnitude = Float(mantissa) * Float(sign: .plus, exponent: -24, significand: 1)
        return sign == 0 ? magnitude : -magnitude
    case 0x1F:
        return Float(bitPattern: sign | 0x7F80_0000 | mantissa << 13)
    default:
        return Float(bitPattern: sign | UInt32(exponent - 15 + 127) << 23 | mantissa << 13)
    }
}

/// Width and height from a PNG's IHDR chunk (bytes 16..<24), without decoding the image.
private func pngSize(atPath path: String) throws -> (width: Int, height: Int) {
    guard let data = FileManager.default.contents(atPath: path), data.count >= 24 else {
        throw VisionGoldenError(message: "cannot read the PNG header of \(path)")
    }
    let b = [UInt8](data.prefix(24))
    guard b[0..<8] == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], b[12..<16] == [0x49, 0x48, 0x44, 0x52] else {
        throw VisionGoldenError(message: "\(path) is not a PNG")
    }
    func be32(_ i: Int) -> Int { Int(b[i]) << 24 | Int(b[i + 1]) << 16 | Int(b[i + 2]) << 8 | Int(b[i + 3]) }
    return (be32(16), be32(20))
}

@Suite struct VisionGoldenTests {
    /// Half-precision rounding of values in [-2, 2]: half an ulp at 2 is 2⁻¹⁰.
    static let float16RoundingTolerance: Float = 1.0 / 1024

    @Test func halfToFloatMatchesIEEE754Binary16() {
        #expect(halfToFloat(0x0000) == 0)
        #expect(halfToFloat(0x8000).sign == .minus && halfToFloat(0x8000) == 0)
        #expect(halfToFloat(0x3C00) == 1)
        #expect(halfToFloat(0x3800) == 0.5)
        #expect(halfToFloat(0xC000) == -2)
        #expect(halfToFloat(0x3555) == 0.333251953125)
        #expect(halfToFloat(0x7BFF) == 65504)
        #expect(halfToFloat(0x0001) == Float(sign: .plus, exponent: -24, significand: 1))
        #expect(halfToFloat(0x03FF) == Float(1023) * Float(sign: .plus, exponent: -24, significand: 1))
        #expect(halfToFloat(0x7C00) == .infinity)
        #expect(halfToFloat(0xFC00) == -.infinity)
        #expect(halfToFloat(0x7E00).isNaN)
    }

    @Test func goldenIndexParsesAndEveryFileMatchesItsEntry() throws {
        let index = try loadGoldenIndex()
        let goldens = index.cases
        #expect(goldens.count >= 13)
        #expect(Set(goldens.map(\.model)) == ["selfie-segmentation", "selfie-segmentation-landscape", "face-detection-short-range", "face-landmark"])
        if case .text(let version)? = index.generator["litert"] { #expect(version == "2.3.0") } else { Issue.record("no LiteRT version") }
        for golden in goldens {
            #expect(golden.inputShape.count == 3 && golden.inputShape[2] == 3, "\(golden.name)")
            let size = try pngSize(atPath: golden.inputPath)
            #expect(size.height == golden.inputShape[0] && size.width == golden.inputShape[1], "\(golden.name)")
            let range = golden.normalization.range
            #expect(range.count == 2)
            // scale/offset map byte 0 → range.min and byte 255 → range.max.
            #expect(abs(golden.normalization.offset - range[0]) < 1e-6)
            #expect(abs(golden.normalization.scale * 255 + golden.normalization.offset - range[1]) < 1e-5)
            #expect(!golden.outputs.isEmpty)
            for output in golden.outputs {
                let attributes = try FileManager.default.attributesOfItem(atPath: VisionFixtures.directory + "/" + output.file)
                #expect((attributes[.size] as? Int) == output.count * output.dtype.byteSize, "\(output.file)")
                let values = try golden.values(of: output)
                let tolerance = output.dtype == .float16 ? Self.float16RoundingTolerance * max(1, abs(output.max), abs(output.min)) : 0
                let allFinite = values.allSatisfy { $0.isFinite }
                #expect(allFinite, "\(output.file)")
                #expect(abs((values.min() ?? .nan) - output.min) <= tolerance, "\(output.file)")
                #expect(abs((values.max() ?? .nan) - output.max) <= tolerance, "\(output.file)")
            }
        }
    }

    @Test func normalisationsAreMediaPipes() throws {
        for golden in try loadGoldens() {
            let expected: [Float] = golden.model == "face-detection-short-range" ? [-1, 1] : [0, 1]
            #expect(golden.normalization.range == expected, "\(golden.name)")
        }
    }
}
