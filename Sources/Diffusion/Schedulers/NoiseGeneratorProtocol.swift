/// A source of standard normal float32 values; successive calls continue one stream.
/// (Declared here until the diff-tokenizer branch, which owns Sources/Diffusion/Random/NoiseGenerator.swift, merges.)
public protocol NoiseGenerator { mutating func normal(count: Int) -> [Float] }
