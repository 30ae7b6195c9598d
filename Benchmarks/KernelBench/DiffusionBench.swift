// `kernel-bench --diffusion`: the diffusion ops on Stable Diffusion 1.5 shapes at 512×512 (64×64
// latent): self-attention 4096×4096 and cross-attention 4096×77 with 8 heads × 40, group norm on
// 64×64×320 (32 groups, with and without the fused SiLU), linear 4096×320 → 1280, GEGLU and GELU on
// 4096 × 1280, the UNet's 3×3 convolutions (fp32, fp16 and int8 weights). Median of `--calls` timed calls (after one warm-up) per thread count, in milliseconds.
// Scripts/bench-diffusion-ops.py times PyTorch CPU on the same shapes.
import CSparrowKernels
import Foundation
import SparrowRuntime

/// Times the diffusion ops and prints a Markdown table.
/// `only`: time just the ops whose name contains it.
func runDiffusionBench(threads: [Int], calls: Int, only: String? = nil) {
    var rng = Generator(state: 0xD1FF)
    func buffer(_ n: Int, scale: Float = 1) -> UnsafeMutablePointer<Float> {
        let p = UnsafeMutablePointer<Float>.allocate(capacity: n)
        for i in 0..<n { p[i] = rng.float() * scale }
        return p
    }
    let tokens = 4096, heads = 8, D = 40, width = heads * D, context77 = 77
    let q = buffer(tokens * width, scale: 2), k = buffer(tokens * width, scale: 2), v = buffer(tokens * width)
    let out = buffer(tokens * width)
    let gamma = buffer(width), beta = buffer(width)
    let w = buffer(1280 * 320, scale: 0.05), bias = buffer(1280), y = buffer(tokens * 1280), proj = buffer(tokens * 2560)
    let scale = 1 / Float(D).squareRoot()
    // The UNet's 3×3 convolutions at 64×64×320 and 16×16×1280 (SD 1.5, 512×512).
    let convWide = buffer(320 * 9 * 320, scale: 0.05), convDeep = buffer(1280 * 9 * 1280, scale: 0.02)
    let padOne = Padding2D(top: 1, left: 1, bottom: 1, right: 1)
    let conv320 = Convolution2D(weights: convWide, bias: bias, outputChannels: 320, kernelHeight: 3, kernelWidth: 3, inputChannels: 320,
                                strideY: 1, strideX: 1, padding: padOne, activation: .none)
    func deep(_ storage: WeightStorage, _ algorithm: ConvolutionAlgorithm = .direct) -> Convolution2D {
        Convolution2D(weights: convDeep, bias: bias, outputChannels: 1280, kernelHeight: 3, kernelWidth: 3, inputChannels: 1280,
                      strideY: 1, strideX: 1, padding: padOne, activation: .none, storage: storage, algorithm: algorithm)
    }
    let conv1280 = deep(.float32), conv1280Half = deep(.float16), conv1280Int8 = deep(.int8)
    func wide(_ algorithm: ConvolutionAlgorithm) -> Convolution2D {
        Convolution2D(weights: convWide, bias: bias, outputChannels: 320, kernelHeight: 3, kernelWidth: 3, inputChannels: 320,
                      strideY: 1, strideX: 1, padding: padOne, activation: .none, storage: .float16, algorithm: algorithm)
    }
    // fp16 weights, as the diffusion pipeline runs them: direct and Winograd F(2×2, 3×3).
    let halfConvs: [(String, Convolution2D, Convolution2D)] = [
        ("", wide(.direct), deep(.float16)), (", Winograd", wide(.winograd), deep(.float16, .winograd)),
    ]

    // Linear layers as 1×1 convolutions (tokens as pixels), against OpenBLAS (`linear` rows).
    let pointwise = Convolution2D(weights: w, bias: bias, outputChannels: 1280, kernelHeight: 1, kernelWidth: 1, inputChannels: 320,
                                  strideY: 1, strideX: 1, padding: .zero, activation: .none, storage: .float16)
    let wideW = buffer(10240 * 1280, scale: 0.02), wideBias = buffer(10240)
    let pointwiseWide = Convolution2D(weights: wideW, bias: wideBias, outputChannels: 10240, kernelHeight: 1, kernelWidth: 1,
                                      inputChannels: 1280, strideY: 1, strideX: 1, padding: .zero, activation: .none,
                                      storage: .float16)
    // The VAE decoder's largest 3×3 convolutions (256×256×256 and 512×512×128).
    let vaeInput = buffer(512 * 512 * 128), vaeOutput = buffer(512 * 512 * 128)
    var vae: [String: Convolution2D] = [:]
    for channels in [256, 128] {
        let weights = buffer(channels * 9 * channels, scale: 0.02)
        for (suffix, algorithm) in [("", ConvolutionAlgorithm.direct), (", Winograd", .winograd)] {
            vae["\(channels)\(suffix)"] = Convolution2D(
                weights: weights, bias: bias, outputChannels: channels, kernelHeight: 3, kernelWidth: 3, inputChannels: channels,
                strideY: 1, strideX: 1, padding: padOne, activation: .none, storage: .float16, algorithm: algorithm)
        }
    }
    print("isa \(sp_active_isa().rawValue); median of \(calls) calls (ms)")
    print("| op | threads | ms | GFLOP/s |")
    print("|---|---:|---:|---:|")
    for n in threads {
        let context = ExecutionContext(threadCount: n)
        context.accounting.isEnabled = false
        func time(_ name: String, flops: Double, _ body: () -> Void) {
            if let only, !name.contains(only) { return }
            body()
            var ms = [Double]()
            for _ in 0..<calls {
                let t0 = DispatchTime.now().uptimeNanoseconds
                body()
                ms.append(Double(DispatchTime.now().uptimeNanoseconds - t0) * 1e-6)
            }
            let median = Spread(ms).median
            print(String(format: "| %@ | %d | %.2f | %@ |", name, n, median, flops > 0 ? String(format: "%.1f", flops / median / 1e6) : "–"))
        }
        time("attention self 4096×4096, 8×40", flops: 4.0 * Double(heads * tokens * tokens * D)) {
            Kernels.attention(query: q, queryStride: width, key: k, keyStride: width, value: v, valueStride: width, queries: tokens,
                              keys: tokens, heads: heads, headDimension: D, scale: scale, causal: false, into: out, outStride: width,
                              context: context)
        }
        time("attention cross 4096×77, 8×40", flops: 4.0 * Double(heads * tokens * context77 * D)) {
            Kernels.attention(query: q, queryStride: width, key: k, keyStride: width, value: v, valueStride: width, queries: tokens,
                              keys: context77, heads: heads, headDimension: D, scale: scale, causal: false, into: out, outStride: width,
                              context: context)
        }
        time("groupNorm 64×64×320 /32", flops: 0) {
            Kernels.groupNorm(q, pixels: tokens, channels: width, groups: 32, epsilon: 1e-5, gamma: gamma, beta: beta, silu: false,
                              into: out, context: context)
        }
        time("groupNorm+SiLU 64×64×320 /32", flops: 0) {
            Kernels.groupNorm(q, pixels: tokens, channels: width, groups: 32, epsilon: 1e-5, gamma: gamma, beta: beta, silu: true,
                              into: out, context: context)
        }
        time("linear 4096×320→1280", flops: 2.0 * Double(tokens * 320 * 1280)) {
            Kernels.linear(q, tokens: tokens, weight: w, bias: bias, inFeatures: 320, outFeatures: 1280, into: y, context: context)
        }
        time("conv3×3 64×64×320→320", flops: 2.0 * Double(tokens * 320 * 9 * 320)) {
            conv320.run(q, shape: FeatureMapShape(height: 64, width: 64, channels: 320), into: out, context: context)
        }
        time("conv3×3 16×16×1280→1280", flops: 2.0 * Double(256 * 1280 * 9 * 1280)) {
            conv1280.run(q, shape: FeatureMapShape(height: 16, width: 16, channels: 1280), into: out, context: context)
        }
        time("linear 256×1280→10240", flops: 2.0 * Double(256 * 1280 * 10240)) {
            Kernels.linear(q, tokens: 256, weight: wideW, bias: wideBias, inFeatures: 1280, outFeatures: 10240, into: proj, context: context)
        }
        time("linear 4096×320→1280 as 1×1 conv, fp16", flops: 2.0 * Double(tokens * 320 * 1280)) {
            pointwise.run(q, shape: FeatureMapShape(height: tokens, width: 1, channels: 320), into: y, context: context)
        }
        time("linear 256×1280→10240 as 1×1 conv, fp16", flops: 2.0 * Double(256 * 1280 * 10240)) {
            pointwiseWide.run(q, shape: FeatureMapShape(height: 256, width: 1, channels: 1280), into: proj, context: context)
        }
        // GFLOP/s count the direct convolution's FLOPs (Winograd rows: effective rate).
        for (suffix, conv320Half, deepHalf) in halfConvs {
            time("conv3×3 64×64×320→320 fp16 weights\(suffix)", flops: 2.0 * Double(tokens * 320 * 9 * 320)) {
                conv320Half.run(q, shape: FeatureMapShape(height: 64, width: 64, channels: 320), into: out, context: context)
            }
            time("conv3×3 16×16×1280→1280 fp16 weights\(suffix)", flops: 2.0 * Double(256 * 1280 * 9 * 1280)) {
                deepHalf.run(q, shape: FeatureMapShape(height: 16, width: 16, channels: 1280), into: out, context: context)
            }
            time("conv3×3 2 × 8×8×1280→1280 fp16 weights\(suffix)", flops: 2.0 * Double(128 * 1280 * 9 * 1280)) {
                deepHalf.run(q, shape: FeatureMapShape(height: 8, width: 8, channels: 1280), batch: 2, into: out, context: context)
            }
            for (size, channels) in [(256, 256), (512, 128)] {
                let shape = FeatureMapShape(height: size, width: size, channels: channels)
                time("conv3×3 \(shape)→\(channels) fp16 weights (VAE)\(suffix)", flops: 2.0 * Double(shape.count * channels * 9)) {
                    vae["\(channels)\(suffix)"]!.run(vaeInput, shape: shape, into: vaeOutput, context: context)
                }
            }
        }
        time("conv3×3 16×16×1280→1280 int8 weights", flops: 2.0 * Double(256 * 1280 * 9 * 1280)) {
            conv1280Int8.run(q, shape: FeatureMapShape(height: 16, width: 16, channels: 1280), into: out, context: context)
        }
        time("geglu 4096×(2×1280)", flops: 0) {
            Kernels.geglu(proj, tokens: tokens, innerFeatures: 1280, into: y, context: context)
        }
    }
}
