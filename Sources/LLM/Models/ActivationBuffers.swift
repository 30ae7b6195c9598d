/// Activation buffers for one forward step of up to `batch` tokens, allocated once (shared by the
/// architecture files).
final class ActivationBuffers {
    let x, xn, q, k, v, attention, gate, up: UnsafeMutablePointer<Float>
    private var logitBuffer: UnsafeMutablePointer<Float>?
    private var logitCapacity = 0

    init(batch: Int, D: Int, F: Int, qDim: Int, kvDim: Int, V: Int) {
        func alloc(_ n: Int) -> UnsafeMutablePointer<Float> {
            let p = UnsafeMutablePointer<Float>.allocate(capacity: n)
            p.initialize(repeating: 0, count: n)
            return p
        }
        x = alloc(batch * D)
        xn = alloc(batch * max(D, qDim))
        q = alloc(batch * qDim)
        k = alloc(batch * kvDim)
        v = alloc(batch * kvDim)
        attention = alloc(batch * qDim)
        gate = alloc(batch * F)
        up = alloc(batch * F)
        _ = logits(rows: 1, V: V)
    }

    /// Logit storage for `rows` rows, grown on demand (only perplexity asks for many rows).
    func logits(rows: Int, V: Int) -> UnsafeMutablePointer<Float> {
        if rows * V > logitCapacity {
            logitBuffer?.deallocate()
            logitCapacity = rows * V
            logitBuffer = .allocate(capacity: logitCapacity)
            logitBuffer!.initialize(repeating: 0, count: logitCapacity)
        }
        return logitBuffer!
    }

    /// The body every architecture's `LanguageModel.evaluate` shares: checks the input against the
    /// context and vocabulary, then runs `forward(batch, logitRows, logits)` over batches of at most
    /// `batchSize` tokens (logitRows: indices into the batch whose logits are wanted, nil for none).
    func evaluateInBatches(
        _ tokens: [Int32], allLogits: Bool, position: Int, contextLength: Int, vocabularySize V: Int, batchSize: Int,
        forward: (ArraySlice<Int32>, Range<Int>?, UnsafeMutablePointer<Float>) -> Void
    ) throws -> UnsafeBufferPointer<Float> {
        guard !tokens.isEmpty else { throw ModelError.emptyInput }
        guard position + tokens.count <= contextLength else {
            throw ModelError.contextFull(needed: position + tokens.count, capacity: contextLength)
        }
        for t in tokens where t < 0 || Int(t) >= V {
            throw ModelError.tokenOutOfRange(t, vocabularySize: V)
        }
        let out = logits(rows: allLogits ? tokens.count : 1, V: V)
        var done = 0
        while done < tokens.count {
            let n = min(batchSize, tokens.count - done)
            let isLast = done + n == tokens.count
            let rows: Range<Int>? = allLogits ? 0..<n : (isLast ? (n - 1)..<n : nil)
            forward(tokens[done..<(done + n)], rows, out + (allLogits ? done * V : 0))
            done += n
        }
        return UnsafeBufferPointer(start: out, count: (allLogits ? tokens.count : 1) * V)
    }

    deinit {
        for p in [x, xn, q, k, v, attention, gate, up] { p.deallocate() }
        logitBuffer?.deallocate()
    }
}
