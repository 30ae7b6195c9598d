import Foundation

/// An 8-bit RGB image, rows top to bottom, 3 bytes per pixel.
///
/// The frame type of the vision pipelines: video sources decode into it, segmenters read it and
/// compositors write it. PNG files are read and written through `PNGImage`.
public struct RGBImage: Equatable, Sendable {
    /// The largest width or height accepted (keeps every size product far from overflow).
    public static let maximumSide = 16384

    public let width: Int
    public let height: Int
    /// `height * width * 3` bytes, interleaved R, G, B. // [H, W, 3]
    public var pixels: [UInt8]

    /// An image from samples; throws when a side is not in 1…16384 or `pixels` does not hold exactly
    /// `width * height * 3` bytes.
    public init(width: Int, height: Int, pixels: [UInt8]) throws {
        guard (1...RGBImage.maximumSide).contains(width), (1...RGBImage.maximumSide).contains(height) else {
            throw PNGError(path: nil, kind: .invalidArgument,
                           message: "RGB image sides must be 1-\(RGBImage.maximumSide), got \(width)x\(height)")
        }
        guard pixels.count == width * height * 3 else {
            throw PNGError(path: nil, kind: .invalidArgument,
                           message: "\(width)x\(height) RGB image needs \(width * height * 3) bytes, got \(pixels.count)")
        }
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// An image of one color.
    public init(width: Int, height: Int, red: UInt8, green: UInt8, blue: UInt8) throws {
        var pixels = [UInt8](repeating: 0, count: max(0, width) * max(0, height) * 3)
        var i = 0
        while i + 2 < pixels.count {
            pixels[i] = red
            pixels[i + 1] = green
            pixels[i + 2] = blue
            i += 3
        }
        try self.init(width: width, height: height, pixels: pixels)
    }

    /// Converts a decoded PNG: gray is replicated to R, G and B; alpha is dropped (not blended).
    public init(_ png: PNGImage) {
        width = png.width
        height = png.height
        let count = png.width * png.height
        switch png.layout {
        case .rgb:
            pixels = png.pixels
        case .gray:
            var out = [UInt8](repeating: 0, count: count * 3)
            for p in 0..<count {
                let v = png.pixels[p]
                out[3 * p] = v
                out[3 * p + 1] = v
                out[3 * p + 2] = v
            }
            pixels = out
        case .rgba:
            var out = [UInt8](repeating: 0, count: count * 3)
            for p in 0..<count {
                out[3 * p] = png.pixels[4 * p]
                out[3 * p + 1] = png.pixels[4 * p + 1]
                out[3 * p + 2] = png.pixels[4 * p + 2]
            }
            pixels = out
        }
    }

    /// Reads a PNG file (any layout PNGImage reads; see `init(_:)` for the conversion).
    public init(contentsOf path: String) throws {
        let png = try PNGImage(contentsOf: path)
        guard png.width <= RGBImage.maximumSide, png.height <= RGBImage.maximumSide else {
            throw PNGError(path: path, kind: .tooLarge,
                           message: "\(png.width)x\(png.height) exceeds \(RGBImage.maximumSide) pixels per side")
        }
        self.init(png)
    }

    /// Writes the image as an RGB PNG file.
    public func write(to path: String) throws {
        try PNGImage(width: width, height: height, layout: .rgb, pixels: pixels).write(to: path)
    }

    /// Pixel count, `width * height`.
    public var pixelCount: Int { width * height }
}
