/// The median of a sample (the mean of the two middle values for an even count; NaN when empty), as the
/// benchmarks and `sparrow bench` report timings.
public func median(_ xs: [Double]) -> Double {
    let s = xs.sorted()
    return s.isEmpty ? .nan : s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}
