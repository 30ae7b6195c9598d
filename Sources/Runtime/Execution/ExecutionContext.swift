import CSparrowKernels

/// What every op runs with: the thread pool, per-op accounting and reusable scratch memory.
///
/// One context serves one model instance at a time (not thread-safe). Scratch buffers grow to the
/// largest request and are then reused, so the per-token loop allocates nothing.
public final class ExecutionContext: @unchecked Sendable {
    public let pool: ThreadPool
    public var accounting = OpAccounting()
    private var scratch: UnsafeMutableRawPointer?
    private var scratchBytes = 0

    public init(threadCount: Int? = nil) {
        pool = ThreadPool(threadCount: threadCount)
    }

    deinit { scratch?.deallocate() }

    public var threadCount: Int { pool.threadCount }

    /// Scratch memory of at least `bytes` bytes, 64-byte aligned; valid until the next call.
    public func scratch(bytes: Int) -> UnsafeMutableRawPointer {
        if bytes > scratchBytes {
            scratch?.deallocate()
            scratchBytes = max(bytes, scratchBytes * 2)
            scratch = UnsafeMutableRawPointer.allocate(byteCount: scratchBytes, alignment: 64)
        }
        return scratch!
    }
}
