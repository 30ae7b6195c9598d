import ArgumentParser
import Foundation
import SparrowRuntime
import SparrowVision

/// `sparrow classify-clips VIDEO…`: FrameExit clip decisions (how much of the frame people cover),
/// with the frames each clip read and its agreement with the all-frames decision; `--train` fits the
/// FrameExit heads and gates on a split's training clips.
struct ClassifyClipsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "classify-clips",
        abstract: "Classify video clips by person coverage with FrameExit early exit, or train its heads.",
        discussion: """
            Clips are consecutive runs of --clip-frames frames; the all-frames decision is the class of the \
            clip's mean person coverage from every frame's dense mask (small < 5 %, medium < 35 %, large). \
            FrameExit reads frames middle, first, last, then bisecting, and stops when its gate says so.
            Examples:
              sparrow classify-clips vtest.avi box.mp4 --features feats.json
              sparrow classify-clips --train --split Tests/VisionTests/Fixtures/frameexit/coverage-split.json \\
                --features feats.json --output Sources/Vision/Video/FrameExitPolicy+Coverage.swift
            """)

    @Argument(help: "Video files (their names without extension must match the split / feature file). With --features, default: every video in the file.")
    var videos: [String] = []

    @Option(help: "Frames per clip (classification: must equal the parameters' step count; training: overrides the split's).")
    var clipFrames: Int?

    @Option(help: "Segmentation model path or manifest id (the feature backbone).")
    var model: String = "selfie-segmentation"

    @Option(help: "Threads for the model (default: all cores).")
    var threads: Int?

    @Option(help: "Recorded per-frame features and coverages (JSON from Scripts/dump-frameexit-features.py) instead of running the model.")
    var features: String?

    @Option(help: "FrameExit parameters (JSON written by --train); default: the parameters built into Sparrow.")
    var parameters: String?

    @Option(help: "Split file (JSON): with --train, the clips to train on; otherwise only its test clips are classified.")
    var split: String?

    @Flag(help: "Train the FrameExit classifiers and gates on the split's training clips.")
    var train = false

    @Option(help: "With --train: where to write the parameters (.json, or .swift to regenerate the built-in parameters).")
    var output: String?

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    func validate() throws {
        if train && (split == nil || output == nil) { throw ValidationError("--train needs --split FILE and --output FILE") }
        if !train && output != nil { throw ValidationError("--output is only used with --train") }
        if videos.isEmpty && features == nil { throw ValidationError("give video files, or --features FILE") }
        if let clipFrames, clipFrames < 1 || clipFrames > 1024 { throw ValidationError("--clip-frames must be between 1 and 1024") }
        if let threads, threads < 1 || threads > 512 { throw ValidationError("--threads must be between 1 and 512") }
    }

    func run() throws {
        let sources = try featureSources()
        if train {
            try runTraining(sources: sources)
            return
        }
        let policy = try parameters.map { try FrameExitPolicy(contentsOf: $0) } ?? FrameExitPolicy.bundledCoverage()
        var task = try split.map { try CoverageSplit(contentsOf: $0).task } ?? CoverageTask.standard
        task.clipFrameCount = policy.stepCount
        if let clipFrames, clipFrames != policy.stepCount {
            throw FrameExitError.wrongClipLength(frameCount: clipFrames, expected: policy.stepCount)
        }
        let parts = try split.map { try CoverageSplit(contentsOf: $0).test }
        let evaluation = try FrameExitEvaluation.run(policy: policy, task: task, sources: sources, parts: parts)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(evaluation), as: UTF8.self))
        } else {
            printTable(evaluation)
        }
    }

    /// The per-frame feature sources: a recorded feature file, or the segmentation model on the videos.
    private func featureSources() throws -> [FrameFeatureSource] {
        guard let features else {
            let path = try ModelStore.resolve(modelArgument: model == "selfie" ? "selfie-segmentation" : model)
            let segmenter = try SelfieSegmenter(modelPath: path, context: ExecutionContext(threadCount: threads),
                                                keepingEncoderFeatures: true)
            return try videos.map { video in
                var bar = ProgressBar(unit: "frames", total: nil)
                defer { bar.finish() }
                FileHandle.standardError.write(Data("\(video):\n".utf8))
                return try SegmentationFeatureSource(videoPath: video, segmenter: segmenter) { _, _ in bar.advance() }
            }
        }
        let all = try FrameFeatureFile(contentsOf: features).sources
        guard !videos.isEmpty else { return all }
        return try videos.map { video in
            let name = URL(fileURLWithPath: video).deletingPathExtension().lastPathComponent
            guard let source = all.first(where: { $0.name == name }) else {
                throw ValidationError("\(features) has no video named \(name) (it has \(all.map(\.name).joined(separator: ", ")))")
            }
            return source
        }
    }

    private func runTraining(sources: [FrameFeatureSource]) throws {
        guard let split, let output else { return }
        let splitFile = try CoverageSplit(contentsOf: split)
        var task = splitFile.task
        if let clipFrames { task.clipFrameCount = clipFrames }
        let clips = try task.trainingClips(splitFile.train, sources: sources)
        let counts = task.classNames.indices.map { k in clips.filter { $0.label == k }.count }
        FileHandle.standardError.write(Data("training on \(clips.count) clips of \(task.clipFrameCount) frames (\(zip(task.classNames, counts).map { "\($0) \($1)" }.joined(separator: ", ")))\n".utf8))
        let options = FrameExitTrainingOptions()
        let provenance = "sparrow classify-clips --train --split \(URL(fileURLWithPath: split).lastPathComponent) on "
            + (features.map { "features " + URL(fileURLWithPath: $0).lastPathComponent } ?? "model \(model)")
            + "; \(clips.count) clips; full-batch GD, \(options.iterationCount) iterations, lr \(options.learningRate), weight decay \(options.weightDecay), \(options.foldCount) gate folds"
        let policy = try FrameExitTrainer.train(clips: clips, classNames: task.classNames, options: options, provenance: provenance)
        if output.hasSuffix(".swift") {
            try swiftSource(for: policy).write(toFile: output, atomically: true, encoding: .utf8)
        } else {
            try policy.jsonData().write(to: URL(fileURLWithPath: output))
        }
        FileHandle.standardError.write(Data("wrote \(output)\n".utf8))
        let evaluation = try FrameExitEvaluation.run(policy: policy, task: task, sources: sources, parts: splitFile.test)
        printTable(evaluation)
    }

    /// A Swift file that builds the parameters into SparrowVision (`FrameExitPolicy.bundledCoverage()`).
    private func swiftSource(for policy: FrameExitPolicy) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let text = String(decoding: try encoder.encode(policy), as: UTF8.self)
        return """
            // Generated by `sparrow classify-clips --train --output <this file>`; do not edit.
            // \(policy.provenance)
            import Foundation

            extension FrameExitPolicy {
                /// The parameters trained for `CoverageTask.standard` that ship with Sparrow.
                public static func bundledCoverage() throws -> FrameExitPolicy {
                    try JSONDecoder().decode(FrameExitPolicy.self, from: Data(bundledCoverageJSON.utf8))
                }

                static let bundledCoverageJSON = #\"\"\"
            \(text)
            \"\"\"#
            }

            """
    }

    private func printTable(_ e: FrameExitEvaluation) {
        print("VIDEO".padding(toLength: 10, withPad: " ", startingAt: 0), "CLIP", " FRAMES    ", "COVER ", "DECISION", "ALL-FRAMES", "AGREE", "FRAMES USED (clip-relative, in order)")
        for c in e.clips {
            let span = "\(c.firstFrame)-\(c.firstFrame + e.framesPerClip - 1)"
            print(c.video.padding(toLength: 10, withPad: " ", startingAt: 0), String(format: "%4d", c.clip),
                  span.padding(toLength: 11, withPad: " ", startingAt: 0), String(format: "%5.1f%%", c.coverage * 100),
                  c.decision.padding(toLength: 8, withPad: " ", startingAt: 0), c.allFramesDecision.padding(toLength: 10, withPad: " ", startingAt: 0),
                  c.agrees ? "yes  " : "NO   ", c.framesUsed.map(String.init).joined(separator: ","))
        }
        let saving = e.allFramesMACs > 0 ? e.allFramesMACs / max(e.averageMACs, 1) : 0
        print("""
            clips: \(e.clips.count); frames per clip: \(String(format: "%.2f", e.averageFramesUsed)) of \(e.framesPerClip)
            MACs per clip: \(String(format: "%.3g", e.averageMACs)) vs \(String(format: "%.3g", e.allFramesMACs)) all frames (\(String(format: "%.2f", saving))x fewer; backbone \(e.backboneMACsPerFrame) per frame)
            agreement with the all-frames decision: \(String(format: "%.1f", e.agreement * 100)) % (policy reading all frames: \(String(format: "%.1f", e.policyAllFramesAgreement * 100)) %; early exit vs policy all frames: \(String(format: "%.1f", e.agreementWithPolicyAllFrames * 100)) %)
            """)
    }
}
