// PLACEHOLDER so the `imageops` branch compiles before merge: the real declarations of these three
// types live in Kernels/Convolution.swift (helper `conv`). The lead deletes this file at merge.

/// Activation fused into an op's output (TFLite fused activations we support).
public enum FusedActivation: Sendable, Equatable { case none, relu, relu6, reluMinus1To1 }

/// Height × width × channels of one NHWC feature map (batch 1).
public struct FeatureMapShape: Hashable, Sendable, CustomStringConvertible {
    public var height: Int, width: Int, channels: Int
    public init(height: Int, width: Int, channels: Int) {
        self.height = height
        self.width = width
        self.channels = channels
    }
    public var pixelCount: Int { height * width }
    public var count: Int { height * width * channels }
    public var description: String { "\(height)×\(width)×\(channels)" }
}

/// Zero padding in pixels on each side of a feature map.
public struct Padding2D: Hashable, Sendable {
    public var top: Int, left: Int, bottom: Int, right: Int
    public init(top: Int, left: Int, bottom: Int, right: Int) {
        self.top = top
        self.left = left
        self.bottom = bottom
        self.right = right
    }
    public static let zero = Padding2D(top: 0, left: 0, bottom: 0, right: 0)
}

extension FusedActivation {
    /// Applies the activation in place to `count` floats.
    public func apply(_ values: UnsafeMutablePointer<Float>, count: Int) {
        let (lo, hi): (Float, Float)
        switch self {
        case .none: return
        case .relu: (lo, hi) = (0, .infinity)
        case .relu6: (lo, hi) = (0, 6)
        case .reluMinus1To1: (lo, hi) = (-1, 1)
        }
        for i in 0..<count { values[i] = min(max(values[i], lo), hi) }
    }
}
