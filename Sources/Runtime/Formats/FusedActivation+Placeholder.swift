/// Activation fused into an op's output (TFLite fused activations we support).
/// Placeholder until merge: the real declaration lives in Kernels/Convolution.swift (helper `conv`).
public enum FusedActivation: Sendable, Equatable { case none, relu, relu6, reluMinus1To1 }
