// kernel-bench: matrix–vector and matrix–matrix products per weight type, on the shapes of
// SmolLM2-135M (576x576, 192x576, 1536x576, 576x1536, 49152x576) or, with `--shapes gemma3`, of
// Gemma-3 270M (rows x K: 1024x640, 2048x640, 640x1024, 640x2048), through `Kernels.matmul` (the path
// models use: activation conversion, thread-pool split, ISA dispatch). Shapes whose K is not a whole
// number of the type's blocks (K-quants: 256) are skipped.
//
// "cold" rotates through more than `--cold-mb` MB of distinct copies of each matrix, so every call
// streams its weights from DRAM as a decoded token does (one layer's matrices are long evicted by the
// time the next token needs them); "hot" repeats one matrix that stays in cache. Reported: GB/s of
// weight bytes and GMAC/s, median and the 10th–90th percentile spread over the timed calls.
//
//   swift run -c release --scratch-path .build-rel kernel-bench [--types Q4_1,Q8_0,F16,Q4_K,Q6_K,Q5_0]
//       [--shapes smollm2|gemma3] [--threads 1,2] [--cold-mb 320] [--calls 400] [--tokens 512] [--no-matmul]
//   swift run -c release --scratch-path .build-rel kernel-bench --diffusion [--threads 1,2] [--calls 7] [--only conv]
//       (diffusion ops on Stable Diffusion 1.5 shapes; DiffusionBench.swift)
import CSparrowKernels
import Foundation
import SparrowRuntime

struct Options {
    var types: [GGMLType] = [.q4_1, .q8_0, .f16]
    var threads: [Int] = [1, 2]
    var coldMB = 320
    var calls = 400
    var tokens = 512
    var matmul = true
    var gemma3Shapes = false

    init(_ args: [String]) {
        var i = 1
        func value() -> String {
            i += 1
            guard i < args.count else { usage("missing value for \(args[i - 1])") }
            return args[i]
        }
        while i < args.count {
            switch args[i] {
            case "--types": types = value().split(separator: ",").map { name in
                    guard let t = GGMLType.allCases.first(where: { "\($0)".lowercased() == name.lowercased() }) else {
                        usage("unknown type \(name)")
                    }
                    return t
                }
            case "--threads": threads = value().split(separator: ",").compactMap { Int($0) }
            case "--cold-mb": coldMB = Int(value()) ?? coldMB
            case "--calls": calls = Int(value()) ?? calls
            case "--tokens": tokens = Int(value()) ?? tokens
            case "--no-matmul": matmul = false
            case "--shapes":
                switch value() {
                case "smollm2": gemma3Shapes = false
                case "gemma3": gemma3Shapes = true
                default: usage("unknown shape set \(args[i]) (smollm2 or gemma3)")
                }
            default: usage("unknown option \(args[i])")
            }
            i += 1
        }
    }
}

func usage(_ message: String) -> Never {
    FileHandle.standardError.write(Data("kernel-bench: \(message)\nusage: kernel-bench [--types Q4_1,Q8_0,F16] [--shapes smollm2|gemma3] [--threads 1,2] [--cold-mb 320] [--calls 400] [--tokens 512] [--no-matmul]\n".utf8))
    exit(2)
}

/// Median and 10th/90th percentiles of a sample.
struct Spread {
    let median: Double, p10: Double, p90: Double
    init(_ xs: [Double]) {
        let s = xs.sorted()
        func q(_ f: Double) -> Double { s[min(s.count - 1, Int(f * Double(s.count - 1) + 0.5))] }
        median = q(0.5); p10 = q(0.1); p90 = q(0.9)
    }
}

/// Deterministic pseudo-random bytes (SplitMix64).
struct Generator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func float() -> Float { Float(next() >> 40) * 0x1p-23 - 1 }
}

/// One matrix of `type` with finite scales: random floats quantized by the reference row quantizer
/// where one exists, else raw random quants with a fixed small scale.
func makeMatrix(type: GGMLType, rows: Int, columns: Int, into p: UnsafeMutableRawPointer, rng: inout Generator) {
    let rowBytes = sp_row_bytes(Int32(type.rawValue), Int64(columns))
    switch type {
    case .f32:
        let f = p.assumingMemoryBound(to: Float.self)
        for i in 0..<(rows * columns) { f[i] = rng.float() * 0.1 }
    case .f16, .bf16:
        let h = p.assumingMemoryBound(to: UInt16.self)
        for i in 0..<(rows * columns) {
            let v = rng.float() * 0.1
            h[i] = type == .f16 ? sp_f32_to_f16_1(v) : UInt16(truncatingIfNeeded: v.bitPattern >> 16)
        }
    default:
        let block = type.blockGeometry.bytes
        let bytes = p.assumingMemoryBound(to: UInt8.self)
        for i in 0..<(rows * rowBytes) { bytes[i] = UInt8(truncatingIfNeeded: rng.next()) }
        let scale = sp_f32_to_f16_1(0.01)
        let scaleOffset = type == .q6_K ? 208 : type == .q3_K ? 108 : type == .q2_K ? 80 : 0
        let hasMin = [.q4_1, .q5_1, .q4_K, .q5_K, .q2_K].contains(type)
        for o in stride(from: 0, to: rows * rowBytes, by: block) {
            (p + o + scaleOffset).storeBytes(of: scale, as: UInt16.self)
            if hasMin { (p + o + scaleOffset + 2).storeBytes(of: sp_f32_to_f16_1(-0.05), as: UInt16.self) }
        }
    }
}

if CommandLine.arguments.contains("--diffusion") {
    var args = CommandLine.arguments.filter { $0 != "--diffusion" }
    let calls = args.firstIndex(of: "--calls").flatMap { $0 + 1 < args.count ? Int(args[$0 + 1]) : nil } ?? 7
    if let i = args.firstIndex(of: "--calls") { args.removeSubrange(i...min(i + 1, args.count - 1)) }
    let only = args.firstIndex(of: "--only").flatMap { $0 + 1 < args.count ? args[$0 + 1] : nil }
    if let i = args.firstIndex(of: "--only") { args.removeSubrange(i...min(i + 1, args.count - 1)) }
    runDiffusionBench(threads: Options(args).threads, calls: calls, only: only)
    exit(0)
}
let options = Options(CommandLine.arguments)
let shapes: [(name: String, rows: Int, columns: Int)] = options.gemma3Shapes ? [
    ("attn_q 1024x640", 1024, 640), ("ffn_gate/up 2048x640", 2048, 640), ("attn_output 640x1024", 640, 1024),
    ("ffn_down 640x2048", 640, 2048),
] : [
    ("attn_q/o 576x576", 576, 576), ("attn_k/v 192x576", 192, 576), ("ffn_gate/up 1536x576", 1536, 576),
    ("ffn_down 576x1536", 576, 1536), ("output 49152x576", 49152, 576),
]

print("isa \(sp_active_isa().rawValue) (vnni \(sp_has_avx512_vnni())); cold set \(options.coldMB) MB per shape")
print("| type | shape | threads | test | GB/s median | GB/s p10–p90 | GMAC/s median | µs/call |")
print("|---|---|---:|---|---:|---|---:|---:|")

for type in options.types {
    for shape in shapes where type.byteCount(elements: shape.columns) != nil {
        let rowBytes = sp_row_bytes(Int32(type.rawValue), Int64(shape.columns))
        let matrixBytes = shape.rows * rowBytes
        let stride = (matrixBytes + 4095) / 4096 * 4096
        let copies = max(2, (options.coldMB << 20) / stride + 1)
        let arena = UnsafeMutableRawPointer.allocate(byteCount: copies * stride, alignment: 4096)
        defer { arena.deallocate() }
        var rng = Generator(state: 0x5EED)
        makeMatrix(type: type, rows: shape.rows, columns: shape.columns, into: arena, rng: &rng)
        for c in 1..<copies { (arena + c * stride).copyMemory(from: arena, byteCount: matrixBytes) }
        let weights = (0..<copies).map {
            WeightMatrix(name: "w\($0)", type: type, rows: shape.rows, columns: shape.columns, data: arena + $0 * stride)
        }
        let maxTokens = max(1, options.tokens)
        let x = UnsafeMutablePointer<Float>.allocate(capacity: maxTokens * shape.columns)
        let y = UnsafeMutablePointer<Float>.allocate(capacity: maxTokens * shape.rows)
        defer { x.deallocate(); y.deallocate() }
        for i in 0..<(maxTokens * shape.columns) { x[i] = rng.float() }

        for threads in options.threads {
            let context = ExecutionContext(threadCount: threads)
            context.accounting.isEnabled = false
            func time(tokens: Int, calls: Int, weightAt: (Int) -> WeightMatrix) -> [Double] {
                var seconds = [Double]()
                seconds.reserveCapacity(calls)
                for call in 0..<calls {
                    let w = weightAt(call)
                    let t0 = DispatchTime.now().uptimeNanoseconds
                    Kernels.matmul(input: x, tokens: tokens, context: context, op: .other, MatmulTarget(w, y))
                    seconds.append(Double(DispatchTime.now().uptimeNanoseconds - t0) * 1e-9)
                }
                return seconds
            }
            func report(_ test: String, tokens: Int, _ seconds: [Double]) {
                let gbps = Spread(seconds.map { Double(matrixBytes) / $0 / 1e9 })
                let macs = Double(shape.rows * shape.columns * tokens)
                let gmac = Spread(seconds.map { macs / $0 / 1e9 })
                let us = Spread(seconds).median * 1e6
                print(String(format: "| %@ | %@ | %d | %@ | %.1f | %.1f–%.1f | %.1f | %.1f |", "\(type)", shape.name,
                             threads, test, gbps.median, gbps.p10, gbps.p90, gmac.median, us))
            }
            // Cold: each call takes the next copy; a pass over all copies first evicts the hot one.
            let coldCalls = min(options.calls, copies)
            _ = time(tokens: 1, calls: min(copies, 64)) { weights[$0 % copies] }
            var start = 0
            report("tg cold", tokens: 1, time(tokens: 1, calls: coldCalls) { weights[(start + $0) % copies] })
            start += coldCalls
            _ = time(tokens: 1, calls: 8) { _ in weights[0] }
            report("tg hot", tokens: 1, time(tokens: 1, calls: options.calls) { _ in weights[0] })
            if options.matmul && options.tokens > 1 {
                let calls = max(3, min(20, Int(2e9 / Double(shape.rows * shape.columns * options.tokens))))
                _ = time(tokens: options.tokens, calls: 1) { _ in weights[0] }
                report("pp\(options.tokens)", tokens: options.tokens, time(tokens: options.tokens, calls: calls) { weights[$0 % copies] })
            }
        }
    }
}
