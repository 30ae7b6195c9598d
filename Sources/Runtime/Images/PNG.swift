import CPNGShim
import Foundation

/// An 8-bit PNG image in memory: gray, RGB or RGBA samples, rows top to bottom, plus its text chunks
/// (diffusion stores its generation settings under the `parameters` key).
///
/// Reading converts any PNG to one of the three layouts (palettes to RGB or RGBA, gray+alpha to RGBA,
/// 16-bit samples scaled to 8); writing stores exactly the given layout. libpng does the work inside
/// the CPNGShim C target, so its longjmp-based errors never cross Swift frames.
public struct PNGImage: Equatable, Sendable {
    /// Sample layout; the raw value is the channel count.
    public enum Layout: Int, Sendable, CaseIterable {
        case gray = 1, rgb = 3, rgba = 4
        public var channelCount: Int { rawValue }
    }

    public let width: Int
    public let height: Int
    public let layout: Layout
    /// `height * width * layout.channelCount` samples, interleaved. // [H, W, C]
    public var pixels: [UInt8]
    /// Text chunks, key to value. Keys are 1–79 printable ASCII characters.
    public var text: [String: String]

    /// An image from samples; throws when `pixels` does not hold exactly `height * width * channels`.
    public init(width: Int, height: Int, layout: Layout, pixels: [UInt8], text: [String: String] = [:]) throws {
        guard width > 0, height > 0, width <= Int(UInt32.max), height <= Int(UInt32.max) else {
            throw PNGError(path: nil, kind: .invalidArgument, message: "width and height must be positive, got \(width)x\(height)")
        }
        let (count, overflow) = width.multipliedReportingOverflow(by: height * layout.channelCount)
        guard !overflow, pixels.count == count else {
            throw PNGError(path: nil, kind: .invalidArgument,
                           message: "\(width)x\(height) \(layout) needs \(overflow ? "too many" : "\(count)") samples, got \(pixels.count)")
        }
        self.width = width
        self.height = height
        self.layout = layout
        self.pixels = pixels
        self.text = text
    }

    /// Reads a PNG file.
    public init(contentsOf path: String) throws {
        var image = sp_png_image()
        var message = [CChar](repeating: 0, count: 256)
        let status = sp_png_read_file(path, &image, &message, message.count)
        defer { sp_png_image_free(&image) }
        guard status == 0 else { throw PNGError(path: path, status: status, message: message) }
        guard let layout = Layout(rawValue: Int(image.channels)), let samples = image.pixels else {
            throw PNGError(path: path, kind: .unsupported, message: "decoded to \(image.channels) channels")
        }
        let count = Int(image.width) * Int(image.height) * layout.channelCount
        var text: [String: String] = [:]
        for i in 0..<Int(image.text_count) {
            let chunk = image.texts[i]
            guard let keyPointer = chunk.key, let valuePointer = chunk.text else { continue }
            let key = String(cString: keyPointer)  // keys are Latin-1; non-ASCII keys are repaired
            let bytes = UnsafeRawBufferPointer(start: valuePointer, count: chunk.text_length)
            // iTXt values are UTF-8; tEXt and zTXt values are Latin-1, whose bytes are code points.
            text[key] = chunk.is_utf8 != 0
                ? String(decoding: bytes, as: UTF8.self)
                : String(String.UnicodeScalarView(bytes.map { Unicode.Scalar($0) }))
        }
        try self.init(width: Int(image.width), height: Int(image.height), layout: layout,
                      pixels: Array(UnsafeBufferPointer(start: samples, count: count)), text: text)
    }

    /// Writes the image as a PNG file (text chunks in key order; ASCII values as tEXt, others as
    /// UTF-8 iTXt). A failed write removes the partial file.
    public func write(to path: String) throws {
        for (key, value) in text {
            guard (1...79).contains(key.utf8.count), key.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7f }), !key.hasPrefix(" "), !key.hasSuffix(" ") else {
                throw PNGError(path: path, kind: .invalidArgument, message: "text key '\(key)' must be 1-79 printable ASCII characters without leading or trailing spaces")
            }
            guard !value.utf8.contains(0) else {
                throw PNGError(path: path, kind: .invalidArgument, message: "text value of '\(key)' contains a NUL byte")
            }
        }
        let entries = text.sorted { $0.key < $1.key }
        // C strings that stay alive for the whole call.
        let keys = entries.map { strdup($0.key) }
        let values = entries.map { strdup($0.value) }
        defer {
            keys.forEach { free($0) }
            values.forEach { free($0) }
        }
        guard !keys.contains(nil), !values.contains(nil) else {
            throw PNGError(path: path, kind: .tooLarge, message: "out of memory for text chunks")
        }
        var chunks = entries.indices.map { i in
            sp_png_text(key: keys[i], text: values[i], text_length: entries[i].value.utf8.count, is_utf8: 0)
        }
        var message = [CChar](repeating: 0, count: 256)
        let status = pixels.withUnsafeBufferPointer { samples in
            chunks.withUnsafeMutableBufferPointer { c in
                sp_png_write_file(path, samples.baseAddress, UInt32(width), UInt32(height), UInt32(layout.channelCount),
                                  c.baseAddress, Int32(c.count), &message, message.count)
            }
        }
        guard status == 0 else { throw PNGError(path: path, status: status, message: message) }
    }
}

/// A PNG that could not be read or written.
public struct PNGError: Error, CustomStringConvertible, Equatable {
    public enum Kind: Sendable, Equatable {
        case cannotOpen, notPNG, corrupt, unsupported, tooLarge, invalidArgument
    }

    /// The file involved, when there is one.
    public let path: String?
    public let kind: Kind
    public let message: String

    public init(path: String?, kind: Kind, message: String) {
        self.path = path
        self.kind = kind
        self.message = message
    }

    init(path: String, status: Int32, message: [CChar]) {
        let kinds: [Int32: Kind] = [1: .cannotOpen, 2: .notPNG, 3: .corrupt, 4: .unsupported, 5: .tooLarge, 6: .invalidArgument]
        let text = String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        self.init(path: path, kind: kinds[status] ?? .corrupt, message: text.isEmpty ? "libpng status \(status)" : text)
    }

    public var description: String {
        let advice: String
        switch kind {
        case .cannotOpen: advice = "check the path and its permissions"
        case .notPNG: advice = "pass a .png file"
        case .corrupt: advice = "the file is damaged or truncated; re-export it"
        case .unsupported: advice = "convert it to 8-bit gray, RGB or RGBA"
        case .tooLarge: advice = "use a smaller image"
        case .invalidArgument: advice = "fix the image before writing it"
        }
        return "\(path.map { $0 + ": " } ?? "")\(message) (\(advice))"
    }
}
