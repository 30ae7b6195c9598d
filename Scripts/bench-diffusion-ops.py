#!/usr/bin/env python3
"""PyTorch CPU timings of the diffusion ops that `kernel-bench --diffusion` times in Sparrow.

Same shapes, same thread counts (torch.set_num_threads), median of --runs timed calls after one
warm-up call. Prints a Markdown table (milliseconds) and the torch version.

    python3 Scripts/bench-diffusion-ops.py [--threads 1,2] [--runs 7] [--only conv3×3]

Shapes (Stable Diffusion 1.5 at 512×512, latent 64×64):
  attention self   4096 queries × 4096 keys, 8 heads × D 40   F.scaled_dot_product_attention
  attention cross  4096 queries × 77 keys,   8 heads × D 40
  group norm       64×64×320, 32 groups (NCHW contiguous, and channels_last)
  linear           4096 × 320 → 1280 with bias                F.linear
  conv 3×3         64×64×320 → 320, 16×16×1280 → 1280 (UNet), 256×256×256 → 256 and
                   512×512×128 → 128 (VAE decoder), padding 1, channels_last   F.conv2d
"""
import argparse
import statistics
import time

import torch
import torch.nn.functional as F


def median_ms(fn, runs):
    fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--only", help="time just the ops whose name contains this (as kernel-bench --only)")
    args = parser.parse_args()
    torch.manual_seed(0)
    heads, d = 8, 40
    q = torch.randn(1, heads, 4096, d)
    k = torch.randn(1, heads, 4096, d)
    v = torch.randn(1, heads, 4096, d)
    kc = torch.randn(1, heads, 77, d)
    vc = torch.randn(1, heads, 77, d)
    x = torch.randn(1, 320, 64, 64)
    x_cl = x.contiguous(memory_format=torch.channels_last)
    gamma, beta = torch.randn(320), torch.randn(320)
    t = torch.randn(4096, 320)
    w, b = torch.randn(1280, 320), torch.randn(1280)
    cases = [
        ("attention self 4096×4096, 8×40", lambda: F.scaled_dot_product_attention(q, k, v)),
        ("attention cross 4096×77, 8×40", lambda: F.scaled_dot_product_attention(q, kc, vc)),
        ("groupNorm 64×64×320 /32 (NCHW)", lambda: F.group_norm(x, 32, gamma, beta, 1e-5)),
        ("groupNorm 64×64×320 /32 (channels_last)", lambda: F.group_norm(x_cl, 32, gamma, beta, 1e-5)),
        ("linear 4096×320→1280", lambda: F.linear(t, w, b)),
    ]
    for size, channels in [(64, 320), (16, 1280), (256, 256), (512, 128)]:
        xc = torch.randn(1, channels, size, size).contiguous(memory_format=torch.channels_last)
        wc = (torch.randn(channels, channels, 3, 3) * 0.02).contiguous(memory_format=torch.channels_last)
        bc = torch.randn(channels)
        cases.append((f"conv3×3 {size}×{size}×{channels}→{channels}",
                      lambda xc=xc, wc=wc, bc=bc: F.conv2d(xc, wc, bc, padding=1)))
    print(f"torch {torch.__version__}; median of {args.runs} runs (ms)")
    print("| op | threads | torch ms |")
    print("|---|---:|---:|")
    with torch.inference_mode():
        for threads in [int(s) for s in args.threads.split(",")]:
            torch.set_num_threads(threads)
            for name, fn in cases:
                if args.only and args.only not in name:
                    continue
                print(f"| {name} | {threads} | {median_ms(fn, args.runs):.2f} |", flush=True)


if __name__ == "__main__":
    main()
