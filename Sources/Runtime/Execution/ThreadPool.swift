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
        // The closure travels inside a struct: handing a bare closure to a generic function would
        // re-abstract it through a heap-allocated thunk on every dispatch.
        withoutActuallyEscaping(body) { escapable in
            var task = Task(body: escapable)
            withUnsafeMutablePointer(to: &task) { pointer in
                sp_pool_run(pool, { ctx, i, n in
                    ctx!.assumingMemoryBound(to: Task.self).pointee.body(Int(i), Int(n))
                }, pointer)
            }
        }
    }

    private struct Task {
        let body: (Int, Int) -> Void
    }

    /// Runs `job.run(thread:of:)` on every thread and waits for all — the allocation-free form of
    /// `run(_:)` for per-token hot paths (a closure crossing into C costs one heap allocation per
    /// dispatch; a job struct costs none).
    @inline(__always)
    public func run<Job: ParallelJob>(_ job: Job) {
        if threadCount == 1 {
            job.run(thread: 0, of: 1)
            return
        }
        var job = job
        withUnsafeMutablePointer(to: &job) { sp_pool_run(pool, Job.entryPoint, $0) }
    }

    /// Before a dispatch whose job claims work with `claim(_:)`: restarts the shared counter.
    public func resetClaims() { sp_pool_reset_claims(pool) }

    /// Inside a job: claims the next `chunk` items of shared work and returns the first index (keep
    /// claiming until it passes the end), so faster threads take more.
    @inline(__always)
    public func claim(_ chunk: Int) -> Int { Int(sp_pool_claim(pool, Int64(chunk))) }

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

/// Work for every thread of a `ThreadPool`, as a struct (see `ThreadPool.run(_:)` for jobs).
///
/// A conforming type provides its C entry point, always written the same way:
/// `static let entryPoint: sp_task_fn = { ctx, i, n in ctx!.assumingMemoryBound(to: Self.self).pointee.run(thread: Int(i), of: Int(n)) }`.
public protocol ParallelJob {
    func run(thread: Int, of threads: Int)
    static var entryPoint: sp_task_fn { get }
}
