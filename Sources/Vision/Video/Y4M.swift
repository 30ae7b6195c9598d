import Foundation
import SparrowRuntime

/// YUV4MPEG2 (`.y4m`): the uncompressed video format of mjpegtools, x264 and ffmpeg.
///
/// A file is one header line — `YUV4MPEG2` then space-separated tags: `W`width `H`height
/// `F`num:den (frame rate) `I`p|t|b|m|? (interlacing) `A`num:den (pixel aspect) `C`chroma
/// `X`comment — then frames, each a `FRAME` line (optionally with tags) followed by the Y plane and,
/// unless mono, the Cb and Cr planes, 8 bits per sample, rows top to bottom.
/// Spec: https://wiki.multimedia.cx/index.php/YUV4MPEG2 (and mjpegtools' yuv4mpeg.h).
public enum Y4M {
    /// Chroma layouts (`C` tag). The 4:2:0 variants differ only in chroma siting, which this
    /// reader ignores: each chroma sample covers its 2×2 (4:2:0) or 2×1 (4:2:2) block.
    public enum Chroma: String, CaseIterable, Sendable {
        case c420jpeg = "420jpeg", c420paldv = "420paldv", c420 = "420", c420mpeg2 = "420mpeg2"
        case c422 = "422", c444 = "444", mono = "mono"

        /// Chroma subsampling in x and y (1 or 2).
        var subsampling: (x: Int, y: Int) {
            switch self {
            case .c420jpeg, .c420paldv, .c420, .c420mpeg2: return (2, 2)
            case .c422: return (2, 1)
            case .c444, .mono: return (1, 1)
            }
        }

        /// Bytes of one frame's data (all planes) at `width × height`.
        func frameBytes(width: Int, height: Int) -> Int {
            if self == .mono { return width * height }
            let (sx, sy) = subsampling
            return width * height + 2 * ((width + sx - 1) / sx) * ((height + sy - 1) / sy)
        }
    }

    /// Which BT.601 range the samples use. Y4M has no standard range tag; ffmpeg writes
    /// `XCOLORRANGE=FULL|LIMITED`, and files without it are limited (studio) range, as mjpegtools assumes.
    public enum ColorRange: String, Sendable { case limited = "LIMITED", full = "FULL" }

    /// The largest header or FRAME line accepted, in bytes.
    static let maximumLineLength = 4096
}

/// BT.601 Y′CbCr ↔ R′G′B′ (ITU-R BT.601-7, Kr = 0.299, Kb = 0.114).
///
/// Full range (JPEG/JFIF): Y, Cb, Cr in 0…255 with chroma centred on 128.
/// Limited range: Y in 16…235 (scale 219/255) and Cb, Cr in 16…240 (scale 224/255), centred on 128.
/// Results are rounded to the nearest byte and clamped.
enum BT601 {
    static let kr: Float = 0.299, kb: Float = 0.114, kg: Float = 1 - 0.299 - 0.114

    /// R, G, B from Y, Cb, Cr.
    @inline(__always)
    static func rgb(y: UInt8, cb: UInt8, cr: UInt8, range: Y4M.ColorRange) -> (UInt8, UInt8, UInt8) {
        let l: Float, u: Float, v: Float
        switch range {
        case .full:
            l = Float(y); u = Float(cb) - 128; v = Float(cr) - 128
        case .limited:
            l = (Float(y) - 16) * (255 / 219); u = (Float(cb) - 128) * (255 / 224); v = (Float(cr) - 128) * (255 / 224)
        }
        let r = l + 2 * (1 - kr) * v
        let b = l + 2 * (1 - kb) * u
        let g = (l - kr * r - kb * b) / kg
        return (byte(r), byte(g), byte(b))
    }

    /// Y, Cb, Cr (unrounded) from R, G, B.
    @inline(__always)
    static func ycbcr(r: UInt8, g: UInt8, b: UInt8, range: Y4M.ColorRange) -> (Float, Float, Float) {
        let rf = Float(r), gf = Float(g), bf = Float(b)
        let l = kr * rf + kg * gf + kb * bf
        let u = (bf - l) / (2 * (1 - kb)), v = (rf - l) / (2 * (1 - kr))
        switch range {
        case .full: return (l, u + 128, v + 128)
        case .limited: return (16 + l * (219 / 255), 128 + u * (224 / 255), 128 + v * (224 / 255))
        }
    }

    @inline(__always) static func byte(_ v: Float) -> UInt8 {
        v >= 255 ? 255 : (v > 0 ? UInt8(v + 0.5) : 0)
    }
}

/// Reads a `.y4m` file frame by frame as RGB (BT.601, see `BT601`).
///
/// Hardened: the header must be well formed (W and H in 1…16384, positive rates, known chroma),
/// every FRAME line is checked, and a truncated frame is an error naming the frame and byte counts.
/// Interlaced files are read as progressive frames (fields stay woven).
public final class Y4MReader: FrameSource {
    public let path: String
    public let width: Int
    public let height: Int
    public let frameRate: FrameRate?
    public let chroma: Y4M.Chroma
    public let range: Y4M.ColorRange
    /// Frames in the file when every FRAME line is bare (`FRAME\n`); nil when that does not divide.
    public let frameCount: Int?
    private let file: UnsafeMutablePointer<FILE>
    private var data: [UInt8]
    private var framesRead = 0

    /// Opens `path` and reads its header. `range` overrides the file's (or the limited default).
    public init(path: String, range: Y4M.ColorRange? = nil) throws {
        self.path = path
        guard let file = fopen(path, "rb") else {
            throw VideoError("\(path): cannot open (\(String(cString: strerror(errno)))); check the path")
        }
        self.file = file
        var ok = false
        defer { if !ok { fclose(file) } }
        guard let line = try Y4MReader.readLine(file, path: path, what: "header"), line.starts(with: Array("YUV4MPEG2".utf8)),
              line.count == 9 || line[9] == UInt8(ascii: " ") else {
            throw VideoError("\(path): not a Y4M file (it must start with 'YUV4MPEG2 ')")
        }
        var w: Int?, h: Int?, rate: FrameRate?, c = Y4M.Chroma.c420jpeg, fileRange = Y4M.ColorRange.limited
        for token in line.split(separator: UInt8(ascii: " ")).dropFirst() {
            let value = String(decoding: token.dropFirst(), as: UTF8.self)
            switch token.first {
            case UInt8(ascii: "W"): w = Int(value)
            case UInt8(ascii: "H"): h = Int(value)
            case UInt8(ascii: "F"):
                guard let r = FrameRate(parsing: value) else { throw VideoError("\(path): bad frame rate 'F\(value)' (expected F<num>:<den>, both positive)") }
                rate = r
            case UInt8(ascii: "C"):
                guard let parsed = Y4M.Chroma(rawValue: value) else {
                    throw VideoError("\(path): unsupported chroma 'C\(value)' (supported: \(Y4M.Chroma.allCases.map(\.rawValue).joined(separator: ", ")), 8-bit only); convert with ffmpeg -pix_fmt yuv420p")
                }
                c = parsed
            case UInt8(ascii: "X"):
                if value.hasPrefix("COLORRANGE=") {
                    guard let r = Y4M.ColorRange(rawValue: String(value.dropFirst("COLORRANGE=".count))) else {
                        throw VideoError("\(path): unknown color range 'X\(value)' (expected FULL or LIMITED)")
                    }
                    fileRange = r
                }
            case UInt8(ascii: "I"), UInt8(ascii: "A"):
                break  // interlacing and pixel aspect do not change how samples are stored
            default:
                throw VideoError("\(path): unknown header tag '\(String(decoding: token, as: UTF8.self))'")
            }
        }
        guard let w, let h, (1...RGBImage.maximumSide).contains(w), (1...RGBImage.maximumSide).contains(h) else {
            throw VideoError("\(path): the header needs W<width> and H<height> in 1...\(RGBImage.maximumSide)")
        }
        width = w
        height = h
        frameRate = rate
        chroma = c
        self.range = range ?? fileRange
        data = [UInt8](repeating: 0, count: c.frameBytes(width: w, height: h))
        // Frame count from the file size, assuming bare "FRAME\n" lines.
        let headerBytes = line.count + 1
        var info = stat()
        if fstat(fileno(file), &info) == 0, info.st_size >= headerBytes {
            let rest = Int(info.st_size) - headerBytes, perFrame = data.count + 6
            frameCount = rest % perFrame == 0 ? rest / perFrame : nil
        } else {
            frameCount = nil
        }
        ok = true
    }

    deinit { fclose(file) }

    /// The next frame as RGB, or nil at a clean end of file.
    public func next() throws -> RGBImage? {
        guard let line = try Y4MReader.readLine(file, path: path, what: "FRAME line of frame \(framesRead)") else { return nil }
        guard line.starts(with: Array("FRAME".utf8)), line.count == 5 || line[5] == UInt8(ascii: " ") else {
            throw VideoError("\(path): frame \(framesRead) does not start with a FRAME line (damaged file, or W/H/C in the header are wrong)")
        }
        let got = data.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, file) }
        guard got == data.count else {
            throw VideoError("\(path): frame \(framesRead) is truncated: expected \(data.count) bytes of \(chroma.rawValue) data, got \(got)")
        }
        framesRead += 1
        return try toRGB()
    }

    /// Converts the current frame's planes to RGB.
    private func toRGB() throws -> RGBImage {
        let (sx, sy) = chroma.subsampling
        let cw = (width + sx - 1) / sx, ch = (height + sy - 1) / sy
        var out = [UInt8](repeating: 0, count: width * height * 3)
        data.withUnsafeBufferPointer { d in
            let lumaCount = width * height
            for y in 0..<height {
                for x in 0..<width {
                    let p = y * width + x
                    var cb: UInt8 = 128, cr: UInt8 = 128
                    if chroma != .mono {
                        let q = (y / sy) * cw + x / sx
                        cb = d[lumaCount + q]
                        cr = d[lumaCount + cw * ch + q]
                    }
                    let (r, g, b) = BT601.rgb(y: d[p], cb: cb, cr: cr, range: range)
                    out[3 * p] = r
                    out[3 * p + 1] = g
                    out[3 * p + 2] = b
                }
            }
        }
        return try RGBImage(width: width, height: height, pixels: out)
    }

    /// One line without its newline; nil at end of file before any byte. Throws when the line is
    /// cut by the end of file or longer than `Y4M.maximumLineLength`.
    static func readLine(_ file: UnsafeMutablePointer<FILE>, path: String, what: String) throws -> [UInt8]? {
        var line: [UInt8] = []
        while true {
            let c = getc(file)
            if c == EOF {
                if line.isEmpty && ferror(file) == 0 { return nil }
                throw VideoError("\(path): the \(what) is truncated (end of file before its newline)")
            }
            if c == 0x0A { return line }
            line.append(UInt8(c))
            if line.count > Y4M.maximumLineLength {
                throw VideoError("\(path): the \(what) is longer than \(Y4M.maximumLineLength) bytes; not a Y4M file?")
            }
        }
    }
}

/// Writes RGB frames to a `.y4m` file (BT.601; 4:2:0 chroma is the mean of each 2×2 block).
///
/// The header records the range as `XCOLORRANGE=`, which ffmpeg and `Y4MReader` honour.
public final class Y4MWriter: FrameSink {
    public let path: String
    public let width: Int
    public let height: Int
    public let chroma: Y4M.Chroma
    public let range: Y4M.ColorRange
    private var file: UnsafeMutablePointer<FILE>?
    private var data: [UInt8]

    /// Creates (or replaces) `path` and writes the header.
    public init(path: String, width: Int, height: Int, frameRate: FrameRate,
                chroma: Y4M.Chroma = .c420jpeg, range: Y4M.ColorRange = .limited) throws {
        guard (1...RGBImage.maximumSide).contains(width), (1...RGBImage.maximumSide).contains(height) else {
            throw VideoError("\(path): Y4M frame size \(width)x\(height) is outside 1...\(RGBImage.maximumSide)")
        }
        guard let file = fopen(path, "wb") else {
            throw VideoError("\(path): cannot create (\(String(cString: strerror(errno)))); check the folder exists and is writable")
        }
        self.path = path
        self.width = width
        self.height = height
        self.chroma = chroma
        self.range = range
        self.file = file
        data = [UInt8](repeating: 0, count: chroma.frameBytes(width: width, height: height))
        try put(Array("YUV4MPEG2 W\(width) H\(height) F\(frameRate.numerator):\(frameRate.denominator) Ip A1:1 C\(chroma.rawValue) XCOLORRANGE=\(range.rawValue)\n".utf8))
    }

    deinit { if let file { fclose(file) } }

    /// Appends one frame (its size must be the writer's).
    public func write(_ frame: RGBImage) throws {
        guard frame.width == width, frame.height == height else {
            throw VideoError("\(path): frame is \(frame.width)x\(frame.height) but the Y4M file is \(width)x\(height)")
        }
        fillPlanes(frame)
        try put(Array("FRAME\n".utf8))
        try put(data)
    }

    /// Flushes and closes the file.
    public func finish() throws {
        guard let file else { return }
        self.file = nil
        guard fclose(file) == 0 else { throw VideoError("\(path): cannot finish writing (\(String(cString: strerror(errno))))") }
    }

    private func put(_ bytes: [UInt8]) throws {
        guard let file else { throw VideoError("\(path): written after finish()") }
        let n = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
        guard n == bytes.count else { throw VideoError("\(path): write failed (\(String(cString: strerror(errno)))); is the disk full?") }
    }

    /// Converts `frame` into the Y, Cb, Cr planes of `data`.
    private func fillPlanes(_ frame: RGBImage) {
        let (sx, sy) = chroma.subsampling
        let cw = (width + sx - 1) / sx, ch = (height + sy - 1) / sy
        var cbSum = [Float](repeating: 0, count: cw * ch), crSum = cbSum, counts = cbSum
        let lumaCount = width * height
        for y in 0..<height {
            for x in 0..<width {
                let p = y * width + x
                let (l, u, v) = BT601.ycbcr(r: frame.pixels[3 * p], g: frame.pixels[3 * p + 1], b: frame.pixels[3 * p + 2], range: range)
                data[p] = BT601.byte(l)
                let q = (y / sy) * cw + x / sx
                cbSum[q] += u
                crSum[q] += v
                counts[q] += 1
            }
        }
        guard chroma != .mono else { return }
        for q in 0..<(cw * ch) {
            data[lumaCount + q] = BT601.byte(cbSum[q] / counts[q])
            data[lumaCount + cw * ch + q] = BT601.byte(crSum[q] / counts[q])
        }
    }
}
