import Foundation
import SparrowRuntime
import Testing

/// The image-op references against small cases worked by hand from TFLite's reference formulas
/// (tensorflow/lite/kernels/internal/reference/*).
struct ImageOpsReferenceTests {
    /// Hand-worked values that are not exact binary fractions (thirds, 1/255): the reference may differ
    /// from the decimal value by float rounding of a few operations.
    static let handWorkedRounding: Float = 1e-6

    static func shape(_ h: Int, _ w: Int, _ c: Int) -> FeatureMapShape { FeatureMapShape(height: h, width: w, channels: c) }

    @Test func resizeAlignCornersMapsCornersToCorners() {
        // 2×2 → 3×3, align_corners: scale (2−1)/(3−1) = 0.5, sources 0, 0.5, 1 on each axis.
        let out = ImageOpsReference.resizeBilinear([0, 1, 2, 3], shape: Self.shape(2, 2, 1), outputHeight: 3, outputWidth: 3,
                                                   alignCorners: true, halfPixelCenters: false)
        #expect(out == [0, 0.5, 1, 1, 1.5, 2, 2, 2.5, 3])
    }

    @Test func resizeWithoutAlignCornersUsesInOverOutScaleAndClampsTheUpperTap() {
        // 2×2 → 3×3: scale 2/3, sources 0, 2/3, 4/3 (upper tap clamped to 1, so the last column copies).
        let out = ImageOpsReference.resizeBilinear([0, 1, 2, 3], shape: Self.shape(2, 2, 1), outputHeight: 3, outputWidth: 3,
                                                   alignCorners: false, halfPixelCenters: false)
        let want: [Float] = [0, 2.0 / 3, 1, 4.0 / 3, 2, 7.0 / 3, 2, 8.0 / 3, 3]
        for i in 0..<9 { #expect(abs(out[i] - want[i]) <= Self.handWorkedRounding, "element \(i): \(out[i]) vs \(want[i])") }
        // 1×2 → 1×4: scale 0.5, sources 0, 0.5, 1, 1.5 → taps (0,0) (0,1) (1,1) (1,1).
        let row = ImageOpsReference.resizeBilinear([0, 4], shape: Self.shape(1, 2, 1), outputHeight: 1, outputWidth: 4,
                                                   alignCorners: false, halfPixelCenters: false)
        #expect(row == [0, 2, 4, 4])
    }

    @Test func resizeHalfPixelCentersShiftsSourcesByHalfAPixel() {
        // 1×2 → 1×4: sources (i + 0.5)·0.5 − 0.5 = −0.25, 0.25, 0.75, 1.25; −0.25 has both taps at 0
        // (weights 1.25 and −0.25 on the same value), 1.25 both at 1.
        let row = ImageOpsReference.resizeBilinear([0, 4], shape: Self.shape(1, 2, 1), outputHeight: 1, outputWidth: 4,
                                                   alignCorners: false, halfPixelCenters: true)
        #expect(row == [0, 1, 3, 4])
        // Two channels interpolate independently.
        let two = ImageOpsReference.resizeBilinear([0, 8, 4, 0], shape: Self.shape(1, 2, 2), outputHeight: 1, outputWidth: 4,
                                                   alignCorners: false, halfPixelCenters: true)
        #expect(two == [0, 8, 1, 6, 3, 2, 4, 0])
    }

    @Test func averagePoolDividesByInBoundsTapCount() {
        // 3×3 map of 1…9, 3×3 filter, stride 1, one pixel of padding on every side (SAME).
        let input: [Float] = (1...9).map(Float.init)
        let out = ImageOpsReference.pool2D(isMax: false, input, shape: Self.shape(3, 3, 1), filterHeight: 3, filterWidth: 3,
                                           strideY: 1, strideX: 1, padding: Padding2D(top: 1, left: 1, bottom: 1, right: 1),
                                           activation: .none)
        // Corner (0,0): taps 1 2 4 5 → 12 / 4 = 3 (not 12 / 9); edge (0,1): 1…6 → 21 / 6 = 3.5; centre: 45 / 9 = 5.
        #expect(out == [3, 3.5, 4, 4.5, 5, 5.5, 6, 6.5, 7])
    }

    @Test func maxPoolSkipsPaddingAndFusedActivationClamps() {
        let input: [Float] = [-5, -6, -7, -8]   // 2×2, all negative: zero padding must not win
        let out = ImageOpsReference.pool2D(isMax: true, input, shape: Self.shape(2, 2, 1), filterHeight: 2, filterWidth: 2,
                                           strideY: 1, strideX: 1, padding: Padding2D(top: 1, left: 1, bottom: 0, right: 0),
                                           activation: .none)
        #expect(out == [-5, -5, -5, -5])
        let clamped = ImageOpsReference.pool2D(isMax: true, [1, 9, -3, 2], shape: Self.shape(2, 2, 1), filterHeight: 1,
                                               filterWidth: 1, strideY: 1, strideX: 1, padding: .zero, activation: .relu6)
        #expect(clamped == [1, 6, 0, 2])
    }

    @Test func elementwiseFormulasMatchHandValues() {
        #expect(ImageOpsReference.hardSwish([-4, -3, -1.5, 0, 1, 3, 10]) == [0, 0, -0.375, 0, Float(4) / 6, 3, 10])
        #expect(ImageOpsReference.relu([-1, 0, 2.5]) == [0, 0, 2.5])
        let s = ImageOpsReference.logistic([0, 2, 17, -10, -200])
        #expect(s[0] == 0.5)
        #expect(abs(s[1] - 0.880797077977882) <= Self.handWorkedRounding)
        #expect(s[2] == 1)                                    // above the upper cutoff
        #expect(s[3] == Foundation.exp(Float(-10)))          // below the lower cutoff: e^x
        #expect(s[4] == 0)                                    // e^-200 underflows
        let p = ImageOpsReference.prelu([-2, 3, -4, -1], shape: Self.shape(1, 2, 2), alpha: [0.25, 0.5], alphaShape: Self.shape(1, 1, 2))
        #expect(p == [-0.5, 3, -1, -0.5])
    }

    @Test func addAndMultiplyBroadcastEitherSide() {
        let x: [Float] = [1, 2, 3, 4, 5, 6]                  // 1×3×2
        let xs = Self.shape(1, 3, 2), perChannel = Self.shape(1, 1, 2), scalar = Self.shape(1, 1, 1)
        #expect(ImageOpsReference.add(x, xs, [10, 20], perChannel, activation: .none) == [11, 22, 13, 24, 15, 26])
        #expect(ImageOpsReference.add([10, 20], perChannel, x, xs, activation: .none) == [11, 22, 13, 24, 15, 26])
        #expect(ImageOpsReference.multiply([-1], scalar, x, xs, activation: .none) == [-1, -2, -3, -4, -5, -6])
        #expect(ImageOpsReference.multiply(x, xs, x, xs, activation: .relu6) == [1, 4, 6, 6, 6, 6])
        #expect(ImageOpsReference.add(x, xs, [-3], scalar, activation: .reluMinus1To1) == [-1, -1, 0, 1, 1, 1])
        #expect(Kernels.broadcastShape(xs, Self.shape(1, 3, 1)) == nil)
    }

    @Test func meanPadConcatenateAndImageConversion() {
        #expect(ImageOpsReference.meanOverPixels([1, 10, 3, 30, 5, 50, 7, 70], shape: Self.shape(2, 2, 2)) == [4, 40])
        // 1×1×2 padded by (1, 0, 1) before and (0, 1, 0) after → 2×2×3.
        let padded = ImageOpsReference.pad([7, 8], shape: Self.shape(1, 1, 2), before: (1, 0, 1), after: (0, 1, 0))
        #expect(padded == [0, 0, 0, 0, 0, 0, 0, 7, 8, 0, 0, 0])
        let joined = ImageOpsReference.concatenate([([1, 2, 3, 4], 2), ([9, 8], 1)], outerCount: 2)
        #expect(joined == [1, 2, 9, 3, 4, 8])
        let f = ImageOpsReference.imageToFloat([0, 255, 51], scale: 2.0 / 255, offset: -1)
        #expect(f[0] == -1 && abs(f[1] - 1) <= Self.handWorkedRounding && abs(f[2] + 0.6) <= Self.handWorkedRounding)
    }
}

/// The references (and the fast paths on this CPU's best ISA) against LiteRT 2.3.0 running TFLite's
/// own reference kernels (OpResolverType.BUILTIN_REF) on single-op models:
/// Fixtures/image-op-goldens.json, made by Scripts/make-image-op-goldens.py.
struct ImageOpsLiteRTGoldenTests {
    /// Ops without a multiply feeding an add (ADD, MUL, PRELU, RELU, HARD_SWISH, pools, PAD,
    /// CONCATENATION) leave no room for rounding differences.
    static let exact: Float = 0
    /// Resize and mean: LiteRT's build may contract a·b + c into FMAs or reassociate; relative to the
    /// largest input magnitude.
    static let liteRTContraction: Float = 1e-6
    /// Logistic: libm's expf in both, but allow a few ulp of difference between builds.
    static let logisticRelative: Float = 2e-6, logisticAbsolute: Float = 1e-37

    struct Tensor: Decodable { var shape: [Int]; var values: [Double] }
    enum Parameter: Decodable {
        case bool(Bool), int(Int), string(String), ints([Int])
        init(from decoder: Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let v = try? c.decode(Bool.self) { self = .bool(v) }
            else if let v = try? c.decode(Int.self) { self = .int(v) }
            else if let v = try? c.decode(String.self) { self = .string(v) }
            else { self = .ints(try c.decode([Int].self)) }
        }
    }
    struct Case: Decodable { var name: String; var op: String; var params: [String: Parameter]; var inputs: [Tensor]; var output: Tensor }
    struct Golden: Decodable { var cases: [Case] }

    static func shape(_ t: Tensor) -> FeatureMapShape {
        let s = [Int](repeating: 1, count: max(0, 3 - t.shape.count)) + t.shape
        return FeatureMapShape(height: s[0], width: s[1], channels: s[2])
    }

    @Test func referencesAndFastPathsMatchLiteRTReferenceKernels() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/image-op-goldens.json")
        let golden = try JSONDecoder().decode(Golden.self, from: Data(contentsOf: path))
        #expect(golden.cases.count == 32)
        let context = ExecutionContext(threadCount: 1)
        for g in golden.cases {
            let inputs = g.inputs.map { $0.values.map(Float.init) }, shapes = g.inputs.map(Self.shape)
            let want = g.output.values.map(Float.init), outShape = Self.shape(g.output)
            func int(_ k: String) -> Int { if case .int(let v) = g.params[k] { return v }; return -1 }
            func bool(_ k: String) -> Bool { if case .bool(let v) = g.params[k] { return v }; return false }
            func ints(_ k: String) -> [Int] { if case .ints(let v) = g.params[k] { return v }; return [0, 0, 0] }
            var activation: FusedActivation {
                guard case .string(let s) = g.params["activation"] else { return .none }
                return ["relu": .relu, "relu6": .relu6][s] ?? .none
            }
            var tolerance = Self.exact
            var reference: [Float] = [], fast = [Float](repeating: .nan, count: want.count)
            switch g.op {
            case "resizeBilinear", "meanOverPixels":
                tolerance = Self.liteRTContraction * inputs[0].reduce(0) { max($0, abs($1)) }
                if g.op == "meanOverPixels" {
                    reference = ImageOpsReference.meanOverPixels(inputs[0], shape: shapes[0])
                    Kernels.meanOverPixels(inputs[0], shape: shapes[0], into: &fast)
                } else {
                    reference = ImageOpsReference.resizeBilinear(inputs[0], shape: shapes[0], outputHeight: int("outputHeight"),
                                                                 outputWidth: int("outputWidth"), alignCorners: bool("alignCorners"),
                                                                 halfPixelCenters: bool("halfPixelCenters"))
                    Kernels.resizeBilinear(inputs[0], shape: shapes[0], outputHeight: int("outputHeight"), outputWidth: int("outputWidth"),
                                           alignCorners: bool("alignCorners"), halfPixelCenters: bool("halfPixelCenters"),
                                           into: &fast, context: context)
                }
            case "averagePool2D", "maxPool2D":
                let p = Padding2D(top: int("top"), left: int("left"), bottom: int("bottom"), right: int("right"))
                let f = int("filter"), s = int("stride"), isMax = g.op == "maxPool2D"
                reference = ImageOpsReference.pool2D(isMax: isMax, inputs[0], shape: shapes[0], filterHeight: f, filterWidth: f,
                                                     strideY: s, strideX: s, padding: p, activation: activation)
                if isMax {
                    Kernels.maxPool2D(inputs[0], shape: shapes[0], filterHeight: f, filterWidth: f, strideY: s, strideX: s, padding: p,
                                      activation: activation, into: &fast, context: context)
                } else {
                    Kernels.averagePool2D(inputs[0], shape: shapes[0], filterHeight: f, filterWidth: f, strideY: s, strideX: s, padding: p,
                                          activation: activation, into: &fast, context: context)
                }
            case "logistic":
                reference = ImageOpsReference.logistic(inputs[0])
                Kernels.logistic(inputs[0], count: want.count, into: &fast)
            case "hardSwish":
                reference = ImageOpsReference.hardSwish(inputs[0])
                Kernels.hardSwish(inputs[0], count: want.count, into: &fast)
            case "relu":
                reference = ImageOpsReference.relu(inputs[0])
                Kernels.relu(inputs[0], count: want.count, into: &fast)
            case "add", "multiply":
                let isAdd = g.op == "add"
                reference = isAdd ? ImageOpsReference.add(inputs[0], shapes[0], inputs[1], shapes[1], activation: activation)
                                  : ImageOpsReference.multiply(inputs[0], shapes[0], inputs[1], shapes[1], activation: activation)
                if isAdd {
                    Kernels.add(inputs[0], shapes[0], inputs[1], shapes[1], into: &fast, activation: activation, context: context)
                } else {
                    Kernels.multiply(inputs[0], shapes[0], inputs[1], shapes[1], into: &fast, activation: activation, context: context)
                }
            case "prelu":
                reference = ImageOpsReference.prelu(inputs[0], shape: shapes[0], alpha: inputs[1], alphaShape: shapes[1])
                Kernels.prelu(inputs[0], shape: shapes[0], alpha: inputs[1], alphaShape: shapes[1], into: &fast)
            case "pad":
                let b = ints("before"), a = ints("after")
                reference = ImageOpsReference.pad(inputs[0], shape: shapes[0], before: (b[0], b[1], b[2]), after: (a[0], a[1], a[2]))
                Kernels.pad(inputs[0], shape: shapes[0], before: (b[0], b[1], b[2]), after: (a[0], a[1], a[2]), into: &fast)
            case "concatenate":
                let outer = outShape.pixelCount
                reference = ImageOpsReference.concatenate(zip(inputs, shapes).map { ($0, $1.channels) }, outerCount: outer)
                inputs[0].withUnsafeBufferPointer { a in
                    inputs[1].withUnsafeBufferPointer { b in
                        Kernels.concatenate([(a.baseAddress!, shapes[0].channels), (b.baseAddress!, shapes[1].channels)],
                                            outerCount: outer, into: &fast)
                    }
                }
            default:
                Issue.record("unknown op \(g.op) in case \(g.name)")
                continue
            }
            for (label, got) in [("reference", reference), ("fast path", fast)] {
                guard got.count == want.count else {
                    Issue.record("\(g.name) \(label): \(got.count) values, LiteRT \(want.count)")
                    continue
                }
                var worst: Float = 0, worstIndex = 0
                for i in want.indices {
                    let allowed = g.op == "logistic" ? Self.logisticRelative * abs(want[i]) + Self.logisticAbsolute : tolerance
                    let excess = abs(got[i] - want[i]) - allowed
                    if !(excess <= 0) && (excess > worst || excess.isNaN) { worst = excess.isNaN ? .infinity : excess; worstIndex = i }
                }
                #expect(worst == 0, "\(g.name) \(label): element \(worstIndex) is \(got[worstIndex]), LiteRT \(want[worstIndex])")
            }
        }
    }
}
