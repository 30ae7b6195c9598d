import Foundation

/// Classes of work a decoded token is broken down into (the rows of `sparrow bench`'s breakdown).
public enum OpClass: Int, CaseIterable, Sendable, CustomStringConvertible {
    case matvecAttention, matvecFeedForward, matvecOutput, embedding
    case attention, norm, rope, elementwise, other
    /// Dense, depthwise and transposed convolutions (vision models).
    case convolution

    public var description: String {
        switch self {
        case .matvecAttention: return "matmul attn (q,k,v,o)"
        case .matvecFeedForward: return "matmul ffn (gate,up,down)"
        case .matvecOutput: return "matmul output"
        case .embedding: return "embedding"
        case .attention: return "attention"
        case .norm: return "norms"
        case .rope: return "rope"
        case .elementwise: return "element-wise"
        case .other: return "other"
        case .convolution: return "convolution"
        }
    }
}

/// Per-op accounting kept by the execution context: time, bytes moved and multiply-accumulates per
/// op class. Cheap enough to stay on in normal runs (two clock reads and a few adds per op).
public struct OpAccounting: Sendable {
    public struct Entry: Sendable {
        public var calls = 0
        public var nanoseconds: UInt64 = 0
        public var bytes = 0
        public var macs = 0
    }

    public private(set) var entries = [Entry](repeating: Entry(), count: OpClass.allCases.count)
    public var isEnabled = true

    public init() {}

    public subscript(_ op: OpClass) -> Entry { entries[op.rawValue] }

    @inline(__always)
    public static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

    @inline(__always)
    public mutating func record(_ op: OpClass, since start: UInt64, bytes: Int, macs: Int) {
        guard isEnabled else { return }
        let end = OpAccounting.now()
        entries[op.rawValue].calls += 1
        entries[op.rawValue].nanoseconds += end &- start
        entries[op.rawValue].bytes += bytes
        entries[op.rawValue].macs += macs
    }

    public mutating func reset() {
        for i in entries.indices { entries[i] = Entry() }
    }

    public var totalNanoseconds: UInt64 { entries.reduce(0) { $0 + $1.nanoseconds } }
    public var totalBytes: Int { entries.reduce(0) { $0 + $1.bytes } }
}
