// swift-tools-version:6.0
// Sparrow: an on-device generative-AI runtime in Swift.
//
// Library targets carry no unsafe flags so that another package can depend on them. CPU instruction
// sets are chosen at run time (cpuid) inside CSparrowKernels, never at build time.
import PackageDescription

let package = Package(
    name: "Sparrow",
    products: [
        .library(name: "SparrowRuntime", targets: ["SparrowRuntime"]),
        .library(name: "SparrowLLM", targets: ["SparrowLLM"]),
        .library(name: "SparrowDiffusion", targets: ["SparrowDiffusion"]),
        .library(name: "SparrowRelight", targets: ["SparrowRelight"]),
        .library(name: "SparrowVision", targets: ["SparrowVision"]),
        .executable(name: "sparrow", targets: ["sparrow"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // C: hot kernels (one function per ISA, chosen with cpuid), thread pool, SHA-256.
        .target(
            name: "CSparrowKernels",
            path: "Sources/CSparrowKernels",
            linkerSettings: [.linkedLibrary("pthread"), .linkedLibrary("m")]
        ),
        // System libraries from Debian.
        .systemLibrary(name: "COpenBLAS", path: "Sources/COpenBLAS"),
        .systemLibrary(name: "CPNG", path: "Sources/CPNG"),
        // libpng reports errors with longjmp, which must not cross Swift frames: a C shim owns the calls.
        .target(
            name: "CPNGShim",
            dependencies: ["CPNG"],
            path: "Sources/CPNGShim",
            linkerSettings: [.linkedLibrary("png16")]
        ),
        // libsentencepiece is C++: a small C++ shim exposes a plain C API.
        .target(
            name: "CSentencePiece",
            path: "Sources/CSentencePiece",
            linkerSettings: [.linkedLibrary("sentencepiece"), .linkedLibrary("stdc++")]
        ),
        .target(
            name: "SparrowRuntime",
            dependencies: ["CSparrowKernels", "COpenBLAS", "CPNG", "CPNGShim"],
            path: "Sources/Runtime"
        ),
        .target(
            name: "SparrowLLM",
            dependencies: ["SparrowRuntime", "CSentencePiece"],
            path: "Sources/LLM"
        ),
        .target(name: "SparrowDiffusion", dependencies: ["SparrowRuntime"], path: "Sources/Diffusion"),
        .target(name: "SparrowRelight", dependencies: ["SparrowRuntime"], path: "Sources/Relight"),
        .target(name: "SparrowVision", dependencies: ["SparrowRuntime"], path: "Sources/Vision"),
        .executableTarget(
            name: "sparrow",
            dependencies: [
                "SparrowRuntime", "SparrowLLM", "SparrowVision", "SparrowDiffusion",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Sources/CLI"
        ),
        // Kernel timings, cold (weights streamed from DRAM) and hot: `swift run -c release kernel-bench`.
        .executableTarget(
            name: "kernel-bench",
            dependencies: ["SparrowRuntime", "CSparrowKernels"],
            path: "Benchmarks/KernelBench"
        ),
        // Dense selfie segmentation and the Skip-Conv sweep on a real video: `swift run -c release vision-bench`
        // (Scripts/bench-vision.sh runs it side by side with LiteRT).
        .executableTarget(
            name: "vision-bench",
            dependencies: ["SparrowRuntime", "SparrowVision"],
            path: "Benchmarks/VisionBench"
        ),
        // Stable Diffusion stage timings and peak memory: `swift run -c release diffusion-bench --model DIR`
        // (Scripts/bench-diffusion.sh runs it side by side with diffusers).
        .executableTarget(
            name: "diffusion-bench",
            dependencies: ["SparrowRuntime", "SparrowDiffusion"],
            path: "Benchmarks/DiffusionBench"
        ),
        .testTarget(
            name: "SparrowRuntimeTests", dependencies: ["SparrowRuntime", "CSparrowKernels"], path: "Tests/RuntimeTests",
            exclude: ["Fixtures"]),
        .testTarget(name: "SparrowLLMTests", dependencies: ["SparrowLLM", "SparrowRuntime"], path: "Tests/LLMTests", exclude: ["Fixtures"]),
        .testTarget(
            name: "SparrowVisionTests", dependencies: ["SparrowVision", "SparrowRuntime"], path: "Tests/VisionTests",
            exclude: ["Fixtures"]),
        .testTarget(
            name: "SparrowDiffusionTests", dependencies: ["SparrowDiffusion", "SparrowRuntime"], path: "Tests/DiffusionTests",
            exclude: ["Fixtures"]),
    ],
    swiftLanguageModes: [.v5],
    cLanguageStandard: .c11,
    cxxLanguageStandard: .cxx17
)
