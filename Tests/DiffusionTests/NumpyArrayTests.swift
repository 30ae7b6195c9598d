import Foundation
import SparrowDiffusion
import SparrowRuntime
import Testing

/// `.npy` files as numpy.save writes them (format 1.0: magic, version, little-endian header length,
/// a Python-dict header padded with spaces to a multiple of 64 bytes and ending in a newline).
private func npy(header: String, floats: [Float]) -> [UInt8] {
    var text = header
    while (10 + text.utf8.count + 1) % 64 != 0 { text += " " }
    text += "\n"
    var bytes: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(text.utf8.count & 0xff), UInt8(text.utf8.count >> 8)]
    bytes += Array(text.utf8)
    floats.withUnsafeBytes { bytes += Array($0) }
    return bytes
}

@Suite struct NumpyArrayTests {
    @Test func readsAFloat32ArrayAsNumpySavesIt() throws {
        let folder = TemporaryDiffusionFolder()
        let path = folder.path + "/a.npy"
        let values: [Float] = (0..<24).map { Float($0) * 0.5 - 3 }
        FileManager.default.createFile(atPath: path, contents: Data(npy(header: "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2, 3, 4), }", floats: values)))
        let array = try NumpyArray(path: path)
        #expect(array.shape == [1, 2, 3, 4])
        #expect(array.values == values)
    }

    @Test func hostileFilesAreRefused() throws {
        let folder = TemporaryDiffusionFolder()
        let cases: [(String, [UInt8])] = [
            ("double", npy(header: "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", floats: [1, 2, 3, 4])),
            ("fortran", npy(header: "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", floats: [1, 2, 3, 4])),
            ("short", npy(header: "{'descr': '<f4', 'fortran_order': False, 'shape': (1000,), }", floats: [1, 2])),
            ("overflow", npy(header: "{'descr': '<f4', 'fortran_order': False, 'shape': (1073741824, 1073741824, 1073741824), }", floats: [])),
            ("magic", Array("not numpy at all".utf8)),
            ("cut", Array(npy(header: "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", floats: [1, 2]).prefix(9))),
        ]
        for (name, bytes) in cases {
            let path = folder.path + "/\(name).npy"
            FileManager.default.createFile(atPath: path, contents: Data(bytes))
            #expect(throws: FormatError.self, "\(name)") { try NumpyArray(path: path) }
        }
    }

    /// `--initial-latents`: starting from the noise a seed would draw gives that seed's image (DDIM draws
    /// nothing else).
    @Test func givenLatentsEqualTheSeedsOwnNoise() throws {
        let run = try #require(PipelineGoldenTests.runs(.sd1, prefix: "t2i_ddim_2").first)
        let (pipeline, request) = try PipelineGoldenTests.prepare(run)
        var given = request
        given.initialLatents = try run.pipeline.golden("\(run.name)/initial_noise")
        given.seed = request.seed &+ 1
        #expect(try pipeline.generate(given).pixels == pipeline.generate(request).pixels)
    }
}
