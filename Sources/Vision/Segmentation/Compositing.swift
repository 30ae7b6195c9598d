import Foundation
import SparrowRuntime

/// What replaces the background behind the segmented foreground.
public enum Background: Equatable, Sendable {
    /// One color.
    case color(red: UInt8, green: UInt8, blue: UInt8)
    /// A picture, stretched to the frame's size (bilinear) when the sizes differ.
    case image(RGBImage)
    /// The frame itself, blurred: three box blurs of this radius in pixels (≈ a Gaussian of
    /// σ = √((2r+1)² − 1) / 2, matches the central-limit argument of Wells 1986, "Efficient synthesis
    /// of Gaussian filters by cascaded uniform filters").
    case blur(radius: Int)

    /// The blur radius that plain `blur` means.
    public static let defaultBlurRadius = 12

    /// Named colors accepted by `init(parsing:)`.
    public static let namedColors: [String: (UInt8, UInt8, UInt8)] = [
        "black": (0, 0, 0), "white": (255, 255, 255), "red": (255, 0, 0), "green": (0, 255, 0),
        "blue": (0, 0, 255), "yellow": (255, 255, 0), "cyan": (0, 255, 255), "magenta": (255, 0, 255),
        "gray": (128, 128, 128), "grey": (128, 128, 128),
    ]

    /// Parses a command-line value: `blur` or `blur:R` (radius R ≥ 1), `#rrggbb` / `#rgb`, a color
    /// name (`green`, see `namedColors`), or else a PNG file path (read now).
    public init(parsing argument: String) throws {
        let text = argument.trimmingCharacters(in: .whitespaces)
        let lower = text.lowercased()
        if lower == "blur" {
            self = .blur(radius: Background.defaultBlurRadius)
        } else if lower.hasPrefix("blur:") {
            guard let r = Int(lower.dropFirst(5)), (1...1024).contains(r) else {
                throw CompositingError("'\(argument)': the blur radius must be a whole number of pixels in 1...1024, e.g. blur:12")
            }
            self = .blur(radius: r)
        } else if lower.hasPrefix("#") {
            let hex = Array(lower.dropFirst())
            guard hex.count == 6 || hex.count == 3, hex.allSatisfy(\.isHexDigit) else {
                throw CompositingError("'\(argument)' is not a color: write #rrggbb or #rgb in hexadecimal, e.g. #00ff00")
            }
            let digits = hex.map { UInt8($0.hexDigitValue ?? 0) }
            if hex.count == 6 {
                self = .color(red: digits[0] << 4 | digits[1], green: digits[2] << 4 | digits[3], blue: digits[4] << 4 | digits[5])
            } else {
                self = .color(red: digits[0] * 17, green: digits[1] * 17, blue: digits[2] * 17)
            }
        } else if let (r, g, b) = Background.namedColors[lower] {
            self = .color(red: r, green: g, blue: b)
        } else {
            guard FileManager.default.fileExists(atPath: text) else {
                let names = Background.namedColors.keys.sorted().joined(separator: ", ")
                throw CompositingError("'\(argument)' is neither a PNG file, blur, #rrggbb nor a color name (\(names))")
            }
            self = .image(try RGBImage(contentsOf: text))
        }
    }
}

/// A background or overlay that cannot be used; the message says what to write instead.
public struct CompositingError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ message: String) { description = message }
}

/// Ways to show a segmentation: the mask itself, a tinted overlay, a replaced or blurred background.
///
/// Masks are soft: a pixel with foreground probability α takes `α·frame + (1 − α)·background`,
/// rounded to the nearest byte, so hair and edges blend instead of stair-stepping.
public enum Compositing {
    /// The tint `overlay` uses by default.
    public static let defaultTint: (red: UInt8, green: UInt8, blue: UInt8) = (0, 255, 0)
    /// How strongly `overlay` tints a certain foreground pixel by default.
    public static let defaultOpacity: Float = 0.5

    /// The frame with the foreground tinted: `frame + opacity·α·(tint − frame)` per channel.
    public static func overlay(_ frame: RGBImage, mask: SegmentationMask,
                               tint: (red: UInt8, green: UInt8, blue: UInt8) = defaultTint,
                               opacity: Float = defaultOpacity) throws -> RGBImage {
        let mask = try fitted(mask, to: frame)
        let color = SIMD3<Float>(Float(tint.red), Float(tint.green), Float(tint.blue))
        let strength = SegmentationMask.clamped(opacity)
        var out = frame
        out.pixels.withUnsafeMutableBufferPointer { dst in
            frame.pixels.withUnsafeBufferPointer { src in
                mask.values.withUnsafeBufferPointer { alpha in
                    for p in 0..<frame.pixelCount {
                        let a = SegmentationMask.clamped(alpha[p]) * strength
                        for c in 0..<3 {
                            let f = Float(src[3 * p + c])
                            dst[3 * p + c] = UInt8(f + a * (color[c] - f) + 0.5)
                        }
                    }
                }
            }
        }
        return out
    }

    /// The frame's foreground over `background`, soft-masked (see the type's summary). A blurred
    /// background is the frame blurred with `blurred(_:radius:passes:context:)`.
    public static func replaceBackground(_ frame: RGBImage, mask: SegmentationMask, with background: Background,
                                         context: ExecutionContext) throws -> RGBImage {
        let mask = try fitted(mask, to: frame)
        let behind: RGBImage
        switch background {
        case .color(let r, let g, let b):
            behind = try RGBImage(width: frame.width, height: frame.height, red: r, green: g, blue: b)
        case .image(let picture):
            behind = try resized(picture, width: frame.width, height: frame.height)
        case .blur(let radius):
            behind = blurred(frame, radius: radius, context: context)
        }
        var out = frame
        out.pixels.withUnsafeMutableBufferPointer { dst in
            frame.pixels.withUnsafeBufferPointer { src in
                behind.pixels.withUnsafeBufferPointer { back in
                    mask.values.withUnsafeBufferPointer { alpha in
                        for p in 0..<frame.pixelCount {
                            let a = SegmentationMask.clamped(alpha[p])
                            for c in 0..<3 {
                                let f = Float(src[3 * p + c]), b = Float(back[3 * p + c])
                                dst[3 * p + c] = UInt8(b + a * (f - b) + 0.5)
                            }
                        }
                    }
                }
            }
        }
        return out
    }

    /// `mask` at the frame's size (resized bilinearly when a segmenter returned another size).
    static func fitted(_ mask: SegmentationMask, to frame: RGBImage) throws -> SegmentationMask {
        mask.width == frame.width && mask.height == frame.height ? mask : mask.resized(width: frame.width, height: frame.height)
    }

    /// `image` resampled to `width × height`, bilinear with half-pixel centers (same taps as
    /// `SegmentationMask.resized`).
    public static func resized(_ image: RGBImage, width: Int, height: Int) throws -> RGBImage {
        if image.width == width && image.height == height { return image }
        let xs = SegmentationMask.bilinearTaps(source: image.width, destination: width)
        let ys = SegmentationMask.bilinearTaps(source: image.height, destination: height)
        var out = [UInt8](repeating: 0, count: width * height * 3)
        let w = image.width
        for y in 0..<height {
            let (y0, y1, fy) = ys[y]
            for x in 0..<width {
                let (x0, x1, fx) = xs[x]
                for c in 0..<3 {
                    let p00 = Float(image.pixels[(y0 * w + x0) * 3 + c]), p01 = Float(image.pixels[(y0 * w + x1) * 3 + c])
                    let p10 = Float(image.pixels[(y1 * w + x0) * 3 + c]), p11 = Float(image.pixels[(y1 * w + x1) * 3 + c])
                    let top = p00 + (p01 - p00) * fx, bottom = p10 + (p11 - p10) * fx
                    out[(y * width + x) * 3 + c] = UInt8(min(max(top + (bottom - top) * fy + 0.5, 0), 255))
                }
            }
        }
        return try RGBImage(width: width, height: height, pixels: out)
    }
}
