import ArgumentParser
import Foundation
import SparrowRuntime
import SparrowVision

/// The two MediaPipe selfie-segmentation models.
enum SegmentationModelVariant: String, CaseIterable, Sendable {
    /// 256×256 input, general purpose.
    case selfie
    /// 144×256 input, faster, for landscape video calls.
    case landscape

    /// The model's id in weights-manifest/.
    var manifestID: String {
        switch self {
        case .selfie: return "selfie-segmentation"
        case .landscape: return "selfie-segmentation-landscape"
        }
    }
}

/// `sparrow segment INPUT …`: separates people from the background in an image or a video and writes
/// the mask, a tinted overlay, or the frames with a new background.
struct SegmentCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "segment",
        abstract: "Segment people in an image or video: write the mask, an overlay, or a new background.",
        discussion: """
            INPUT and outputs are chosen by their paths: a .png file is one image; a .y4m file is read and \
            written natively; a folder or a pattern such as frames/%04d.png is a PNG sequence; anything \
            else is a video read and written through ffmpeg (sudo apt-get install ffmpeg). An image gives \
            an image; a video gives a video.

            Outputs (choose one):
              --output PATH                    the soft mask as gray levels (255 = person)
              --output PATH --background BG    the frames with the background replaced: BG is blur, \
            blur:R (radius R pixels), #rrggbb, a color name (green, black, ...) or a PNG picture
              --overlay PATH                   the frames with the person tinted green at 50%

            Examples:
              sparrow segment me.png --output mask.png
              sparrow segment call.mp4 --background blur --output blurred.mp4
              sparrow segment clip.y4m --overlay frames/%04d.png --model landscape
            """)

    @Argument(help: "Input: a .png image, a .y4m file, a folder or %d pattern of PNGs, or any video ffmpeg reads.")
    var input: String

    @Option(name: .long, help: "Write the mask here (or, with --background, the composited frames).")
    var output: String?

    @Option(name: .long, help: "Write the frames with the person tinted here.")
    var overlay: String?

    @Option(name: .long, help: "Replace the background: blur, blur:R, #rrggbb, a color name, or a PNG file (needs --output).")
    var background: String?

    @Option(name: .long, help: "selfie, landscape, a manifest id, or a .tflite path.")
    var model: String = SegmentationModelVariant.selfie.rawValue

    @Option(name: .long, help: "Threads (default: all cores).")
    var threads: Int?

    @OptionGroup var skipConv: SkipConvOptions

    func validate() throws {
        if let threads, threads < 1 || threads > 512 { throw ValidationError("--threads must be between 1 and 512") }
        guard let destination = output ?? overlay else {
            throw ValidationError("say where to write: --output mask.png (the mask; the composite with --background) or --overlay out.png")
        }
        if output != nil && overlay != nil {
            throw ValidationError("choose one output: --output or --overlay (run twice for both)")
        }
        if background != nil && output == nil {
            throw ValidationError("--background writes the composite to --output; it does not combine with --overlay")
        }
        let inputKind: MediaKind, outputKind: MediaKind
        do {
            inputKind = try MediaKind(path: input)
            outputKind = try MediaKind(path: destination)
        } catch {
            throw ValidationError("\(error)")
        }
        let inputIsPattern = (try? FramePattern.parse(input)) != nil
        if !inputIsPattern && !FileManager.default.fileExists(atPath: input) {
            throw ValidationError("cannot find \(input)")
        }
        if standardized(input) == standardized(destination) {
            throw ValidationError("the output must differ from the input")
        }
        if inputKind == .image && outputKind != .image {
            throw ValidationError("\(input) is one image, so the output must be a .png file")
        }
        if inputKind.isVideo && outputKind == .image {
            throw ValidationError("\(input) is a video, so the output must be a video too: a .y4m file, a folder, a pattern such as frames/%04d.png, or a file ffmpeg writes (.mp4, .mkv, ...)")
        }
        if let background {
            do { _ = try Background(parsing: background) } catch { throw ValidationError("--background \(error)") }
        }
    }

    func run() throws {
        let destination = output ?? overlay ?? ""
        let inputKind = try MediaKind(path: input), outputKind = try MediaKind(path: destination)
        let composite: ((RGBImage, SegmentationMask, ExecutionContext) throws -> RGBImage)?
        if overlay != nil {
            composite = { frame, mask, _ in try Compositing.overlay(frame, mask: mask) }
        } else if let background {
            let parsed = try Background(parsing: background)
            composite = { frame, mask, context in try Compositing.replaceBackground(frame, mask: mask, with: parsed, context: context) }
        } else {
            composite = nil
        }
        if skipConv.enabled && !inputKind.isVideo {
            throw CLIError("--skip-conv saves work between the frames of a video; \(input) is one image")
        }

        var source = try inputKind.openSource(input)
        let (modelPath, variant) = try resolveSegmentationModel(model)
        let context = ExecutionContext(threadCount: threads)
        _ = variant
        let skipOptions = skipConv.enabled
            ? SkipConvolutionOptions(threshold: skipConv.effectiveThreshold, blockSize: skipConv.effectiveBlock,
                                     keyframeInterval: skipConv.effectiveKeyframe)
            : nil
        let segmenter = try SelfieSegmenter(modelPath: modelPath, context: context, skipConvolution: skipOptions)
        var skipStats = SkipConvolutionTotals()

        if outputKind == .image {
            guard let frame = try source.next() else { throw CLIError("\(input) holds no image") }
            let mask = try segmenter.segment(frame).resized(width: frame.width, height: frame.height)
            if let composite {
                try composite(frame, mask, context).write(to: destination)
            } else {
                try mask.grayImage().write(to: destination)
            }
            print("\(destination): \(frame.width)x\(frame.height), person covers \(percent(mask.coverage()))")
            return
        }

        let sink = try outputKind.makeSink(destination, width: source.width, height: source.height,
                                           frameRate: source.frameRate ?? .fallback)
        var progress = ProgressBar(unit: "frames", total: source.frameCount)
        var coverageSum: Double = 0
        do {
            while let frame = try source.next() {
                let mask = try segmenter.segment(frame).resized(width: frame.width, height: frame.height)
                coverageSum += Double(mask.coverage())
                if let stats = segmenter.lastFrameStats {
                    skipStats.add(stats)
                    progress.clearLine()
                    print(skipStats.frameLine(stats, index: progress.done))
                }
                try sink.write(try composite?(frame, mask, context) ?? mask.rgbImage())
                progress.advance()
            }
            try sink.finish()
        } catch {
            progress.finish()
            throw error
        }
        progress.finish()
        let frames = progress.done
        let meanCoverage = frames > 0 ? Float(coverageSum / Double(frames)) : 0
        print("\(destination): \(frames) frames of \(source.width)x\(source.height) in \(String(format: "%.1f", progress.elapsed)) s "
              + "(\(String(format: "%.1f", progress.rate)) frames/s), person covers \(percent(meanCoverage)) on average")
        if skipConv.enabled { print(skipStats.summary) }
    }

    /// Maps `--model` to a verified file: `selfie` / `landscape` through their manifest ids, other
    /// values as a manifest id or path (the model store's errors say how to fetch a missing model).
    private func resolveSegmentationModel(_ argument: String) throws -> (String, SegmentationModelVariant) {
        let variant = SegmentationModelVariant(rawValue: argument)
        let id = variant?.manifestID ?? argument
        let path = try ModelStore.resolve(modelArgument: id)
        let isLandscape = id.lowercased().contains("landscape") || (path as NSString).lastPathComponent.lowercased().contains("landscape")
        return (path, variant ?? (isLandscape ? .landscape : .selfie))
    }

    private func standardized(_ path: String) -> String {
        URL(fileURLWithPath: path).standardizedFileURL.resolvingSymlinksInPath().path
    }

    private func percent(_ fraction: Float) -> String { String(format: "%.1f%%", fraction * 100) }
}
