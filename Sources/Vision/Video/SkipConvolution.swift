import SparrowRuntime

/// Settings of the Skip-Convolution video path (Habibian et al., CVPR 2021; see RESEARCH.md).
public struct SkipConvolutionOptions: Sendable, Equatable {
    /// Which norm the gate thresholds.
    public enum Gate: String, Sendable, CaseIterable {
        /// Mean over the receptive field of ‖r‖₁ (over channels) of the input residual.
        case inputNorm = "input"
        /// The input norm times the layer's mean |W| (an estimate of the output residual's size).
        case outputNorm = "output"
    }

    /// Gate threshold ε: an output position is recomputed when its gate norm exceeds ε. 0 recomputes
    /// every position whose receptive field changed at all (the dense result, exactly).
    public var threshold: Float
    /// Gates are max-pooled over S×S output blocks, S ∈ {1, 2, 4, 8}.
    public var blockSize: Int
    /// A dense key frame every N frames (nil: only the first frame).
    public var keyframeInterval: Int?
    public var gate: Gate
    /// Whether depthwise convolutions get a norm gate too. When false (the default) they recompute
    /// exactly the outputs whose receptive field holds a changed pixel: a depthwise layer does
    /// about as little arithmetic per pixel as its gate would, so the residual norms (two reads of
    /// the input map) cost more than they save, and the exact path adds no error.
    public var gatesDepthwise: Bool
    /// A layer whose active outputs exceed this fraction of its map runs densely instead (exact, and
    /// cheaper there than gather → GEMM → scatter); 1 never falls back.
    public var denseFallback: Float

    public init(threshold: Float = 0.1, blockSize: Int = 1, keyframeInterval: Int? = nil, gate: Gate = .inputNorm,
                gatesDepthwise: Bool = false, denseFallback: Float = 0.5) {
        self.threshold = threshold
        self.blockSize = blockSize
        self.keyframeInterval = keyframeInterval
        self.gate = gate
        self.gatesDepthwise = gatesDepthwise
        self.denseFallback = denseFallback
    }

    /// Block sizes the gates support.
    public static let blockSizes = [1, 2, 4, 8]
}

/// What one frame cost, per convolution and in total.
public struct SkipConvolutionFrameStats: Sendable {
    /// One convolution layer's work on this frame.
    public struct Layer: Sendable {
        /// Index of the graph operator.
        public let operatorIndex: Int
        public let denseMACs: Int
        public let executedMACs: Int
        /// Output positions recomputed, of `outputPixels`.
        public let activePixels: Int
        public let outputPixels: Int
    }

    public var isKeyframe: Bool
    /// MACs of the whole model run densely, and MACs executed (convolutions on active positions, plus
    /// every other step that had to run).
    public var denseMACs: Int
    public var executedMACs: Int
    public var layers: [Layer]

    /// denseMACs / executedMACs (∞ for a frame that executed nothing).
    public var savings: Double { executedMACs == 0 ? .infinity : Double(denseMACs) / Double(executedMACs) }
}
