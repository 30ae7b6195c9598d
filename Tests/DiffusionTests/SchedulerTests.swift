import SparrowDiffusion
import SparrowRuntime
import Testing

/// Every scheduler against diffusers 0.42.1 (Fixtures/scheduler-goldens.json): schedules, σ, init-noise σ,
/// add_noise and whole trajectories with the recorded model outputs and noise.
@Suite struct SchedulerTests {
    static let goldens: Result<SchedulerGoldens, Error> = Result { try SchedulerGoldens.load() }

    static func cases(_ kind: SchedulerKind) throws -> [SchedulerGoldens.Case] {
        try goldens.get().cases.filter { $0.kind == kind }
    }

    @Test(arguments: SchedulerKind.allCases)
    func trajectoriesMatchDiffusers(kind: SchedulerKind) throws {
        let cases = try Self.cases(kind)
        #expect(cases.count >= 8, "too few \(kind.rawValue) goldens")
        var worst: Float = 0
        var worstCase = ""
        for golden in cases { let e = try check(golden); if e > worst { worst = e; worstCase = golden.description } }
        #expect(worst <= SchedulerTolerance.float32Reordered, Comment(rawValue: "worst case: \(worstCase)"))
    }

    /// Runs one golden case the way diffusers' pipelines drive a scheduler and compares every recorded value;
    /// returns the largest relative error seen.
    func check(_ golden: SchedulerGoldens.Case) throws -> Float {
        var worst: Float = 0
        let configuration = try SchedulerConfiguration(json: golden.configuration)
        var scheduler = makeScheduler(golden.kind, configuration: configuration)
        if let strength = golden.strength, golden.truncatesForStrength {
            var lcm = LCMScheduler(configuration: configuration)
            try lcm.setTimesteps(golden.steps, truncatingWithStrength: strength)
            scheduler = lcm
        } else if let strength = golden.strength {
            try scheduler.setTimesteps(golden.steps, strength: strength)
        } else {
            try scheduler.setTimesteps(golden.steps)
        }
        let c = Comment(rawValue: golden.description)
        #expect(scheduler.modelTimesteps == golden.timesteps, c)
        #expect(scheduler.timesteps.count == golden.timesteps.count, c)
        if let sigmas = golden.sigmas {
            let ours = (scheduler as? EulerScheduler)?.sigmas ?? (scheduler as? EulerAncestralScheduler)?.sigmas
            #expect(relativeError(ours ?? [], sigmas) <= SchedulerTolerance.float32Reordered, c)
        }
        #expect(relativeError([scheduler.initialNoiseSigma], [golden.initialNoiseSigma]) <= SchedulerTolerance.float32Reordered, c)

        var sample = golden.start
        if let addNoise = golden.addNoise {
            let noised = scheduler.addNoise(original: addNoise.original, noise: addNoise.noise, timestepIndex: 0)
            #expect(relativeError(noised, addNoise.result) <= SchedulerTolerance.float32Reordered, c)
            sample = noised
        }
        let replay = ReplayNoise(golden.trajectory.compactMap(\.noise))
        var noise: any NoiseGenerator = replay
        #expect(golden.trajectory.count == scheduler.timesteps.count, c)
        for (i, step) in golden.trajectory.enumerated() where i < scheduler.timesteps.count {
            let stepComment = Comment(rawValue: "\(golden) step \(i)")
            let drawsBefore = replay.draws
            let scaled = scheduler.scaleModelInput(sample, stepIndex: i)
            let result = scheduler.step(modelOutput: step.modelOutput, stepIndex: i, sample: sample, noise: &noise)
            #expect(replay.draws - drawsBefore == (step.noise == nil ? 0 : 1), stepComment)
            let errors = [relativeError(scaled, step.scaled), relativeError(result.denoised, step.denoised),
                          relativeError(result.previousSample, step.previous)]
            #expect(errors.allSatisfy { $0 <= SchedulerTolerance.float32Reordered }, stepComment)
            worst = max(worst, errors.max()!)
            sample = result.previousSample
        }
        #expect(replay.mismatchedCounts.isEmpty, c)
        return worst
    }

    @Test func alphasCumprodMatchTorchBitForBit() throws {
        let schedules = try Self.goldens.get().noiseSchedules
        #expect(schedules.count == 3)
        for schedule in schedules {
            let configuration = try SchedulerConfiguration(json: schedule.configuration)
            let ours = NoiseSchedule(configuration: configuration, kind: .ddim).alphasCumprod
            #expect(ours == schedule.alphasCumprod, Comment(rawValue: schedule.name))
        }
    }

    /// The first and last few scaled_linear (SD) values, written out so a reader can see the scale.
    @Test func stableDiffusionScheduleEndsWhereDiffusersDoes() throws {
        var configuration = SchedulerConfiguration()
        configuration.betaSchedule = .scaledLinear
        configuration.betaStart = 0.00085
        configuration.betaEnd = 0.012
        let schedule = NoiseSchedule(configuration: configuration, kind: .ddim)
        #expect(abs(schedule.betas.first! - 0.00085) <= 1e-9)
        #expect(abs(schedule.betas.last! - 0.012) <= 1e-9)
        // diffusers: alphas_cumprod[999] = 0.0046... (σ_max ≈ 14.6146 in the goldens' Euler schedules).
        let sigmaMax = schedule.sigmas.last!
        #expect(abs(sigmaMax - 14.6146) < 1e-3)
    }
}
