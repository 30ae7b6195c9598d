/// The inference timestep lists diffusers' schedulers produce, computed with numpy's float64 arithmetic.
enum InferenceTimesteps {
    /// Checks 1 ≤ steps ≤ numTrainTimesteps.
    static func checkStepCount(_ steps: Int, trainSteps: Int) throws {
        guard steps >= 1 else { throw SchedulerError.invalidStepCount(steps: steps, maximum: trainSteps, reason: "at least one step is needed") }
        guard steps <= trainSteps else {
            throw SchedulerError.invalidStepCount(steps: steps, maximum: trainSteps, reason: "the model was trained with \(trainSteps) timesteps")
        }
    }

    /// Descending timesteps for `spacing` (matches diffusers DDIMScheduler / EulerDiscreteScheduler `set_timesteps`).
    ///
    /// Values are exact numpy float64 results before the final cast: integers for `leading` and `trailing`,
    /// and for `linspace` the unrounded `np.linspace(0, T − 1, steps)` (DDIM rounds them, Euler keeps them).
    /// One deliberate difference: numpy's `arange(T, 0, −T/steps)` for `trailing` yields steps + 1 values
    /// for some counts (61, 103, 121, … with T = 1000), giving diffusers a timestep of −1; Sparrow keeps
    /// exactly `steps` values.
    static func values(_ spacing: TimestepSpacing, steps n: Int, trainSteps t: Int, offset: Int) -> [Double] {
        switch spacing {
        case .leading:
            let ratio = t / n
            return (0..<n).map { Double((n - 1 - $0) * ratio + offset) }
        case .trailing:
            // np.arange fills start + i·delta with delta = (start + step) − start.
            let start = Double(t), step = -Double(t) / Double(n)
            let delta = (start + step) - start
            return (0..<n).map { i in (start + Double(i) * delta).rounded(.toNearestOrEven) - 1 }
        case .linspace:
            return Array(numpyLinspace(0, Double(t - 1), count: n, endpoint: true).reversed())
        }
    }

    /// `np.linspace(start, stop, count, endpoint=…)` in float64.
    static func numpyLinspace(_ start: Double, _ stop: Double, count: Int, endpoint: Bool) -> [Double] {
        guard count > 0 else { return [] }
        let divisions = endpoint ? count - 1 : count
        guard divisions > 0 else { return [start] }
        let step = (stop - start) / Double(divisions)
        var y = (0..<count).map { Double($0) * step + start }
        if endpoint { y[count - 1] = stop }
        return y
    }

    /// LCM's schedule: `count` timesteps taken evenly (by index) from the distillation schedule
    /// k·i − 1, i = 1…⌊originalSteps·strength⌋, k = T / originalSteps (matches diffusers LCMScheduler `set_timesteps`).
    static func lcm(steps n: Int, originalSteps: Int, trainSteps t: Int, strength: Double) throws -> [Int] {
        let k = t / originalSteps
        let originCount = Int(Double(originalSteps) * strength)
        guard originCount / n >= 1 else {
            throw SchedulerError.invalidStepCount(
                steps: n, maximum: max(originCount, 1),
                reason: "LCM takes its steps from \(originalSteps) × strength \(strength) = \(originCount) distillation timesteps")
        }
        let origin = (1...originCount).reversed().map { $0 * k - 1 }
        return numpyLinspace(0, Double(originCount), count: n, endpoint: false).map { origin[Int($0.rounded(.down))] }
    }

    /// The number of leading steps img2img skips (matches diffusers StableDiffusionImg2ImgPipeline `get_timesteps`:
    /// init_timestep = min(int(steps·strength), steps); t_start = max(steps − init_timestep, 0)).
    static func imageToImageStart(steps: Int, strength: Float) throws -> Int {
        let s = try pythonStrength(strength)
        let initTimestep = min(Int(Double(steps) * s), steps)
        guard initTimestep > 0 else { throw SchedulerError.noStepsLeft(steps: steps, strength: strength) }
        return max(steps - initTimestep, 0)
    }

    /// The float64 a Python caller would have typed for `strength`: the shortest decimal that round-trips the
    /// float32 (0.7 → 0.7, not 0.699999988), so int(steps·strength) agrees with diffusers for typed values.
    static func pythonStrength(_ strength: Float) throws -> Double {
        guard strength.isFinite, strength > 0, strength <= 1 else { throw SchedulerError.invalidStrength(strength) }
        return Double(strength.description) ?? Double(strength)
    }
}
