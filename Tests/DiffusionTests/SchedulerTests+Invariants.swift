import Foundation
import SparrowDiffusion
import SparrowRuntime
import Testing

/// Scheduler invariants and configuration parsing (the diffusers goldens are in SchedulerTests.swift).
extension SchedulerTests {
    /// SD 1.5's scheduler_config.json (a PNDM config: no timestep_spacing, no prediction_type).
    static let stableDiffusion15JSON = """
        {"_class_name": "PNDMScheduler", "_diffusers_version": "0.6.0", "beta_end": 0.012,
         "beta_schedule": "scaled_linear", "beta_start": 0.00085, "num_train_timesteps": 1000,
         "set_alpha_to_one": false, "skip_prk_steps": true, "steps_offset": 1, "trained_betas": null,
         "clip_sample": false}
        """

    static func configuration(_ text: String) throws -> SchedulerConfiguration {
        let value = try JSONValue.parse(Array(text.utf8), file: "test.json")
        return try SchedulerConfiguration(json: Dictionary(uniqueKeysWithValues: (value.objectValue ?? []).map { ($0.key, $0.value) }))
    }

    static func sd15(_ spacing: TimestepSpacing) throws -> SchedulerConfiguration {
        var c = try configuration(stableDiffusion15JSON)
        c.timestepSpacing = spacing
        return c
    }

    @Test(arguments: SchedulerKind.allCases)
    func timestepsStrictlyDecreaseWithOneEntryPerStep(kind: SchedulerKind) throws {
        for spacing in TimestepSpacing.allCases {
            for steps in [1, 2, 3, 4, 5, 7, 8, 10, 25, 50, 61, 103] where kind != .lcm || steps <= 50 {
                var scheduler = makeScheduler(kind, configuration: try Self.sd15(spacing))
                try scheduler.setTimesteps(steps)
                let t = scheduler.modelTimesteps
                let c = Comment(rawValue: "\(kind.rawValue) \(spacing) \(steps) steps: \(scheduler.timesteps)")
                #expect(t.count == steps, c)
                #expect(scheduler.timesteps.count == steps, c)
                #expect(zip(t, t.dropFirst()).allSatisfy { $0 > $1 }, c)
                #expect(t.allSatisfy { $0 >= 0 && $0 <= 999 }, c)
            }
        }
    }

    @Test(arguments: SchedulerKind.allCases)
    func badStepCountsAreRefused(kind: SchedulerKind) throws {
        for steps in [0, -1, 1001] {
            var scheduler = makeScheduler(kind, configuration: try Self.sd15(.trailing))
            #expect(throws: SchedulerError.self) { try scheduler.setTimesteps(steps) }
        }
    }

    @Test func lcmRefusesMoreStepsThanItsDistillationSchedule() throws {
        var scheduler = makeScheduler(.lcm, configuration: try Self.sd15(.leading))
        #expect(throws: SchedulerError.self) { try scheduler.setTimesteps(51) }
        try scheduler.setTimesteps(50)
        #expect(scheduler.timesteps == Array(stride(from: 999, through: 19, by: -20)))
    }

    @Test(arguments: SchedulerKind.allCases)
    func strengthOutsideZeroToOneIsRefused(kind: SchedulerKind) throws {
        for strength: Float in [0, -0.25, 1.5, .nan, .infinity] {
            var scheduler = makeScheduler(kind, configuration: try Self.sd15(.trailing))
            #expect(throws: SchedulerError.self) {
                try scheduler.setTimesteps(4, strength: strength)
            }
        }
    }

    @Test(arguments: SchedulerKind.allCases)
    func fullStrengthKeepsTheWholeSchedule(kind: SchedulerKind) throws {
        var full = makeScheduler(kind, configuration: try Self.sd15(.trailing))
        var img2img = full
        try full.setTimesteps(4)
        try img2img.setTimesteps(4, strength: 1)
        #expect(full.modelTimesteps == img2img.modelTimesteps)
    }

    /// Python computes int(10 · 0.7) = 7; a float32 0.7 (0.699999988) would give 6.
    @Test(arguments: [SchedulerKind.eulerAncestral, .euler, .ddim])
    func strengthDropsLeadingStepsLikeDiffusers(kind: SchedulerKind) throws {
        var full = makeScheduler(kind, configuration: try Self.sd15(.trailing))
        var img2img = full
        try full.setTimesteps(10)
        try img2img.setTimesteps(10, strength: 0.7)
        #expect(img2img.modelTimesteps == Array(full.modelTimesteps.suffix(7)))
        // 4 · 0.1 = 0.4 leaves no step.
        #expect(throws: SchedulerError.noStepsLeft(steps: 4, strength: 0.1)) { try img2img.setTimesteps(4, strength: 0.1) }
    }

    @Test func eulerAddNoiseUsesTheSigmaOfTheFirstRemainingStep() throws {
        var scheduler = EulerScheduler(configuration: try Self.sd15(.trailing))
        try scheduler.setTimesteps(4, strength: 0.5)
        #expect(scheduler.timesteps == [499, 249])
        let noised = scheduler.addNoise(original: [1, 2], noise: [1, -1], timestepIndex: 0)
        let sigma = scheduler.sigmas[2]
        #expect(noised == [1 + sigma, 2 - sigma])
    }

    @Test func eulerInitialNoiseSigmaDependsOnSpacing() throws {
        for spacing in TimestepSpacing.allCases {
            var scheduler = EulerScheduler(configuration: try Self.sd15(spacing))
            try scheduler.setTimesteps(4)
            let largest = scheduler.sigmas.max()!
            let expected = spacing == .leading ? (largest * largest + 1).squareRoot() : largest
            #expect(scheduler.initialNoiseSigma == expected)
        }
    }

    @Test func deterministicSchedulersDrawNoNoise() throws {
        final class Counting: NoiseGenerator {
            var draws = 0
            func normal(count: Int) -> [Float] { draws += 1; return [Float](repeating: 0, count: count) }
        }
        for kind in [SchedulerKind.euler, .ddim] {
            let counter = Counting()
            var noise: any NoiseGenerator = counter
            var scheduler = makeScheduler(kind, configuration: try Self.sd15(.trailing))
            try scheduler.setTimesteps(3)
            var x: [Float] = [0.5, -0.25]
            for i in scheduler.timesteps.indices {
                x = scheduler.step(modelOutput: [0.1, 0.2], stepIndex: i, sample: x, noise: &noise).previousSample
            }
            #expect(counter.draws == 0)
        }
    }

    // MARK: configuration

    @Test func stableDiffusionConfigurationParsesWithSchedulerDefaultsForAbsentKeys() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("sparrow-scheduler-\(getpid())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("scheduler_config.json").path
        try Self.stableDiffusion15JSON.write(toFile: path, atomically: true, encoding: .utf8)
        let c = try SchedulerConfiguration(jsonFile: path)
        #expect(c.numTrainTimesteps == 1000 && c.betaStart == 0.00085 && c.betaEnd == 0.012)
        #expect(c.betaSchedule == .scaledLinear && c.stepsOffset == 1 && !c.setAlphaToOne && c.clipSample == false)
        #expect(c.predictionType == .epsilon && c.timestepSpacing == nil && c.trainedBetas == nil)
        // Absent timestep_spacing: Euler's default is linspace, DDIM's leading (diffusers from_config).
        var euler = EulerScheduler(configuration: c), ddim = DDIMScheduler(configuration: c)
        try euler.setTimesteps(4)
        try ddim.setTimesteps(4)
        #expect(euler.timesteps == [999, 666, 333, 0])
        #expect(ddim.timesteps == [751, 501, 251, 1])
    }

    @Test func wrongTypesNameTheKey() throws {
        let bad: [(String, String)] = [
            (#"{"num_train_timesteps": "1000"}"#, "num_train_timesteps"),
            (#"{"num_train_timesteps": 1000.5}"#, "num_train_timesteps"),
            (#"{"beta_start": true}"#, "beta_start"),
            (#"{"prediction_type": "noise"}"#, "prediction_type"),
            (#"{"timestep_spacing": "middle"}"#, "timestep_spacing"),
            (#"{"beta_schedule": 3}"#, "beta_schedule"),
            (#"{"trained_betas": [0.1, "x"]}"#, "trained_betas"),
            (#"{"trained_betas": [0.1, 0.2]}"#, "trained_betas"),
            (#"{"set_alpha_to_one": 1}"#, "set_alpha_to_one"),
            (#"{"steps_offset": -1}"#, "steps_offset"),
        ]
        for (text, key) in bad {
            do {
                _ = try Self.configuration(text)
                Issue.record("accepted \(text)")
            } catch let error as SchedulerError {
                guard case .invalidValue(let named, _, _) = error else { Issue.record("\(error)"); continue }
                #expect(named == key, Comment(rawValue: text))
                #expect(error.description.contains(key))
            }
        }
    }

    @Test func unknownKeysAreIgnoredAndNullMeansAbsent() throws {
        let c = try Self.configuration(#"{"_class_name": "X", "skip_prk_steps": true, "foo": {"bar": [1]}, "timestep_spacing": null}"#)
        #expect(c == SchedulerConfiguration())
        let v = try Self.configuration(#"{"prediction_type": "v_prediction", "timestep_spacing": "trailing"}"#)
        #expect(v.predictionType == .vPrediction && v.timestepSpacing == .trailing)
    }

    @Test func unsupportedOptionsAreRefusedBySetTimesteps() throws {
        var thresholding = SchedulerConfiguration()
        thresholding.thresholding = true
        for kind in SchedulerKind.allCases {
            var scheduler = makeScheduler(kind, configuration: thresholding)
            #expect(throws: SchedulerError.self) { try scheduler.setTimesteps(4) }
        }
        var karras = SchedulerConfiguration()
        karras.useKarrasSigmas = true
        var euler = EulerScheduler(configuration: karras)
        #expect(throws: SchedulerError.unsupported(key: "use_karras_sigmas", value: "true", scheduler: "euler")) { try euler.setTimesteps(4) }
        var sample = SchedulerConfiguration()
        sample.predictionType = .sample
        var ancestral = EulerAncestralScheduler(configuration: sample)
        #expect(throws: SchedulerError.self) { try ancestral.setTimesteps(4) }
    }
}
