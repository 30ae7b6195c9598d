import CSparrowKernels
import Foundation

/// Memory read bandwidth of this machine, measured, and the token-generation ceiling it implies.
///
/// Token generation reads every weight once per token, so tok/s ≤ bandwidth / bytes per token.
public struct MemoryBandwidth: Sendable, Codable {
    public var threads: Int
    public var bufferBytes: Int
    /// Bytes per second: the best run and the median run.
    public var best: Double
    public var median: Double
    public var runs: Int

    /// Streams a `bufferBytes` buffer (far larger than any cache) `runs` times on `pool`'s threads,
    /// each thread reading its own contiguous part.
    public static func measure(pool: ThreadPool, bufferBytes: Int = 1 << 30, runs: Int = 7) -> MemoryBandwidth {
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: bufferBytes, alignment: 4096)
        defer { buffer.deallocate() }
        // Touch every page (and give them distinct contents) before timing.
        let words = buffer.bindMemory(to: UInt64.self, capacity: bufferBytes / 8)
        pool.parallelFor(bufferBytes / 8, granularity: 4096) { range in
            for i in range { words[i] = UInt64(truncatingIfNeeded: i &* 0x9E37_79B9) }
        }
        var rates: [Double] = []
        var sink: UInt64 = 0
        let sinks = UnsafeMutablePointer<UInt64>.allocate(capacity: pool.threadCount)
        defer { sinks.deallocate() }
        for _ in 0..<runs {
            let start = DispatchTime.now().uptimeNanoseconds
            pool.run { i, n in
                let range = ThreadPool.partition(bufferBytes, part: i, of: n, granularity: 4096)
                sinks[i] = sp_stream_read(buffer + range.lowerBound, range.count)
            }
            let ns = DispatchTime.now().uptimeNanoseconds - start
            for i in 0..<pool.threadCount { sink ^= sinks[i] }
            rates.append(Double(bufferBytes) / (Double(ns) / 1e9))
        }
        withExtendedLifetime(sink) {}
        let sorted = rates.sorted()
        return MemoryBandwidth(
            threads: pool.threadCount, bufferBytes: bufferBytes, best: sorted.last!, median: sorted[sorted.count / 2], runs: runs)
    }

    /// The token-generation ceiling for a model that reads `bytesPerToken` per token.
    public func ceilingTokensPerSecond(bytesPerToken: Int) -> Double {
        best / Double(bytesPerToken)
    }
}
