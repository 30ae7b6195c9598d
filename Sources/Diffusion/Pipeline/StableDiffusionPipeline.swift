import Foundation
import SparrowRuntime

/// What to make: the settings of one `sparrow imagine` call (diffusers' pipeline arguments).
public struct ImageRequest: Sendable {
    public enum RandomSource: String, Sendable, CaseIterable {
        /// PyTorch's CPU generator (`torch.Generator().manual_seed(seed)`): a seed from a diffusers
        /// script gives the same image here.
        case torch
        /// Sparrow's own counter-based generator.
        case sparrow
    }

    public var prompt: String
    public var negativePrompt: String = ""
    public var steps: Int = 4
    public var scheduler: SchedulerKind = .eulerAncestral
    /// Classifier-free guidance scale; ≤ 1 runs the UNet once per step without guidance.
    public var guidance: Float = 7.5
    public var seed: UInt64 = 0
    public var random: RandomSource = .torch
    public var width: Int = 512
    public var height: Int = 512
    /// Image-to-image: the starting image in [0, 1], RGB, `height × width`, and how much to change it.
    public var initialImage: [Float]?
    public var strength: Float = 0.8
    /// Start from these latents ([1, 4, h, w], NCHW as diffusers takes them) instead of drawn noise.
    public var initialLatents: [Float]?
    /// SD 2.x "penultimate layer" style conditioning on any text encoder (diffusers' `clip_skip`).
    public var clipSkip: Int = 0

    public init(prompt: String) { self.prompt = prompt }
}

/// Progress of one image, reported once per stage and per denoising step.
public struct ImageProgress: Sendable {
    public enum Stage: String, Sendable { case encodingText = "encode", denoising = "denoise", decoding = "decode" }
    public var stage: Stage
    public var step: Int
    public var stepCount: Int
}

/// One finished image: RGB floats in [0, 1], [height, width, 3], and the final latents (NCHW).
public struct GeneratedImage: Sendable {
    public var width: Int, height: Int
    public var pixels: [Float]
    public var latents: [Float]
    public var seed: UInt64
}

/// Text-to-image and image-to-image with Stable Diffusion 1.x / 2.x (matches diffusers'
/// StableDiffusionPipeline / StableDiffusionImg2ImgPipeline / LatentConsistencyModelPipeline loops):
/// tokenize → CLIP text encoder → (uncond, cond) → scheduler loop over the UNet with classifier-free
/// guidance → VAE (or TAESD) decode. Latents stay NCHW here so the random draws line up with
/// torch.randn's order; the UNet converts at its edge.
public final class StableDiffusionPipeline: @unchecked Sendable {
    public let tokenizer: CLIPTokenizer
    public let textEncoder: CLIPTextEncoder
    public let unet: UNetModel
    public let autoencoder: AutoencoderKL
    public var tinyAutoencoder: TinyAutoencoder?
    /// The folder's scheduler settings; the `scheduler` of each request picks the algorithm.
    public var schedulerConfiguration: SchedulerConfiguration
    public let context: ExecutionContext

    public init(tokenizer: CLIPTokenizer, textEncoder: CLIPTextEncoder, unet: UNetModel, autoencoder: AutoencoderKL,
                schedulerConfiguration: SchedulerConfiguration, context: ExecutionContext) {
        self.tokenizer = tokenizer
        self.textEncoder = textEncoder
        self.unet = unet
        self.autoencoder = autoencoder
        self.schedulerConfiguration = schedulerConfiguration
        self.context = context
    }

    /// A diffusers folder, its weights kept as `weights` says.
    public convenience init(folder: DiffusersFolder, weights: WeightPrecision = .stored, context: ExecutionContext) throws {
        self.init(tokenizer: try CLIPTokenizer(directory: try folder.folder("tokenizer")),
                  textEncoder: try folder.textEncoder(weights: weights), unet: try folder.unet(weights: weights),
                  autoencoder: try folder.autoencoder(weights: weights),
                  schedulerConfiguration: try folder.schedulerConfiguration(), context: context)
    }

    /// A single-file checkpoint, with the tokenizer, scheduler and configs of `checkpoint.configurations`.
    public convenience init(checkpoint: SingleFileCheckpoint, weights: WeightPrecision = .stored, context: ExecutionContext) throws {
        let folder = checkpoint.configurations
        self.init(tokenizer: try CLIPTokenizer(directory: try folder.folder("tokenizer")),
                  textEncoder: try checkpoint.textEncoder(weights: weights), unet: try checkpoint.unet(weights: weights),
                  autoencoder: try checkpoint.autoencoder(weights: weights),
                  schedulerConfiguration: try folder.schedulerConfiguration(), context: context)
    }

    /// Image pixels per latent pixel.
    public var downscale: Int { autoencoder.configuration.downscale }

    /// Whether a request runs the UNet on (uncond, cond) pairs.
    public func usesGuidance(_ request: ImageRequest) -> Bool {
        request.guidance > 1 && unet.configuration.guidanceEmbeddingChannels == nil
    }

    /// Makes one image. `progress` returns false to stop (then `CancellationError` is thrown).
    public func generate(_ request: ImageRequest, progress: (ImageProgress) -> Bool = { _ in true }) throws -> GeneratedImage {
        try validate(request)
        let d = downscale, h = request.height / d, w = request.width / d, L = unet.configuration.inputChannels
        let count = L * h * w
        var noise: any NoiseGenerator = request.random == .torch
            ? TorchGenerator(seed: request.seed) : SparrowGenerator(seed: request.seed)

        guard progress(ImageProgress(stage: .encodingText, step: 0, stepCount: 1)) else { throw CancellationError() }
        let guided = usesGuidance(request)
        let cond = try textEncoder.encode(tokenizer.tokenize(request.prompt), skipLastLayers: request.clipSkip, context: context)
        let text = guided
            ? try textEncoder.encode(tokenizer.tokenize(request.negativePrompt), skipLastLayers: request.clipSkip, context: context) + cond
            : cond

        var scheduler = makeScheduler(request.scheduler, configuration: schedulerConfiguration)
        var latents: [Float]
        if let image = request.initialImage {
            try scheduler.setTimesteps(request.steps, strength: request.strength)
            // matches diffusers' img2img: encode (sampling the latent distribution), scale, add noise at the first timestep.
            let (mean, deviation) = try autoencoder.encodeDistribution(
                FeatureMaps(batch: 1, shape: FeatureMapShape(height: request.height, width: request.width, channels: 3),
                            values: image.map { $0 * 2 - 1 }), context: context)
            let (m, s) = (mean.nchw, deviation.nchw)
            let sample = noise.normal(count: count)
            let scale = autoencoder.configuration.scalingFactor
            let initial = (0..<count).map { (m[$0] + s[$0] * sample[$0]) * scale }
            latents = scheduler.addNoise(original: initial, noise: noise.normal(count: count), timestepIndex: 0)
        } else {
            try scheduler.setTimesteps(request.steps)
            let start = request.initialLatents ?? noise.normal(count: count)
            latents = start.map { $0 * scheduler.initialNoiseSigma }
        }

        let steps = scheduler.timesteps.count
        var denoised = latents
        for i in 0..<steps {
            guard progress(ImageProgress(stage: .denoising, step: i, stepCount: steps)) else { throw CancellationError() }
            let input = scheduler.scaleModelInput(latents, stepIndex: i)
            let batch = guided ? 2 : 1
            let maps = FeatureMaps(nchw: Array(repeatElement(input, count: batch).joined()), batch: batch, channels: L, height: h, width: w)
            let prediction = try unet.predict(maps, timestep: scheduler.modelTimesteps[i], text: text,
                                              textTokens: CLIPTokenizer.contextLength,
                                              guidance: unet.configuration.guidanceEmbeddingChannels == nil ? nil : request.guidance,
                                              context: context).nchw
            var output = Array(prediction[0..<count])
            if guided {
                // matches diffusers: uncond + g · (cond − uncond).
                for k in 0..<count { output[k] += request.guidance * (prediction[count + k] - output[k]) }
            }
            let result = scheduler.step(modelOutput: output, stepIndex: i, sample: latents, noise: &noise)
            latents = result.previousSample
            denoised = result.denoised
        }
        guard progress(ImageProgress(stage: .decoding, step: steps, stepCount: steps)) else { throw CancellationError() }
        // LCM returns its denoised estimate as the image (diffusers' LatentConsistencyModelPipeline).
        let final = request.scheduler == .lcm ? denoised : latents
        let pixels = try decode(final, height: h, width: w)
        return GeneratedImage(width: request.width, height: request.height, pixels: pixels, latents: final, seed: request.seed)
    }

    /// RGB in [0, 1], [H, W, 3], from final latents (NCHW), through TAESD when set.
    public func decode(_ latents: [Float], height h: Int, width w: Int) throws -> [Float] {
        let L = unet.configuration.inputChannels
        let image: FeatureMaps
        if let tiny = tinyAutoencoder {
            let scaled = latents.map { $0 / tiny.configuration.scalingFactor }
            image = try tiny.decode(FeatureMaps(nchw: scaled, batch: 1, channels: L, height: h, width: w), context: context)
        } else {
            let scaled = latents.map { $0 / autoencoder.configuration.scalingFactor }
            image = try autoencoder.decode(FeatureMaps(nchw: scaled, batch: 1, channels: L, height: h, width: w), context: context)
        }
        // matches diffusers' VaeImageProcessor: (x / 2 + 0.5).clamp(0, 1).
        return image.values.map { min(max($0 / 2 + 0.5, 0), 1) }
    }

    private func validate(_ r: ImageRequest) throws {
        let d = downscale * (1 << (unet.configuration.blockChannels.count - 1))
        guard r.width > 0, r.height > 0, r.width % d == 0, r.height % d == 0 else {
            throw DiffusionError("width and height must be positive multiples of \(d) for this model (got \(r.width)×\(r.height))")
        }
        guard r.width * r.height <= 2048 * 2048 else {
            throw DiffusionError("\(r.width)×\(r.height) is larger than Sparrow renders (at most 2048×2048 pixels)")
        }
        guard (1...1000).contains(r.steps) else { throw DiffusionError("steps must be 1…1000, got \(r.steps)") }
        guard r.guidance.isFinite, r.guidance >= 0 else { throw DiffusionError("guidance must be a number ≥ 0") }
        guard !r.prompt.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw DiffusionError("the prompt is empty; describe the image to make")
        }
        if let image = r.initialImage {
            guard image.count == r.width * r.height * 3 else {
                throw DiffusionError("the initial image must be \(r.width)×\(r.height) RGB")
            }
            guard r.strength > 0, r.strength <= 1 else { throw DiffusionError("strength must be in (0, 1], got \(r.strength)") }
        }
        if let latents = r.initialLatents {
            let expected = unet.configuration.inputChannels * (r.height / downscale) * (r.width / downscale)
            guard latents.count == expected else {
                throw DiffusionError("initial latents hold \(latents.count) values; \(r.width)×\(r.height) needs [1, \(unet.configuration.inputChannels), \(r.height / downscale), \(r.width / downscale)]")
            }
        }
    }
}
