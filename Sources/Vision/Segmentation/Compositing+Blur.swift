import SparrowRuntime

extension Compositing {
    /// Box-blur passes that `blurred` runs by default: three approximate a Gaussian closely enough
    /// that no box edges show.
    public static let defaultBlurPasses = 3

    /// `image` blurred by `passes` separable box blurs of radius `radius` (window 2r+1, edges
    /// clamped, each pass rounded to bytes). Running sums make every pass O(1) per pixel whatever the
    /// radius; rows (horizontal passes) and column strips (vertical passes) are split across the
    /// context's threads. A constant image stays exactly constant.
    public static func blurred(_ image: RGBImage, radius: Int, passes: Int = defaultBlurPasses,
                               context: ExecutionContext) -> RGBImage {
        guard radius > 0, passes > 0 else { return image }
        let width = image.width, height = image.height
        var a = image.pixels
        var b = [UInt8](repeating: 0, count: a.count)
        a.withUnsafeMutableBufferPointer { aBuffer in
            b.withUnsafeMutableBufferPointer { bBuffer in
                guard let pa = aBuffer.baseAddress, let pb = bBuffer.baseAddress else { return }
                for _ in 0..<passes {
                    context.pool.parallelFor(height) { rows in
                        for y in rows { boxBlurRow(pa + y * width * 3, into: pb + y * width * 3, width: width, radius: radius) }
                    }
                    context.pool.parallelFor(width, granularity: 16) { columns in
                        boxBlurColumns(pb, into: pa, width: width, height: height, columns: columns, radius: radius)
                    }
                }
            }
        }
        var out = image
        out.pixels = a
        return out
    }

    /// One horizontal box blur of a row of `width` RGB pixels.
    static func boxBlurRow(_ src: UnsafePointer<UInt8>, into dst: UnsafeMutablePointer<UInt8>, width: Int, radius: Int) {
        let window = 2 * radius + 1, half = window / 2
        @inline(__always) func at(_ x: Int, _ c: Int) -> Int { Int(src[min(max(x, 0), width - 1) * 3 + c]) }
        for c in 0..<3 {
            var sum = 0
            for k in -radius...radius { sum += at(k, c) }
            for x in 0..<width {
                dst[x * 3 + c] = UInt8((sum + half) / window)
                sum += at(x + radius + 1, c) - at(x - radius, c)
            }
        }
    }

    /// One vertical box blur of the RGB columns `columns` of an image (running sums per byte column,
    /// walking rows top to bottom so memory is read row-wise).
    static func boxBlurColumns(_ src: UnsafePointer<UInt8>, into dst: UnsafeMutablePointer<UInt8>, width: Int, height: Int,
                               columns: Range<Int>, radius: Int) {
        let window = 2 * radius + 1, half = window / 2
        let rowBytes = width * 3
        let first = columns.lowerBound * 3, count = columns.count * 3
        var sums = [Int](repeating: 0, count: count)
        @inline(__always) func row(_ y: Int) -> UnsafePointer<UInt8> { src + min(max(y, 0), height - 1) * rowBytes + first }
        sums.withUnsafeMutableBufferPointer { s in
            for k in -radius...radius {
                let r = row(k)
                for i in 0..<count { s[i] += Int(r[i]) }
            }
            for y in 0..<height {
                let out = dst + y * rowBytes + first
                for i in 0..<count { out[i] = UInt8((s[i] + half) / window) }
                let add = row(y + radius + 1), remove = row(y - radius)
                for i in 0..<count { s[i] += Int(add[i]) - Int(remove[i]) }
            }
        }
    }
}
