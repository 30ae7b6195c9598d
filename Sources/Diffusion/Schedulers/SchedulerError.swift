/// Why a scheduler configuration or a scheduler call was refused.
public enum SchedulerError: Error, Equatable, CustomStringConvertible {
    /// A `scheduler_config.json` key holds a value of the wrong type or out of range.
    case invalidValue(key: String, file: String?, message: String)
    /// The configuration asks for a diffusers feature Sparrow does not implement.
    case unsupported(key: String, value: String, scheduler: String)
    /// `setTimesteps` was given a step count the scheduler cannot produce.
    case invalidStepCount(steps: Int, maximum: Int, reason: String)
    /// img2img strength outside (0, 1].
    case invalidStrength(Float)
    /// img2img strength so small that no denoising step is left.
    case noStepsLeft(steps: Int, strength: Float)

    public var description: String {
        switch self {
        case .invalidValue(let key, let file, let message):
            let place = file.map { "\($0): " } ?? ""
            return "\(place)scheduler configuration key '\(key)': \(message); fix the value or remove the key to use the default"
        case .unsupported(let key, let value, let scheduler):
            return "scheduler configuration '\(key)' = \(value) is not supported by the \(scheduler) scheduler; "
                + "remove the key or choose another scheduler"
        case .invalidStepCount(let steps, let maximum, let reason):
            return "cannot schedule \(steps) steps (\(reason)); use between 1 and \(maximum) steps"
        case .invalidStrength(let strength):
            return "img2img strength \(strength) is outside (0, 1]; use a strength above 0 and at most 1"
        case .noStepsLeft(let steps, let strength):
            return "img2img strength \(strength) leaves no denoising step out of \(steps); raise the strength or the step count"
        }
    }
}
