import CSparrowKernels
import Testing
import SparrowRuntime

/// `Kernels.matmul` end to end — the guided row schedule, the quantized kernels (few tokens) and the
/// OpenBLAS path (prompt batches) — against the scalar reference product on the same quantized
/// activations.
@Suite struct MatMulPathTests {
    /// Every row covered once, in order, in at most 64 chunks of multiples of the row granularity
    /// (except the last), shrinking toward the end.
    @Test(arguments: [1, 2, 3, 8])
    func guidedScheduleCoversEveryRowOnce(threads: Int) {
        for rows in [0, 1, 16, 17, 192, 960, 1536, 3072, 49152, 262_144] {
            withUnsafeTemporaryAllocation(of: Int.self, capacity: 65) { bounds in
                let count = Kernels.guidedSchedule(rows: rows, threads: threads, into: bounds)
                #expect(count <= 64)
                #expect(count == 0 ? rows == 0 : bounds[count] == rows, "rows \(rows) threads \(threads)")
                for k in 0..<count {
                    let size = bounds[k + 1] - bounds[k]
                    #expect(size > 0)
                    if k + 1 < count {
                        #expect(size % Kernels.rowGranularity == 0)
                        if k > 0 { #expect(size <= bounds[k] - bounds[k - 1] || size == Kernels.rowGranularity) }
                    }
                }
            }
        }
    }

    static let types: [(GGMLType, Int32)] = [
        (.f32, Int32(SP_TYPE_F32)), (.f16, Int32(SP_TYPE_F16)), (.bf16, Int32(SP_TYPE_BF16)),
        (.q4_0, Int32(SP_TYPE_Q4_0)), (.q4_1, Int32(SP_TYPE_Q4_1)), (.q8_0, Int32(SP_TYPE_Q8_0)),
    ]

    /// Two fused weights of each type; 1 and 5 tokens run the quantized kernels, 16 and 37 the
    /// batched path (SGEMM for every type but Q4_1). Tolerance: float summation order, relative to
    /// sum |w| |x| (KernelParityTests.float32Reordered).
    @Test(arguments: [1, 5, 16, 37])
    func matmulMatchesReferenceForEveryType(tokens: Int) {
        var rng = SplitMix64(seed: 0x3A7 &+ UInt64(tokens))
        let K = 576, rows = [200, 72]
        for threads in [1, 2] {
            let context = ExecutionContext(threadCount: threads)
            for (type, raw) in Self.types {
                let weights = rows.map { randomWeights(type: raw, rows: $0, k: K, rng: &rng) }
                let x = rng.floats(tokens * K, scale: 3)
                let act = sp_vec_dot_type(raw), xqRow = sp_row_bytes(act, Int64(K))
                var xq = [UInt8](repeating: 0, count: tokens * xqRow)
                xq.withUnsafeMutableBytes { q in
                    for t in 0..<tokens {
                        sp_quantize_row_ref(act, Array(x[(t * K)..<((t + 1) * K)]), q.baseAddress! + t * xqRow, Int64(K))
                    }
                }
                let xRows = (0..<tokens).map { t -> [Float] in
                    var v = [Float](repeating: 0, count: K)
                    xq.withUnsafeBytes { sp_dequantize_row_ref(act, $0.baseAddress! + t * xqRow, &v, Int64(K)) }
                    return v
                }
                let data = weights.map { w -> UnsafeMutableRawPointer in
                    let p = UnsafeMutableRawPointer.allocate(byteCount: w.bytes.count, alignment: 64)
                    p.copyMemory(from: w.bytes, byteCount: w.bytes.count)
                    return p
                }
                defer { data.forEach { $0.deallocate() } }
                let mats = (0..<2).map { WeightMatrix(name: "w\($0)", type: type, rows: rows[$0], columns: K, data: data[$0]) }
                var out0 = [Float](repeating: .nan, count: tokens * rows[0])
                var out1 = [Float](repeating: .nan, count: tokens * rows[1])
                out0.withUnsafeMutableBufferPointer { o0 in
                    out1.withUnsafeMutableBufferPointer { o1 in
                        Kernels.matmul(
                            input: x, tokens: tokens, context: context, op: .other,
                            MatmulTarget(mats[0], o0.baseAddress!), MatmulTarget(mats[1], o1.baseAddress!))
                    }
                }
                let outs = [out0, out1]
                for i in 0..<2 {
                    var ref = [Float](repeating: 0, count: tokens * rows[i])
                    sp_matmul_ref(raw, data[i], mats[i].rowBytes, Int64(K), xq, xqRow, Int64(tokens), &ref,
                                  Int64(rows[i]), 0, Int64(rows[i]))
                    let magnitude = weights[i].absDots(with: xRows)
                    var worst = 0.0
                    for t in 0..<tokens {
                        for r in 0..<rows[i] {
                            let err = abs(Double(outs[i][t * rows[i] + r]) - Double(ref[t * rows[i] + r]))
                            worst = max(worst, err / (magnitude[t][r] + 1e-30))
                        }
                    }
                    #expect(worst <= KernelParityTests.float32Reordered,
                            "\(type) tokens \(tokens) threads \(threads) weight \(i): relative error \(worst)")
                }
            }
        }
    }

    /// Which thread computes a row never changes its value: 1 and 2 threads agree bit for bit (the
    /// guided schedule's chunks start on row-tile multiples), so sampling with a seed is reproducible.
    @Test(arguments: [1, 5, 24])
    func resultsDoNotDependOnThreadCount(tokens: Int) {
        var rng = SplitMix64(seed: 0xD37 &+ UInt64(tokens))
        let K = 576, rows = 1000
        for (type, raw) in Self.types {
            let w = randomWeights(type: raw, rows: rows, k: K, rng: &rng)
            let x = rng.floats(tokens * K, scale: 3)
            let data = UnsafeMutableRawPointer.allocate(byteCount: w.bytes.count, alignment: 64)
            defer { data.deallocate() }
            data.copyMemory(from: w.bytes, byteCount: w.bytes.count)
            let mat = WeightMatrix(name: "w", type: type, rows: rows, columns: K, data: data)
            let results = [1, 2, 2].map { threads -> [UInt32] in
                var out = [Float](repeating: .nan, count: tokens * rows)
                out.withUnsafeMutableBufferPointer { o in
                    Kernels.matmul(input: x, tokens: tokens, context: ExecutionContext(threadCount: threads), op: .other,
                                   MatmulTarget(mat, o.baseAddress!))
                }
                return out.map(\.bitPattern)
            }
            #expect(results[0] == results[1] && results[1] == results[2], "\(type) tokens \(tokens)")
        }
    }
}
