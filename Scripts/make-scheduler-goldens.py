#!/usr/bin/env python3
"""Scheduler goldens for Tests/DiffusionTests/SchedulerTests*.swift, computed with pinned diffusers.

    pip install torch==2.15.0 diffusers==0.42.1
    python3 Scripts/make-scheduler-goldens.py [Tests/DiffusionTests/Fixtures/scheduler-goldens.json]

For every scheduler (LCM, Euler ancestral, Euler, DDIM) x prediction type x timestep spacing x step
count it records the timesteps, sigmas, init_noise_sigma and a short synthetic trajectory run the way
diffusers' StableDiffusionPipeline / StableDiffusionImg2ImgPipeline / LatentConsistencyModel*Pipeline
drive a scheduler: scale_model_input -> "model" -> step. The model output is recorded per step (the
Swift test replays it), and so is every noise tensor a scheduler draws: each scheduler module's
`randn_tensor` (imported from diffusers.utils.torch_utils) is replaced by a wrapper that calls the real
function and appends its result to a list. img2img cases also record add_noise (the starting latents).

Float arrays are stored as base64 of little-endian float32 to keep the file small; shapes are NCHW
[1, 2, 4, 4] (schedulers are element-wise, so the Swift side treats them as flat arrays).
"""
import base64
import json
import sys

import diffusers
import numpy as np
import torch
from diffusers import DDIMScheduler, EulerAncestralDiscreteScheduler, EulerDiscreteScheduler, LCMScheduler
from diffusers.schedulers import (
    scheduling_ddim,
    scheduling_euler_ancestral_discrete,
    scheduling_euler_discrete,
    scheduling_lcm,
)

SHAPE = (1, 2, 4, 4)
CLASSES = {
    "lcm": LCMScheduler,
    "euler-a": EulerAncestralDiscreteScheduler,
    "euler": EulerDiscreteScheduler,
    "ddim": DDIMScheduler,
}

# Records every noise tensor the schedulers draw.
drawn = []


def recording(original):
    def randn_tensor(*args, **kwargs):
        out = original(*args, **kwargs)
        drawn.append(out.detach().clone())
        return out

    return randn_tensor


for module in (scheduling_ddim, scheduling_euler_ancestral_discrete, scheduling_euler_discrete, scheduling_lcm):
    module.randn_tensor = recording(module.randn_tensor)


def b64(t):
    a = np.ascontiguousarray(t.detach().to(torch.float32).numpy().reshape(-1)).astype("<f4")
    return base64.b64encode(a.tobytes()).decode("ascii")


def sd15(prediction="epsilon", spacing="leading", **extra):
    """SD 1.5-like scheduler_config.json values (scaled_linear 0.00085..0.012, steps_offset 1)."""
    c = {
        "num_train_timesteps": 1000,
        "beta_start": 0.00085,
        "beta_end": 0.012,
        "beta_schedule": "scaled_linear",
        "trained_betas": None,
        "steps_offset": 1,
        "set_alpha_to_one": False,
        "clip_sample": False,
        "prediction_type": prediction,
        "timestep_spacing": spacing,
        "_class_name": "PNDMScheduler",  # unknown keys are ignored by the Swift parser
        "skip_prk_steps": True,
    }
    c.update(extra)
    return c


def model(x, t):
    """A fixed "model": any deterministic function works because its output is recorded."""
    return torch.tanh(x) * 0.7 + 0.3 * torch.cos(x * 0.5 + float(t) / 250.0)


def make(kind, config):
    # from_config is how diffusers loads scheduler_config.json: unknown keys are ignored, missing keys
    # take the class's defaults.
    return CLASSES[kind].from_config(config)


def run_case(kind, config, steps, strength=None, seed=1234, truncate=False):
    scheduler = make(kind, config)
    g0 = torch.Generator().manual_seed(0)
    base = torch.randn(SHAPE, generator=g0)
    original = torch.randn(SHAPE, generator=g0) * 0.5  # "image latents" for img2img
    add_noise_noise = torch.randn(SHAPE, generator=g0)
    case = {"scheduler": kind, "config": config, "steps": steps, "strength": strength}
    if truncate:
        case["strengthMode"] = "get_timesteps"  # LCM driven by StableDiffusionImg2ImgPipeline
    if strength is None:
        scheduler.set_timesteps(steps)
        timesteps = scheduler.timesteps
        latents = base * scheduler.init_noise_sigma
    else:
        if kind == "lcm" and not truncate:
            # LatentConsistencyModelImg2ImgPipeline: the scheduler's own `strength` argument.
            scheduler.set_timesteps(steps, strength=strength)
            timesteps = scheduler.timesteps
        else:
            # StableDiffusionImg2ImgPipeline.get_timesteps.
            scheduler.set_timesteps(steps)
            init_timestep = min(int(steps * strength), steps)
            t_start = max(steps - init_timestep, 0)
            timesteps = scheduler.timesteps[t_start * scheduler.order:]
            if hasattr(scheduler, "set_begin_index"):  # DDIM has none (it indexes by timestep value)
                scheduler.set_begin_index(t_start * scheduler.order)
        latents = scheduler.add_noise(original, add_noise_noise, timesteps[:1])
        case["addNoise"] = {"original": b64(original), "noise": b64(add_noise_noise), "result": b64(latents)}
    case["timesteps"] = [float(t) for t in timesteps]
    if hasattr(scheduler, "sigmas"):
        case["sigmas"] = [float(s) for s in scheduler.sigmas]
    case["initNoiseSigma"] = float(scheduler.init_noise_sigma)
    case["start"] = b64(latents)
    generator = torch.Generator().manual_seed(seed)
    trajectory = []
    for t in timesteps:
        scaled = scheduler.scale_model_input(latents, t)
        output = model(scaled, t)
        drawn.clear()
        result = scheduler.step(output, t, latents, generator=generator)
        denoised = result.denoised if kind == "lcm" else result.pred_original_sample
        step = {"scaled": b64(scaled), "modelOutput": b64(output), "previous": b64(result.prev_sample),
                "denoised": b64(denoised)}
        if drawn:
            step["noise"] = b64(torch.cat([d.reshape(-1) for d in drawn]))
        trajectory.append(step)
        latents = result.prev_sample
    case["trajectory"] = trajectory
    return case


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "Tests/DiffusionTests/Fixtures/scheduler-goldens.json"
    cases = []
    for kind in ("euler-a", "euler", "ddim"):
        for prediction in ("epsilon", "v_prediction"):
            for spacing in ("leading", "trailing", "linspace"):
                for steps in (1, 2, 4):
                    cases.append(run_case(kind, sd15(prediction, spacing), steps))
    for prediction in ("epsilon", "v_prediction"):
        for steps in (1, 2, 4, 8):
            cases.append(run_case("lcm", sd15(prediction, "leading", original_inference_steps=50,
                                              timestep_scaling=10.0), steps))
    # LCM ignores timestep_spacing; one trailing case shows it.
    cases.append(run_case("lcm", sd15("epsilon", "trailing", original_inference_steps=50), 4))
    # `sample` prediction where the scheduler supports it.
    for kind in ("lcm", "euler", "ddim"):
        cases.append(run_case(kind, sd15("sample", "trailing"), 4))
    # diffusers' own DDIM defaults (linear betas, clip_sample, set_alpha_to_one) and other beta schedules.
    cases.append(run_case("ddim", {"num_train_timesteps": 1000, "beta_start": 0.0001, "beta_end": 0.02,
                                   "beta_schedule": "linear", "clip_sample": True, "set_alpha_to_one": True,
                                   "steps_offset": 0, "prediction_type": "epsilon", "timestep_spacing": "leading"}, 4))
    cases.append(run_case("euler-a", sd15("v_prediction", "trailing", beta_schedule="squaredcos_cap_v2"), 4))
    cases.append(run_case("euler", sd15("epsilon", "linspace", beta_schedule="linear", beta_start=0.0001,
                                        beta_end=0.02), 3))  # fractional timesteps (499.5)
    # img2img.
    for kind in ("lcm", "euler-a", "euler", "ddim"):
        for strength in (0.5, 0.75):
            for steps in ((4, 8) if kind == "lcm" else (2, 4)):
                spacing = "trailing" if kind.startswith("euler") else "leading"
                cases.append(run_case(kind, sd15("epsilon", spacing), steps, strength=strength))

    # SD + LCM-LoRA img2img: StableDiffusionImg2ImgPipeline.get_timesteps on an LCMScheduler.
    for strength in (0.5, 0.75):
        cases.append(run_case("lcm", sd15("epsilon", "leading"), 4, strength=strength, truncate=True))

    schedules = {}
    for name, config in (("scaled_linear", sd15()), ("linear", sd15(beta_schedule="linear", beta_start=0.0001,
                                                                        beta_end=0.02)),
                         ("squaredcos_cap_v2", sd15(beta_schedule="squaredcos_cap_v2"))):
        s = make("ddim", config)
        schedules[name] = {"config": config, "alphasCumprod": b64(s.alphas_cumprod)}

    golden = {
        "command": "python3 Scripts/make-scheduler-goldens.py " + out,
        "versions": {"diffusers": diffusers.__version__, "torch": torch.__version__, "numpy": np.__version__,
                     "python": sys.version.split()[0]},
        "shape": list(SHAPE),
        "encoding": "float arrays are base64 of little-endian float32, NCHW",
        "noiseSchedules": schedules,
        "cases": cases,
    }
    with open(out, "w") as f:
        json.dump(golden, f, indent=0, sort_keys=False)
        f.write("\n")
    print(f"wrote {len(cases)} cases to {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
