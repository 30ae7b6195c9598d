import ArgumentParser
import Foundation
import SparrowDiffusion
import SparrowRuntime

/// `sparrow imagine "prompt"`: text-to-image (and image-to-image) with a Stable Diffusion 1.x / 2.x
/// diffusers folder or single-file checkpoint, written as PNGs that remember how they were made.
struct ImagineCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "imagine",
        abstract: "Make images from a text prompt with Stable Diffusion (SD-Turbo, SD 1.5, SD 2.x, LCM).",
        discussion: """
            --model takes a diffusers folder (model_index.json, text_encoder/, tokenizer/, unet/, vae/, scheduler/), \
            a single-file .safetensors checkpoint (with --config pointing at a diffusers folder of the same family \
            for its configs, tokenizer and scheduler), or a manifest id whose folder sits in the model store. \
            Each PNG carries a `parameters` text chunk (prompt, settings, seed, model and hash) that \
            `sparrow inspect out.png` prints.

            Examples:
              sparrow imagine "a lighthouse at dawn" --model sd-turbo --steps 1 --guidance 0
              sparrow imagine "a watercolor fox" --model ~/sd15 --steps 4 --scheduler lcm --guidance 1 --seed 7
              sparrow imagine "the same, at night" --model ~/sd15 --init-image fox.png --strength 0.6
            """)

    @Argument(help: "What the image should show.")
    var prompt: String

    @Option(help: "What it should not show (classifier-free guidance's unconditional prompt).")
    var negativePrompt = ""

    @Option(help: "Denoising steps.")
    var steps = 4

    @Option(help: "lcm, euler-a, euler or ddim.")
    var scheduler = "euler-a"

    @Option(help: "Classifier-free guidance scale (≤ 1: no guidance, one UNet pass per step).")
    var guidance: Float = 7.5

    @Option(help: "Random seed (default: a random one, printed).")
    var seed: UInt64?

    @Option(help: "torch (PyTorch's CPU generator: a diffusers seed gives the same image) or sparrow.")
    var rng = "torch"

    @Option(help: "Image width in pixels (a multiple of the model's factor, usually 8 or 64).")
    var width: Int?

    @Option(help: "Image height in pixels.")
    var height: Int?

    @Option(help: "How many images (seeds SEED, SEED+1, …).")
    var count = 1

    @Option(help: "A diffusers folder, a single-file .safetensors checkpoint, or a manifest id.")
    var model = "sd-turbo"

    @Option(help: "For a single-file checkpoint: a diffusers folder of the same model family (configs, tokenizer, scheduler).")
    var config: String?

    @Option(help: "Start from this PNG (image-to-image); its size is used unless --width/--height are given.")
    var initImage: String?

    @Option(help: "Image-to-image: how much to change the start image, in (0, 1].")
    var strength: Float = 0.8

    @Option(help: "Start from these latents ([1, 4, h, w] float32 .npy, as diffusers' `latents=`).")
    var initialLatents: String?

    @Option(help: "Decode with this TAESD diffusers folder instead of the VAE (faster, a little softer).")
    var taesd: String?

    @Option(help: "Use the text encoder's output this many layers before the last (diffusers' clip_skip).")
    var clipSkip = 0

    @Option(help: "Where to write the image (with --count N: NAME-1.png … NAME-N.png).")
    var output = "image.png"

    @Option(help: "How weights stay in memory: stored (the file's precision), fp32, fp16, or int8 (UNet and text encoder quantized per output channel at load).")
    var weights = "stored"

    @Option(help: "Threads (default: all cores).")
    var threads: Int?

    /// `--weights` as the pipeline's option.
    var precision: WeightPrecision? {
        switch weights {
        case "stored": return .stored
        case "fp32": return .float32
        case "fp16": return .float16
        case "int8": return .int8
        default: return nil
        }
    }

    func validate() throws {
        guard precision != nil else { throw ValidationError("--weights must be one of stored, fp32, fp16, int8") }
        guard SchedulerKind(rawValue: scheduler) != nil else {
            throw ValidationError("--scheduler must be one of \(SchedulerKind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard ImageRequest.RandomSource(rawValue: rng) != nil else { throw ValidationError("--rng must be torch or sparrow") }
        guard count >= 1 else { throw ValidationError("--count must be at least 1") }
        guard steps >= 1 else { throw ValidationError("--steps must be at least 1") }
        guard !prompt.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw ValidationError("the prompt is empty; describe the image to make")
        }
        guard output.lowercased().hasSuffix(".png") else { throw ValidationError("--output must name a .png file") }
    }

    func run() throws {
        ProcessMemory.keepFreedMemoryForReuse()   // feature maps of 100+ MB come and go every layer: reuse, don't re-fault
        let context = ExecutionContext(threadCount: threads ?? ProcessInfo.processInfo.activeProcessorCount)
        let loadStart = Date()
        printError("loading \(model)…", terminator: "")
        let loaded: (StableDiffusionPipeline, String, String)
        do {
            loaded = try loadPipeline(context: context)
            if let taesd { loaded.0.tinyAutoencoder = try TinyAutoencoder(folder: taesd) }
        } catch {
            printError("")
            throw error
        }
        let (pipeline, modelName, modelPath) = loaded
        printError(String(format: " %.1f s", Date().timeIntervalSince(loadStart)))

        var request = ImageRequest(prompt: prompt)
        request.negativePrompt = negativePrompt
        request.steps = steps
        request.scheduler = SchedulerKind(rawValue: scheduler)!
        request.guidance = guidance
        request.random = ImageRequest.RandomSource(rawValue: rng)!
        request.clipSkip = clipSkip
        request.strength = strength
        let defaultSide = pipeline.unet.configuration.sampleSize * pipeline.downscale
        request.width = width ?? defaultSide
        request.height = height ?? defaultSide
        if let initImage {
            let image = try RGBImage(contentsOf: initImage)
            if width == nil { request.width = image.width }
            if height == nil { request.height = image.height }
            guard image.width == request.width, image.height == request.height else {
                throw CLIError("\(initImage) is \(image.width)×\(image.height); resize it to \(request.width)×\(request.height) or leave out --width/--height")
            }
            request.initialImage = image.pixels.map { Float($0) / 255 }
        }
        if let initialLatents { request.initialLatents = try NumpyArray(path: initialLatents).values }
        let firstSeed = seed ?? UInt64.random(in: 0..<(1 << 32))
        if seed == nil { printError("seed: \(firstSeed)") }
        let hash = try modelHash(modelPath)

        var written: [String] = []
        try Interrupts.generation { isCancelled in
            for index in 0..<count {
                request.seed = firstSeed &+ UInt64(index)
                let path = count == 1 ? output : String(output.dropLast(4)) + "-\(index + 1).png"
                var bar = ProgressBar(unit: "steps", total: nil)
                var total: Int?
                var stageStart = Date()
                var times: [String] = []
                let image: GeneratedImage
                do {
                    image = try pipeline.generate(request) { p in
                        switch p.stage {
                        case .encodingText:
                            stageStart = Date()
                        case .denoising:
                            if total == nil {
                                times.append(String(format: "encode %.2f s", Date().timeIntervalSince(stageStart)))
                                total = p.stepCount
                                bar = ProgressBar(unit: "steps", total: p.stepCount)
                            }
                            if p.step > 0 { bar.advance() }
                        case .decoding:
                            if total != nil { bar.advance(); bar.finish() }
                            stageStart = Date()
                        }
                        return !isCancelled()
                    }
                    times.append(String(format: "decode %.2f s", Date().timeIntervalSince(stageStart)))
                } catch is CancellationError {
                    bar.clearLine()
                    printError("stopped; \(written.count) image(s) kept")
                    return
                }
                let png = try PNGImage(width: image.width, height: image.height, layout: .rgb,
                                       pixels: image.pixels.map { UInt8(($0 * 255).rounded()) },
                                       text: ["parameters": parameters(request, model: modelName, hash: hash), "Software": "Sparrow \(Sparrow.version)"])
                try png.write(to: path)
                written.append(path)
                printError("\(path): seed \(request.seed), " + times.joined(separator: ", "))
                print(path)
            }
        }
    }

    /// The settings in the `parameters` chunk, in the form other Stable Diffusion tools write and read.
    private func parameters(_ r: ImageRequest, model: String, hash: String) -> String {
        var lines = [r.prompt]
        if !r.negativePrompt.isEmpty { lines.append("Negative prompt: \(r.negativePrompt)") }
        var settings = ["Steps: \(r.steps)", "Sampler: \(r.scheduler.rawValue)", "CFG scale: \(r.guidance)", "Seed: \(r.seed)",
                        "Size: \(r.width)x\(r.height)", "Model: \(model)", "Model hash: \(hash)", "RNG: \(r.random.rawValue)"]
        if r.initialImage != nil { settings.append("Denoising strength: \(r.strength)") }
        if r.clipSkip > 0 { settings.append("Clip skip: \(r.clipSkip + 1)") }
        if weights != "stored" { settings.append("Weights: \(weights)") }
        if taesd != nil { settings.append("Decoder: TAESD") }
        lines.append(settings.joined(separator: ", "))
        return lines.joined(separator: "\n")
    }

    /// The first 10 hex digits of the SHA-256 of the checkpoint (a single file) or of the UNet weights (a folder).
    private func modelHash(_ path: String) throws -> String {
        var isFolder: ObjCBool = false
        _ = FileManager.default.fileExists(atPath: path, isDirectory: &isFolder)
        let file: String
        if isFolder.boolValue {
            let unet = path + "/unet"
            let names = (try? FileManager.default.contentsOfDirectory(atPath: unet)) ?? []
            guard let weights = names.filter({ $0.hasSuffix(".safetensors") }).sorted().first else { return "unknown" }
            file = unet + "/" + weights
        } else {
            file = path
        }
        return String(try SHA256.hex(ofFileAt: file).prefix(10))
    }

    private func loadPipeline(context: ExecutionContext) throws -> (StableDiffusionPipeline, String, String) {
        var isFolder: ObjCBool = false
        var path = model
        if !FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) {
            // A manifest id: its diffusers folder lives in the model store under the id.
            let stored = ModelStore.directory + "/" + model
            guard FileManager.default.fileExists(atPath: stored, isDirectory: &isFolder) else {
                throw CLIError(missingWeightsMessage(for: model))
            }
            path = stored
        }
        let name = URL(fileURLWithPath: path).lastPathComponent
        if isFolder.boolValue {
            return (try StableDiffusionPipeline(folder: try DiffusersFolder(path: path), weights: precision ?? .stored, context: context),
                    name, path)
        }
        guard let config else {
            throw CLIError("\(path) is a single-file checkpoint: pass --config DIR, a diffusers folder of the same family (SD 1.x or 2.x) whose configs, tokenizer and scheduler it should use")
        }
        let checkpoint = try SingleFileCheckpoint(path: path, configurations: try DiffusersFolder(path: config))
        return (try StableDiffusionPipeline(checkpoint: checkpoint, weights: precision ?? .stored, context: context), name, path)
    }

    private func missingWeightsMessage(for id: String) -> String {
        var text = "no Stable Diffusion weights at '\(id)' (not a path, and not in the model store at \(ModelStore.directory)/\(id)).\n"
        if let entry = try? WeightsManifest.load().entry(id: id), entry.isHubReference {
            text += entry.downloadInstructions(storeDirectory: ModelStore.directory) + "\n"
        } else {
            text += DiffusersFolder.layoutHelp
        }
        text += "\nThen: sparrow imagine \"…\" --model DIR (or put the folder at \(ModelStore.directory)/\(id))."
        return text
    }
}
