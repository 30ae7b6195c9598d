import Foundation
import SparrowDiffusion
import SparrowRuntime
import Testing

/// `Fixtures/scheduler-goldens.json`, written by `Scripts/make-scheduler-goldens.py` with diffusers 0.42.1 and
/// torch 2.15.0 (the file records the command and versions). Float arrays are base64 little-endian float32.
struct SchedulerGoldens {
    /// One recorded diffusers step.
    struct Step {
        let scaled: [Float]
        let modelOutput: [Float]
        let previous: [Float]
        let denoised: [Float]
        /// The noise the scheduler drew in this step (nil: it drew none).
        let noise: [Float]?
    }

    /// img2img starting latents: add_noise(original, noise, timesteps[0]).
    struct AddNoise {
        let original: [Float]
        let noise: [Float]
        let result: [Float]
    }

    /// One scheduler run: configuration, schedule and trajectory.
    struct Case: CustomStringConvertible {
        let kind: SchedulerKind
        let configuration: [String: JSONValue]
        let steps: Int
        let strength: Float?
        /// LCM only: strength applied by StableDiffusionImg2ImgPipeline's `get_timesteps` (truncation)
        /// instead of LCMScheduler's own `strength` argument.
        let truncatesForStrength: Bool
        let timesteps: [Float]
        let sigmas: [Float]?
        let initialNoiseSigma: Float
        let start: [Float]
        let addNoise: AddNoise?
        let trajectory: [Step]

        var description: String {
            let prediction = configuration["prediction_type"]?.stringValue ?? "?"
            let spacing = configuration["timestep_spacing"]?.stringValue ?? "?"
            let schedule = configuration["beta_schedule"]?.stringValue ?? "?"
            return "\(kind.rawValue) \(prediction) \(spacing) \(schedule) steps=\(steps)" + (strength.map { " strength=\($0)" } ?? "")
                + (truncatesForStrength ? " (get_timesteps)" : "")
        }
    }

    let cases: [Case]
    /// ᾱ per beta schedule name, with the configuration that produced it.
    let noiseSchedules: [(name: String, configuration: [String: JSONValue], alphasCumprod: [Float])]

    static let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/scheduler-goldens.json").path

    static func load() throws -> SchedulerGoldens {
        let file = try MappedFile(path: path)
        let root = try JSONValue.parse(try file.bytes(at: 0, count: file.count), file: path)
        let cases = try (try root.member("cases").array()).map(Case.init(json:))
        let schedules = try (try root.member("noiseSchedules").object()).map { entry in
            (name: entry.key, configuration: try entry.value.member("config").dictionary(),
             alphasCumprod: try entry.value.member("alphasCumprod").floats())
        }
        return SchedulerGoldens(cases: cases, noiseSchedules: schedules)
    }
}

extension SchedulerGoldens.Case {
    init(json: JSONValue) throws {
        let name = try json.member("scheduler").string()
        guard let kind = SchedulerKind(rawValue: name) else { throw GoldenFormatError("unknown scheduler \(name)") }
        self.kind = kind
        configuration = try json.member("config").dictionary()
        steps = try json.member("steps").int()
        strength = try json["strength"].flatMap { $0.isNull ? nil : Float(try $0.double()) }
        truncatesForStrength = json["strengthMode"]?.stringValue == "get_timesteps"
        timesteps = try json.member("timesteps").array().map { Float(try $0.double()) }
        sigmas = try json["sigmas"].map { try $0.array().map { Float(try $0.double()) } }
        initialNoiseSigma = Float(try json.member("initNoiseSigma").double())
        start = try json.member("start").floats()
        addNoise = try json["addNoise"].map {
            SchedulerGoldens.AddNoise(original: try $0.member("original").floats(), noise: try $0.member("noise").floats(),
                                      result: try $0.member("result").floats())
        }
        trajectory = try json.member("trajectory").array().map { step in
            SchedulerGoldens.Step(
                scaled: try step.member("scaled").floats(), modelOutput: try step.member("modelOutput").floats(),
                previous: try step.member("previous").floats(), denoised: try step.member("denoised").floats(),
                noise: try step["noise"].map { try $0.floats() })
        }
    }
}

struct GoldenFormatError: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = "scheduler-goldens.json: \(message); regenerate with Scripts/make-scheduler-goldens.py" }
}

extension JSONValue {
    func member(_ key: String) throws -> JSONValue {
        guard let v = self[key] else { throw GoldenFormatError("missing key \(key)") }
        return v
    }
    func array() throws -> [JSONValue] {
        guard let v = arrayValue else { throw GoldenFormatError("expected an array, found \(kind)") }
        return v
    }
    func object() throws -> [(key: String, value: JSONValue)] {
        guard let v = objectValue else { throw GoldenFormatError("expected an object, found \(kind)") }
        return v
    }
    func dictionary() throws -> [String: JSONValue] {
        Dictionary(uniqueKeysWithValues: try object().map { ($0.key, $0.value) })
    }
    func string() throws -> String {
        guard let v = stringValue else { throw GoldenFormatError("expected a string, found \(kind)") }
        return v
    }
    func int() throws -> Int {
        guard let v = intValue else { throw GoldenFormatError("expected an integer, found \(kind)") }
        return v
    }
    func double() throws -> Double {
        guard let v = doubleValue else { throw GoldenFormatError("expected a number, found \(kind)") }
        return v
    }
    /// A base64 little-endian float32 array.
    func floats() throws -> [Float] {
        guard let data = Data(base64Encoded: try string()), data.count % 4 == 0 else { throw GoldenFormatError("bad base64 float array") }
        return data.withUnsafeBytes { raw in
            (0..<data.count / 4).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) }
        }
    }
}

/// Replays the noise diffusers drew, one recorded array per `normal` call, and counts the calls.
final class ReplayNoise: NoiseGenerator {
    private var queue: [[Float]]
    private(set) var draws = 0
    private(set) var mismatchedCounts: [String] = []

    init(_ recorded: [[Float]]) { queue = recorded }

    func normal(count: Int) -> [Float] {
        draws += 1
        guard !queue.isEmpty else {
            mismatchedCounts.append("draw \(draws): nothing recorded")
            return [Float](repeating: 0, count: count)
        }
        let next = queue.removeFirst()
        if next.count != count { mismatchedCounts.append("draw \(draws): \(count) requested, \(next.count) recorded") }
        return next.count == count ? next : [Float](repeating: 0, count: count)
    }
}

/// Largest |a − b| / (|b| + floor) over two arrays; infinity when sizes differ.
func relativeError(_ a: [Float], _ b: [Float], floor: Float = SchedulerTolerance.absoluteFloor) -> Float {
    guard a.count == b.count else { return .infinity }
    return zip(a, b).map { abs($0 - $1) / (abs($1) + floor) }.max() ?? 0
}

/// Named tolerances for scheduler goldens.
enum SchedulerTolerance {
    /// Element-wise float32 arithmetic in diffusers' operation order. Not bitwise: torch's CPU float32
    /// `sqrt` / `** 0.5` (Sleef, ≤ 0.5001 ulp) is 1 ulp below IEEE sqrt for ~1% of inputs, and Swift uses
    /// IEEE sqrt. Measured worst: 0 for LCM / Euler / Euler ancestral, 5.5e-6 for DDIM (a 1-ulp √ᾱ under
    /// cancellation near zero). Relative to |expected| + `absoluteFloor`.
    static let float32Reordered: Float = 1e-5
    /// Values near zero are compared at this absolute scale.
    static let absoluteFloor: Float = 1e-3
}
