import SparrowRuntime

/// Which pixels of one feature map changed on the current frame (Skip-Conv bookkeeping).
///
/// A byte per pixel plus a summary state, so "nothing changed" and "everything changed" cost nothing
/// to test and a sparse map is walked as runs of consecutive pixel indices (NHWC keeps a run's
/// channels contiguous in memory, so an element-wise kernel can process a run in one call).
final class ChangeMask {
    enum State { case none, some, all }

    let pixelCount: Int
    let width: Int
    private(set) var state: State = .none
    let bytes: UnsafeMutablePointer<UInt8>

    init(width: Int, height: Int) {
        self.width = width
        pixelCount = width * height
        bytes = .allocate(capacity: max(pixelCount, 1))
        bytes.initialize(repeating: 0, count: max(pixelCount, 1))
    }

    deinit { bytes.deallocate() }

    func setNone() { state = .none }
    func setAll() { state = .all }

    /// Starts a sparse mask: all bytes cleared; mark pixels with `mark`, then `finish()`.
    func beginSome() {
        bytes.update(repeating: 0, count: pixelCount)
        state = .some
    }

    /// Starts a sparse mask whose bytes the caller overwrites entirely (then `finish()`).
    func beginSparse() { state = .some }

    @inline(__always) func mark(_ pixel: Int) { bytes[pixel] = 1 }

    /// Settles the state after marking: none if nothing was marked.
    func finish(markedCount: Int) {
        if markedCount == 0 { state = .none } else if markedCount == pixelCount { state = .all }
    }

    /// True when pixel `p` changed.
    @inline(__always) func contains(_ p: Int) -> Bool {
        switch state {
        case .none: return false
        case .all: return true
        case .some: return bytes[p] != 0
        }
    }

    /// Calls `body(start, count)` for every maximal run of changed pixels, in order.
    func forEachRun(_ body: (_ start: Int, _ count: Int) -> Void) {
        switch state {
        case .none: return
        case .all: body(0, pixelCount)
        case .some:
            var p = 0
            let n = pixelCount
            while p < n {
                // Skip unchanged pixels eight at a time.
                while p + 8 <= n, UnsafeRawPointer(bytes + p).loadUnaligned(as: UInt64.self) == 0 { p += 8 }
                while p < n, bytes[p] == 0 { p += 1 }
                guard p < n else { return }
                let start = p
                while p < n, bytes[p] != 0 { p += 1 }
                body(start, p - start)
            }
        }
    }

    /// Number of changed pixels.
    var changedCount: Int {
        switch state {
        case .none: return 0
        case .all: return pixelCount
        case .some:
            var total = 0
            forEachRun { _, count in total += count }
            return total
        }
    }

    /// Takes `other`'s changed pixels (same size).
    func copy(from other: ChangeMask) {
        precondition(other.pixelCount == pixelCount)
        state = other.state
        if state == .some { bytes.update(from: other.bytes, count: pixelCount) }
    }

    /// The union of two same-sized masks.
    func formUnion(_ a: ChangeMask, _ b: ChangeMask) {
        precondition(a.pixelCount == pixelCount && b.pixelCount == pixelCount)
        if a.state == .all || b.state == .all { state = .all; return }
        if a.state == .none { copy(from: b); return }
        if b.state == .none { copy(from: a); return }
        for p in 0..<pixelCount { bytes[p] = a.bytes[p] | b.bytes[p] }
        state = .some
    }

    /// Marks every output pixel that a changed input pixel can reach through an `from`-range
    /// (inclusive) of output rows and columns per input row and column (see the two users below).
    private func markReach(from input: ChangeMask, inputWidth: Int, outputHeight: Int, outputWidth: Int,
                           rows: (Int) -> ClosedRange<Int>, columns: (Int) -> ClosedRange<Int>) {
        switch input.state {
        case .none: state = .none; return
        case .all: state = .all; return
        case .some: beginSome()
        }
        var marked = 0
        input.forEachRun { start, count in
            for q in start..<(start + count) {
                let (iy, ix) = (q / inputWidth, q % inputWidth)
                let ys = rows(iy).clamped(to: 0...(outputHeight - 1)), xs = columns(ix).clamped(to: 0...(outputWidth - 1))
                for y in ys {
                    for x in xs where bytes[y * outputWidth + x] == 0 {
                        bytes[y * outputWidth + x] = 1
                        marked += 1
                    }
                }
            }
        }
        finish(markedCount: marked)
    }

    /// After a bilinear resize: output pixels whose interpolation taps may include a changed input
    /// pixel (a conservative superset: one extra source pixel on each side).
    func markResized(from input: ChangeMask, inputShape: FeatureMapShape, outputShape: FeatureMapShape) {
        let (sy, sx) = (Double(outputShape.height) / Double(inputShape.height), Double(outputShape.width) / Double(inputShape.width))
        markReach(from: input, inputWidth: inputShape.width, outputHeight: outputShape.height, outputWidth: outputShape.width,
                  rows: { Int((Double($0 - 1) * sy).rounded(.down)) - 1...Int((Double($0 + 2) * sy).rounded(.up)) + 1 },
                  columns: { Int((Double($0 - 1) * sx).rounded(.down)) - 1...Int((Double($0 + 2) * sx).rounded(.up)) + 1 })
    }

    /// After a transposed convolution: input pixel i writes outputs i·stride − pad … + kernel − 1.
    func markTransposed(from input: ChangeMask, inputShape: FeatureMapShape, outputShape: FeatureMapShape,
                        kernelHeight: Int, kernelWidth: Int, strideY: Int, strideX: Int, padTop: Int, padLeft: Int) {
        markReach(from: input, inputWidth: inputShape.width, outputHeight: outputShape.height, outputWidth: outputShape.width,
                  rows: { $0 * strideY - padTop...$0 * strideY - padTop + kernelHeight - 1 },
                  columns: { $0 * strideX - padLeft...$0 * strideX - padLeft + kernelWidth - 1 })
    }
}
