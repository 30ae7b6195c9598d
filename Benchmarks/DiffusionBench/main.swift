// diffusion-bench: Stable Diffusion stage timings and peak memory (never part of the tests).
//
//   swift run -c release diffusion-bench --model DIR [--stages text,unet1,unet2,decode,run] [--threads 2]
//       [--reps 3] [--slow-reps 1] [--warmup 1] [--prompt TEXT] [--steps 4] [--weights stored|fp32|fp16|int8] [--json]
//
// DIR is a diffusers folder (Scripts/make-sd15-random.py makes an SD 1.5-sized one with random weights).
// Stages, at 512×512 (64×64 latents):
//   text    tokenize + CLIP text encoder, one prompt
//   unet1   one UNet call, batch 1 (no guidance)
//   unet2   one UNet call, batch 2 (classifier-free guidance)
//   decode  VAE decode of one 64×64 latent
//   run     the whole text-to-image call: `steps` euler-a steps, guidance 7.5 (batch 2), decode
// Each stage runs `warmup` untimed times, then `reps` timed times; a stage whose first timed call
// takes > 10 s stops after `slow-reps` timed calls. Times are wall clock; median, min and max are
// reported with the process's peak resident memory (VmHWM from /proc/self/status) after the stage and
// after loading. Run one stage per process (Scripts/bench-diffusion.sh does) for per-stage peaks.
// Scripts/bench-diffusion.py does the same with diffusers on PyTorch.
import Foundation
import SparrowDiffusion
import SparrowRuntime

struct Options {
    var model = ""
    var stages = ["text", "unet1", "unet2", "decode", "run"]
    var threads = 2
    var reps = 3
    var slowReps = 1
    var warmup = 1
    var prompt = "a photograph of an astronaut riding a horse"
    var steps = 4
    var json = false
    var weights = WeightPrecision.stored
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data(("diffusion-bench: " + message + "\n").utf8))
    exit(2)
}

func parse() -> Options {
    var o = Options()
    var args = CommandLine.arguments.dropFirst().makeIterator()
    func value(_ name: String) -> String {
        guard let v = args.next() else { fail("\(name) needs a value") }
        return v
    }
    func integer(_ name: String) -> Int {
        guard let n = Int(value(name)), n >= 0 else { fail("\(name) needs a whole number ≥ 0") }
        return n
    }
    while let a = args.next() {
        switch a {
        case "--model": o.model = value(a)
        case "--stages": o.stages = value(a).split(separator: ",").map(String.init)
        case "--threads": o.threads = max(1, integer(a))
        case "--reps": o.reps = max(1, integer(a))
        case "--slow-reps": o.slowReps = max(1, integer(a))
        case "--warmup": o.warmup = integer(a)
        case "--prompt": o.prompt = value(a)
        case "--steps": o.steps = max(1, integer(a))
        case "--json": o.json = true
        case "--weights":
            let v = value(a), names = ["stored": WeightPrecision.stored, "fp32": .float32, "fp16": .float16, "int8": .int8]
            guard let p = names[v] else { fail("--weights must be stored, fp32, fp16 or int8") }
            o.weights = p
        default: fail("unknown option \(a)")
        }
    }
    if o.model.isEmpty { fail("--model DIR is required (make one with Scripts/make-sd15-random.py)") }
    let known: Set = ["text", "unet1", "unet2", "decode", "run"]
    for s in o.stages where !known.contains(s) { fail("unknown stage \(s); stages are text, unet1, unet2, decode, run") }
    return o
}

/// The process's peak resident set (VmHWM) in MiB, or nan when /proc is not there.
func peakResidentMiB() -> Double {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return .nan }
    for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
        let kib = line.split(separator: " ").compactMap { Double($0) }.first ?? .nan
        return kib / 1024
    }
    return .nan
}

func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

struct StageResult: Codable {
    var stage: String
    var seconds: [Double]
    var median: Double
    var min: Double
    var max: Double
    var peakMiB: Double
}

/// Times `body` as the header describes.
func measure(_ stage: String, _ o: Options, _ body: () throws -> Void) rethrows -> StageResult {
    for _ in 0..<o.warmup { try body() }
    var seconds: [Double] = []
    while seconds.count < o.reps {
        let start = now()
        try body()
        seconds.append(now() - start)
        if seconds[0] > 10, seconds.count >= o.slowReps { break }
    }
    return StageResult(stage: stage, seconds: seconds, median: median(seconds), min: seconds.min() ?? .nan,
                       max: seconds.max() ?? .nan, peakMiB: peakResidentMiB())
}

let options = parse()
ProcessMemory.keepFreedMemoryForReuse()   // as `sparrow imagine` does
do {
    let context = ExecutionContext(threadCount: options.threads)
    let loadStart = now()
    let pipeline = try StableDiffusionPipeline(folder: try DiffusersFolder(path: options.model), weights: options.weights,
                                               context: context)
    let loadSeconds = now() - loadStart
    let loadPeak = peakResidentMiB()

    let (h, w, L) = (64, 64, pipeline.unet.configuration.inputChannels)
    // Fixed pseudo-random inputs (the values do not change the work done).
    var state: UInt64 = 0x9E37_79B9_7F4A_7C15
    func uniform() -> Float {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return Float(state >> 40) / Float(1 << 24) * 2 - 1
    }
    let latents = (0..<(L * h * w)).map { _ in uniform() }
    let text = try pipeline.textEncoder.encode(pipeline.tokenizer.tokenize(options.prompt), context: context)

    var results: [StageResult] = []
    for stage in options.stages {
        let result: StageResult
        switch stage {
        case "text":
            result = try measure(stage, options) {
                _ = try pipeline.textEncoder.encode(pipeline.tokenizer.tokenize(options.prompt), context: context)
            }
        case "unet1", "unet2":
            let batch = stage == "unet1" ? 1 : 2
            let maps = FeatureMaps(nchw: Array(repeatElement(latents, count: batch).joined()), batch: batch, channels: L,
                                   height: h, width: w)
            let texts = Array(repeatElement(text, count: batch).joined())
            result = try measure(stage, options) {
                _ = try pipeline.unet.predict(maps, timestep: 999, text: texts, textTokens: CLIPTokenizer.contextLength,
                                              context: context)
            }
        case "decode":
            let maps = FeatureMaps(nchw: latents, batch: 1, channels: L, height: h, width: w)
            result = try measure(stage, options) { _ = try pipeline.autoencoder.decode(maps, context: context) }
        default:
            var request = ImageRequest(prompt: options.prompt)
            request.steps = options.steps
            request.scheduler = .eulerAncestral
            request.guidance = 7.5
            request.seed = 0
            result = try measure(stage, options) { _ = try pipeline.generate(request) }
        }
        results.append(result)
        if !options.json {
            print(String(format: "%-7@ median %8.3f s  (min %.3f, max %.3f, n=%d)  peak RSS %.0f MiB", stage as NSString,
                         result.median, result.min, result.max, result.seconds.count, result.peakMiB))
        }
    }
    if options.json {
        struct Report: Codable {
            var implementation = "sparrow"
            var threads: Int
            var loadSeconds: Double
            var loadPeakMiB: Double
            var peakMiB: Double
            var stages: [StageResult]
        }
        let report = Report(threads: options.threads, loadSeconds: loadSeconds, loadPeakMiB: loadPeak,
                            peakMiB: peakResidentMiB(), stages: results)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        print(String(decoding: try encoder.encode(report), as: UTF8.self))
    } else {
        print(String(format: "load %.2f s, peak RSS after load %.0f MiB, at exit %.0f MiB, %d thread(s)",
                     loadSeconds, loadPeak, peakResidentMiB(), options.threads))
    }
} catch {
    fail("\(error)")
}
