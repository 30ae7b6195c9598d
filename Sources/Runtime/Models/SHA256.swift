import CSparrowKernels
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// SHA-256 (FIPS 180-4) over the C implementation in CSparrowKernels.
public enum SHA256 {
    /// A file that could not be read while hashing.
    public struct ReadError: Error, CustomStringConvertible {
        public let path: String
        public let reason: String
        public var description: String { "cannot read \(path) to hash it: \(reason)" }
    }

    /// Lower-case hex digest of `bytes`.
    public static func hex(of bytes: UnsafeRawBufferPointer) -> String {
        var ctx = sp_sha256_ctx()
        sp_sha256_init(&ctx)
        if let base = bytes.baseAddress { sp_sha256_update(&ctx, base, bytes.count) }
        return finish(&ctx)
    }

    /// Lower-case hex digest of `bytes`.
    public static func hex(of bytes: [UInt8]) -> String {
        bytes.withUnsafeBytes { hex(of: $0) }
    }

    /// Lower-case hex digest of the file at `path`, read in 1 MiB chunks.
    public static func hex(ofFileAt path: String) throws -> String {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw ReadError(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var ctx = sp_sha256_ctx()
        sp_sha256_init(&ctx)
        let chunk = 1 << 20
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: chunk, alignment: 64)
        defer { buffer.deallocate() }
        while true {
            let n = read(fd, buffer, chunk)
            if n < 0 {
                if errno == EINTR { continue }
                throw ReadError(path: path, reason: String(cString: strerror(errno)))
            }
            if n == 0 { break }
            sp_sha256_update(&ctx, buffer, n)
        }
        return finish(&ctx)
    }

    private static func finish(_ ctx: inout sp_sha256_ctx) -> String {
        var digest = [UInt8](repeating: 0, count: 32)
        digest.withUnsafeMutableBufferPointer { sp_sha256_final(&ctx, $0.baseAddress) }
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(64)
        for b in digest {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
