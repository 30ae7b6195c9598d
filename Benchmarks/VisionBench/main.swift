// vision-bench: dense selfie segmentation and the Skip-Conv sweep on one real video.
//
//   swift run -c release vision-bench --video vtest.avi [--model selfie_segmentation.tflite] [--threads 1]
//       [--frames 200] [--thresholds 0,0.02,0.05,0.1,0.2] [--blocks 1,2,4,8] [--keyframe N]
//       [--litert-masks masks.f16] [--dense-only] [--layers] [--json] [--gate-depthwise] [--dense-fallback F]
//
// Frames are decoded by ffmpeg already scaled to the model's input (bilinear), exactly as
// Scripts/litert-run.py decodes them, so Sparrow and LiteRT see identical pixels; with
// --litert-masks (LiteRT's float16 masks of the same frames) IoU against LiteRT is reported too.
// Scripts/bench-vision.sh runs both side by side. Timing: wall clock per frame, model only (the
// frames are decoded before timing); medians with min–max.
import Foundation
import SparrowRuntime
import SparrowVision

struct Options {
    var video = ""
    var model = ""
    var threads = 1
    var frames = Int.max
    var thresholds: [Float] = [0, 0.02, 0.05, 0.1, 0.2]
    var blocks = [1, 2, 4, 8]
    var keyframe: Int?
    var litertMasks: String?
    var json = false
    var layers = false
    var gatesDepthwise = false
    var denseFallback: Float = 0.5
    var denseOnly = false
}

func parse() -> Options {
    var o = Options()
    var args = CommandLine.arguments.dropFirst().makeIterator()
    func value(_ name: String) -> String {
        guard let v = args.next() else { fail("\(name) needs a value") }
        return v
    }
    while let a = args.next() {
        switch a {
        case "--video": o.video = value(a)
        case "--model": o.model = value(a)
        case "--threads": o.threads = Int(value(a)) ?? 1
        case "--frames": o.frames = Int(value(a)) ?? Int.max
        case "--thresholds": o.thresholds = value(a).split(separator: ",").compactMap { Float($0) }
        case "--blocks": o.blocks = value(a).split(separator: ",").compactMap { Int($0) }
        case "--keyframe": o.keyframe = Int(value(a))
        case "--litert-masks": o.litertMasks = value(a)
        case "--json": o.json = true
        case "--layers": o.layers = true
        case "--gate-depthwise": o.gatesDepthwise = true
        case "--dense-fallback": o.denseFallback = Float(value(a)) ?? 0.5
        case "--dense-only": o.denseOnly = true
        default: fail("unknown option \(a)")
        }
    }
    if o.video.isEmpty { fail("--video is required") }
    if o.model.isEmpty {
        o.model = ModelStore.path(id: "selfie-segmentation", fileName: "selfie_segmentation.tflite")
    }
    return o
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(("vision-bench: " + message + "\n").data(using: .utf8)!)
    exit(2)
}

func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

let options = parse()
do {
    let model = try TFLiteModel(path: options.model)
    let context = ExecutionContext(threadCount: options.threads)
    let dense = try TFLiteInterpreter(model: model, context: context)
    let input = dense.shapes[dense.inputIndices[0]]
    let reader = try FFmpegVideoReader(path: options.video, outputSize: (width: input.width, height: input.height))
    var frames: [[Float]] = []
    while frames.count < options.frames, let frame = try reader.next() {
        frames.append(frame.pixels.map { Float($0) / 255 })
    }
    guard frames.count >= 2 else { fail("\(options.video) has fewer than two frames") }
    let size = (width: input.width, height: input.height)
    func mask(_ values: UnsafeBufferPointer<Float>) -> SegmentationMask {
        SegmentationMask(width: size.width, height: size.height, values: Array(values))
    }

    // Dense: per-frame time and the reference masks.
    var denseTimes: [Double] = [], denseMasks: [SegmentationMask] = []
    for frame in frames {
        let t = now()   // like Scripts/litert-run.py: input copy + invoke + reading the output
        _ = dense.input().initialize(from: frame)
        dense.invoke()
        denseMasks.append(mask(dense.output()))
        denseTimes.append(now() - t)
    }
    var litert: [SegmentationMask]?
    if let path = options.litertMasks {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let perFrame = size.width * size.height
        guard data.count >= frames.count * perFrame * 2 else { fail("\(path) holds fewer than \(frames.count) masks") }
        var halves = [UInt16](repeating: 0, count: frames.count * perFrame)
        halves.withUnsafeMutableBytes { _ = data.copyBytes(to: $0) }
        var floats = [Float](repeating: 0, count: halves.count)
        halves.withUnsafeBytes { Kernels.halfToFloat($0.baseAddress!, into: &floats, count: floats.count) }
        litert = (0..<frames.count).map { SegmentationMask(width: size.width, height: size.height, values: Array(floats[($0 * perFrame)..<(($0 + 1) * perFrame)])) }
    }
    func meanIoU(_ a: [SegmentationMask], _ b: [SegmentationMask]) -> Double {
        zip(a, b).map { Double(SegmentationMask.intersectionOverUnion($0, $1)) }.reduce(0, +) / Double(a.count)
    }

    struct Row: Codable {
        var mode: String, threshold: Float?, block: Int?, keyframe: Int?
        var msMedian: Double, msMin: Double, msMax: Double, framesPerSecond: Double
        var macsPerFrame: Double, macSavings: Double, speedup: Double
        var iouVsDense: Double, iouVsLiteRT: Double?
    }
    let denseMedian = median(denseTimes)
    let denseMACs = Double(dense.macsPerInvoke)
    var rows = [Row(mode: "dense", threshold: nil, block: nil, keyframe: nil, msMedian: denseMedian * 1e3,
                    msMin: denseTimes.min()! * 1e3, msMax: denseTimes.max()! * 1e3, framesPerSecond: 1 / denseMedian,
                    macsPerFrame: denseMACs, macSavings: 1, speedup: 1, iouVsDense: 1,
                    iouVsLiteRT: litert.map { meanIoU(denseMasks, $0) })]

    let skipInterpreter = try TFLiteInterpreter(model: model, context: context, keepingEveryTensor: true)
    for block in options.denseOnly ? [] : options.blocks {
        for threshold in options.thresholds {
            let executor = try SkipConvolutionExecutor(
                interpreter: skipInterpreter,
                options: SkipConvolutionOptions(threshold: threshold, blockSize: block, keyframeInterval: options.keyframe,
                                                gatesDepthwise: options.gatesDepthwise, denseFallback: options.denseFallback))
            var times: [Double] = [], masks: [SegmentationMask] = [], macs = 0
            var active: [Int: (Double, Int)] = [:]
            var macsOf: [Int: Int] = [:]
            for frame in frames {
                let t = now()
                _ = skipInterpreter.input().initialize(from: frame)
                let stats = executor.run()
                masks.append(mask(skipInterpreter.output()))
                times.append(now() - t)
                macs += stats.executedMACs
                if !stats.isKeyframe {
                    for l in stats.layers {
                        macsOf[l.operatorIndex] = l.denseMACs
                        active[l.operatorIndex, default: (0, l.outputPixels)].0 += Double(l.activePixels) / Double(frames.count - 1)
                    }
                }
            }
            if options.layers {
                let line = active.keys.sorted().map { k in "\(k):\(Int(100 * active[k]!.0 / Double(active[k]!.1)))%/\(macsOf[k]!/100000)" }
                FileHandle.standardError.write(Data("ε \(threshold) S \(block) active: \(line.joined(separator: " "))\n".utf8))
            }
            // The first frame is the key frame for every setting; report the steady state after it.
            let steady = Array(times.dropFirst())
            let m = median(steady)
            let perFrame = Double(macs - Int(denseMACs)) / Double(frames.count - 1)
            rows.append(Row(mode: "skip-conv", threshold: threshold, block: block, keyframe: options.keyframe,
                            msMedian: m * 1e3, msMin: steady.min()! * 1e3, msMax: steady.max()! * 1e3, framesPerSecond: 1 / m,
                            macsPerFrame: perFrame, macSavings: denseMACs / max(perFrame, 1), speedup: denseMedian / m,
                            iouVsDense: meanIoU(masks, denseMasks), iouVsLiteRT: litert.map { meanIoU(masks, $0) }))
        }
    }

    if options.json {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        print(String(decoding: try encoder.encode(rows), as: UTF8.self))
    } else {
        print("\(URL(fileURLWithPath: options.video).lastPathComponent): \(frames.count) frames at \(size.width)×\(size.height), \(options.threads) thread(s)")
        print("| mode | ε | S | ms/frame median (min–max) | frames/s | MMACs/frame | MAC savings | speed-up | IoU vs dense | IoU vs LiteRT |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        for r in rows {
            let lite = r.iouVsLiteRT.map { String(format: "%.4f", $0) } ?? "–"
            func f(_ x: Double, _ digits: Int = 2) -> String { String(format: "%.\(digits)f", x) }
            print("| \(r.mode) | \(r.threshold.map { String($0) } ?? "–") | \(r.block.map { String($0) } ?? "–") | "
                + "\(f(r.msMedian)) (\(f(r.msMin))–\(f(r.msMax))) | \(f(r.framesPerSecond, 1)) | \(f(r.macsPerFrame / 1e6, 1)) | "
                + "\(f(r.macSavings))× | \(f(r.speedup))× | \(f(r.iouVsDense, 4)) | \(lite) |")
        }
    }
} catch {
    fail("\(error)")
}
