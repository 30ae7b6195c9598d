#!/usr/bin/env python3
"""diffusers' side of the Stable Diffusion benchmark: the same stages, inputs, repetition rules and JSON
report as Benchmarks/DiffusionBench (`diffusion-bench`), on PyTorch CPU in float32.

Usage (from the repository root; needs Scripts/requirements-dev.txt):
    python3 Scripts/bench-diffusion.py --model DIR [--stages text,unet1,unet2,decode,run] [--threads 2]
        [--reps 3] [--slow-reps 1] [--warmup 1] [--prompt TEXT] [--steps 4] [--json]

The fp16 folder (Scripts/make-sd15-random.py) is loaded with torch_dtype=torch.float32, so weights are
fp16-rounded but all compute is fp32; torch.set_num_threads(threads) and torch.inference_mode() are
used throughout. Stages at 512×512 (64×64 latents): text = tokenizer + CLIPTextModel on one prompt;
unet1/unet2 = one UNet call with batch 1/2; decode = VAE decode of one latent; run = the whole pipeline
call (EulerAncestralDiscreteScheduler from the folder's scheduler config, `steps` steps, guidance 7.5,
output_type="np"). Peak memory is VmHWM from /proc/self/status.
"""

import argparse
import json
import statistics
import sys
import time

import torch
import diffusers
from diffusers import EulerAncestralDiscreteScheduler, StableDiffusionPipeline

STAGES = ["text", "unet1", "unet2", "decode", "run"]


def peak_mib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def measure(stage, args, body):
    for _ in range(args.warmup):
        body()
    seconds = []
    while len(seconds) < args.reps:
        start = time.perf_counter()
        body()
        seconds.append(time.perf_counter() - start)
        if seconds[0] > 10 and len(seconds) >= args.slow_reps:
            break
    return {"stage": stage, "seconds": seconds, "median": statistics.median(seconds), "min": min(seconds),
            "max": max(seconds), "peakMiB": peak_mib()}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", required=True)
    p.add_argument("--stages", default=",".join(STAGES))
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--slow-reps", type=int, default=1)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--prompt", default="a photograph of an astronaut riding a horse")
    p.add_argument("--steps", type=int, default=4)
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    stages = args.stages.split(",")
    for s in stages:
        if s not in STAGES:
            sys.exit(f"unknown stage {s}; stages are {', '.join(STAGES)}")

    torch.set_num_threads(args.threads)
    torch.set_grad_enabled(False)
    start = time.perf_counter()
    pipe = StableDiffusionPipeline.from_pretrained(args.model, torch_dtype=torch.float32, variant="fp16",
                                                   safety_checker=None, requires_safety_checker=False)
    pipe.scheduler = EulerAncestralDiscreteScheduler.from_config(pipe.scheduler.config)
    pipe.set_progress_bar_config(disable=True)
    load_seconds = time.perf_counter() - start
    load_peak = peak_mib()

    # Fixed pseudo-random inputs (the values do not change the work done).
    latents = torch.rand(1, 4, 64, 64, generator=torch.Generator().manual_seed(0)) * 2 - 1

    def encode():
        ids = pipe.tokenizer(args.prompt, padding="max_length", max_length=77, truncation=True,
                             return_tensors="pt").input_ids
        return pipe.text_encoder(ids)[0]

    results = []
    with torch.inference_mode():
        text = encode()
        for stage in stages:
            if stage == "text":
                r = measure(stage, args, encode)
            elif stage in ("unet1", "unet2"):
                b = 1 if stage == "unet1" else 2
                sample, texts = latents.repeat(b, 1, 1, 1), text.repeat(b, 1, 1)
                t = torch.tensor(999)
                r = measure(stage, args, lambda: pipe.unet(sample, t, encoder_hidden_states=texts).sample)
            elif stage == "decode":
                r = measure(stage, args, lambda: pipe.vae.decode(latents).sample)
            else:
                r = measure(stage, args, lambda: pipe(
                    args.prompt, num_inference_steps=args.steps, guidance_scale=7.5, height=512, width=512,
                    generator=torch.Generator().manual_seed(0), output_type="np"))
            results.append(r)
            if not args.json:
                print(f"{stage:7} median {r['median']:8.3f} s  (min {r['min']:.3f}, max {r['max']:.3f}, "
                      f"n={len(r['seconds'])})  peak RSS {r['peakMiB']:.0f} MiB", flush=True)
    report = {"implementation": "diffusers", "threads": args.threads, "loadSeconds": load_seconds,
              "loadPeakMiB": load_peak, "peakMiB": peak_mib(), "stages": results,
              "versions": {"torch": torch.__version__, "diffusers": diffusers.__version__}}
    if args.json:
        print(json.dumps(report, sort_keys=True))
    else:
        print(f"load {load_seconds:.2f} s, peak RSS after load {load_peak:.0f} MiB, at exit {peak_mib():.0f} MiB, "
              f"{args.threads} thread(s)")


if __name__ == "__main__":
    main()
