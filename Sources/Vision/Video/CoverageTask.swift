import Foundation

/// The clip task FrameExit is trained and measured on: how much of the frame people cover.
///
/// A video is cut into consecutive clips of `clipFrameCount` frames (a trailing partial clip is
/// dropped). The teacher label of a clip comes from the dense person masks of ALL its frames: the
/// clip's coverage is the mean over frames of the fraction of pixels with person probability > 0.5,
/// and the class is the first whose upper threshold is above it.
///
/// Defaults, from the real videos' coverage (selfie model, LiteRT, 16-frame clips; see
/// Tests/VisionTests/Fixtures/frameexit/README.md): vtest.avi clips cover 0.7–3.9 % (people far
/// away), cup.mp4 5.3–23 % (a hand), box.mp4 0.6–17 % in a few clips and 44–73 % in most (a hand close
/// to the camera). No clip of these videos is empty of people, so the classes are small (< 5 %),
/// medium (5–35 %) and large (≥ 35 %); 35 % sits in the widest gap of the distribution.
public struct CoverageTask: Codable, Equatable, Sendable {
    /// Frames per clip (T). 16 consecutive frames: 1.6 s of vtest (10 fps), 0.5 s of box/cup (30 fps).
    public var clipFrameCount: Int
    /// K − 1 increasing thresholds on clip coverage (fraction of the frame).
    public var thresholds: [Float]
    /// K class names.
    public var classNames: [String]

    public static let standard = CoverageTask(clipFrameCount: 16, thresholds: [0.05, 0.35], classNames: ["small", "medium", "large"])

    public init(clipFrameCount: Int, thresholds: [Float], classNames: [String]) {
        self.clipFrameCount = clipFrameCount
        self.thresholds = thresholds
        self.classNames = classNames
    }

    /// One frame's coverage: the fraction of its person-probability mask values above 0.5
    /// (`SegmentationMask.values`).
    public static func coverage(maskValues: [Float]) -> Float {
        guard !maskValues.isEmpty else { return 0 }
        return Float(maskValues.reduce(0) { $0 + ($1 > 0.5 ? 1 : 0) }) / Float(maskValues.count)
    }

    /// The class of a clip coverage.
    public func label(coverage: Float) -> Int {
        thresholds.firstIndex(where: { coverage < $0 }) ?? thresholds.count
    }

    /// The teacher label: the class of the mean of the frames' coverages (all frames of the clip).
    public func teacherLabel(frameCoverages: [Float]) -> Int {
        label(coverage: frameCoverages.reduce(0, +) / Float(max(frameCoverages.count, 1)))
    }

    /// Frame ranges of the whole clips of a video.
    public func clips(frameCount: Int) -> [Range<Int>] {
        guard clipFrameCount > 0 else { return [] }
        return (0..<(frameCount / clipFrameCount)).map { $0 * clipFrameCount..<($0 + 1) * clipFrameCount }
    }
}

/// Per-frame inputs of FrameExit for one video: the backbone feature (what FrameExit reads) and the
/// dense-mask coverage (the teacher, computed for every frame).
public protocol FrameFeatureSource: AnyObject {
    /// The video's name (file name without extension), as the split file names it.
    var name: String { get }
    var frameCount: Int { get }
    /// Backbone multiply-accumulates per frame for `features(frame:)`.
    var macsPerFrame: Int { get }
    /// The D-float backbone feature of a frame.
    func features(frame: Int) throws -> [Float]
    /// The fraction of the frame's pixels with person probability > 0.5.
    func coverage(frame: Int) throws -> Float
}

/// Per-frame features and coverages recorded in a JSON file (Scripts/dump-frameexit-features.py, or
/// Sparrow's own extractor): `{"tensor", "macsPerFrame", "videos": [{"name", "frameCount", "coverage",
/// "features"}]}`.
public struct FrameFeatureFile: Codable, Sendable {
    public struct Video: Codable, Sendable {
        public var name: String
        public var frameCount: Int
        /// [frameCount]
        public var coverage: [Float]
        /// [frameCount][D]
        public var features: [[Float]]

        public init(name: String, frameCount: Int, coverage: [Float], features: [[Float]]) {
            self.name = name
            self.frameCount = frameCount
            self.coverage = coverage
            self.features = features
        }
    }

    /// The backbone tensor the features pool (for the record).
    public var tensor: String
    public var macsPerFrame: Int
    public var source: String?
    public var videos: [Video]

    public init(tensor: String, macsPerFrame: Int, source: String?, videos: [Video]) {
        self.tensor = tensor
        self.macsPerFrame = macsPerFrame
        self.source = source
        self.videos = videos
    }

    /// Loads a feature file and checks its sizes.
    public init(contentsOf path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw FrameExitError.badTrainingSet("cannot read the feature file \(path)")
        }
        self = try JSONDecoder().decode(FrameFeatureFile.self, from: data)
        let d = videos.first?.features.first?.count ?? 0
        for v in videos {
            guard v.coverage.count == v.frameCount, v.features.count == v.frameCount, v.features.allSatisfy({ $0.count == d }) else {
                throw FrameExitError.badTrainingSet("\(path): video \(v.name) must have \(v.frameCount) coverages and \(v.frameCount) features of \(d) floats")
            }
        }
    }

    /// One source per recorded video.
    public var sources: [FrameFeatureSource] {
        videos.map { RecordedFrameFeatures(video: $0, macsPerFrame: macsPerFrame) }
    }
}

/// A `FrameFeatureSource` over a recorded video.
final class RecordedFrameFeatures: FrameFeatureSource {
    let video: FrameFeatureFile.Video
    let macsPerFrame: Int
    init(video: FrameFeatureFile.Video, macsPerFrame: Int) {
        self.video = video
        self.macsPerFrame = macsPerFrame
    }
    var name: String { video.name }
    var frameCount: Int { video.frameCount }
    func features(frame: Int) throws -> [Float] { video.features[frame] }
    func coverage(frame: Int) throws -> Float { video.coverage[frame] }
}

/// Which clips train and which test: per video, half-open ranges of clip indices.
public struct CoverageSplit: Codable, Equatable, Sendable {
    public struct Part: Codable, Equatable, Sendable {
        /// Video name (file name without extension).
        public var video: String
        /// First clip index.
        public var from: Int
        /// One past the last clip index.
        public var to: Int
    }

    public var task: CoverageTask
    public var train: [Part]
    public var test: [Part]
    /// Why the split is what it is.
    public var note: String?

    /// Loads a split file.
    public init(contentsOf path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw FrameExitError.badTrainingSet("cannot read the split file \(path)")
        }
        self = try JSONDecoder().decode(CoverageSplit.self, from: data)
    }
}

extension CoverageTask {
    /// The training clips of the listed parts, reading every frame's feature and coverage.
    public func trainingClips(_ parts: [CoverageSplit.Part], sources: [FrameFeatureSource]) throws -> [FrameExitTrainingClip] {
        var clips: [FrameExitTrainingClip] = []
        for part in parts {
            guard let source = sources.first(where: { $0.name == part.video }) else {
                throw FrameExitError.badTrainingSet("the split names video \(part.video) but only \(sources.map(\.name)) were given")
            }
            let ranges = self.clips(frameCount: source.frameCount)
            guard part.from >= 0, part.from <= part.to, part.to <= ranges.count else {
                throw FrameExitError.badTrainingSet("clips \(part.from)..<\(part.to) of \(part.video), which has \(ranges.count) clips of \(clipFrameCount) frames")
            }
            for range in ranges[part.from..<part.to] {
                let coverages = try range.map { try source.coverage(frame: $0) }
                clips.append(FrameExitTrainingClip(features: try range.map { try source.features(frame: $0) },
                                                   label: teacherLabel(frameCoverages: coverages)))
            }
        }
        return clips
    }
}
