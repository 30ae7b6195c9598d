import CSparrowKernels
import Foundation

/// A persistent pool of worker threads shared by every kernel (wraps the C pool in CSparrowKernels).
///
/// `run` executes a body on all threads — the caller is thread 0 — and returns when all are done.
/// Dispatch costs a few microseconds: workers spin briefly between tasks, then sleep.
public final class ThreadPool: @unchecked Sendable {
    private let pool: OpaquePointer
    public let threadCount: Int

    /// The number of CPU cores available to this process.
    public static var availableCores: Int { max(1, ProcessInfo.processInfo.activeProcessorCount) }

    /// - Parameter threadCount: threads including the caller; nil means all available cores.
    public init(threadCount: Int? = nil) {
        let n = max(1, threadCount ?? ThreadPool.availableCores)
        guard let p = sp_pool_create(Int32(n)) else {
            preconditionFailure("cannot create a thread pool of \(n) threads")
        }
        pool = p
        self.threadCount = Int(sp_pool_size(p))
    }

    deinit { sp_pool_destroy(pool) }

    /// Dispatches so far (one per parallel op).
    public var dispatchCount: UInt64 { sp_pool_dispatch_count(pool) }
    /// Nanoseconds the calling thread has waited for workers after its own share of each dispatch.
    public var waitNanoseconds: UInt64 { sp_pool_wait_nanoseconds(pool) }

    /// Runs `body(threadIndex, threadCount)` on every thread of the pool and waits for all.
    public func run(_ body: (_ thread: Int, _ threadCount: Int) -> Void) {
        if threadCount == 1 {
            body(0, 1)
            return
        }
        withoutActuallyEscaping(body) { escapable in
            var task = escapable
            withUnsafeMutablePointer(to: &task) { pointer in
                sp_pool_run(pool, { ctx, i, n in
                    ctx!.assumingMemoryBound(to: ((Int, Int) -> Void).self).pointee(Int(i), Int(n))
                }, pointer)
            }
        }
    }

    /// Splits `0..<count` into one contiguous range per thread, with range bounds on multiples of
    /// `granularity`, and runs `body(range)` on each non-empty one.
    public func parallelFor(_ count: Int, granularity: Int = 1, _ body: (Range<Int>) -> Void) {
        if threadCount == 1 || count <= granularity {
            if count > 0 { body(0..<count) }
            return
        }
        run { i, n in
            let range = ThreadPool.partition(count, part: i, of: n, granularity: granularity)
            if !range.isEmpty { body(range) }
        }
    }

    /// Runs `body` on chunks of `0..<count` of `chunk` items, claimed dynamically by whichever
    /// thread is free (load balancing for work whose cost per item varies or threads that get
    /// preempted). Each chunk's range is passed to `body` with the claiming thread's index.
    public func dynamicFor(_ count: Int, chunk: Int, _ body: (_ range: Range<Int>, _ thread: Int) -> Void) {
        precondition(chunk > 0)
        if threadCount == 1 || count <= chunk {
            if count > 0 { body(0..<count, 0) }
            return
        }
        sp_pool_reset_claims(pool)
        let p = pool
        run { i, _ in
            while true {
                let start = Int(sp_pool_claim(p, Int64(chunk)))
                if start >= count { break }
                body(start..<min(count, start + chunk), i)
            }
        }
    }

    /// The `part`-th of `parts` contiguous chunks of `0..<count`, chunk bounds on multiples of `granularity`.
    @inlinable
    public static func partition(_ count: Int, part: Int, of parts: Int, granularity: Int) -> Range<Int> {
        let units = (count + granularity - 1) / granularity
        let lo = min(count, units * part / parts * granularity)
        let hi = min(count, units * (part + 1) / parts * granularity)
        return lo..<hi
    }
}
