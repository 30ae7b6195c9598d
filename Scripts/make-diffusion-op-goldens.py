#!/usr/bin/env python3
"""Goldens for Sparrow's diffusion ops from PyTorch (CPU, float32), small random inputs.

    python3 Scripts/make-diffusion-op-goldens.py > Tests/RuntimeTests/Fixtures/diffusion-op-goldens.json

Records the command and the torch version in the file. Layouts are PyTorch's: group norm input and
output are NCHW [1, C, H, W] (the Swift test transposes to NHWC); attention tensors are
[1, heads, L, D] (the test interleaves heads into [L, heads·D] rows); everything else is row-major.
Cases: group_norm (32 groups of 64 channels, eps 1e-6, with and without a following SiLU),
layer_norm over the last dim, F.scaled_dot_product_attention (cross-shaped 9×21, and causal 13×13),
F.gelu (exact), quick GELU x·sigmoid(1.702x), F.silu, GEGLU (hidden · gelu(gate) of a [T, 2I]
projection, as diffusers' GEGLU), F.linear, F.interpolate(nearest, ×2).
"""
import json
import sys

import torch
import torch.nn.functional as F


def flat(t):
    return [float(f"{v:.9g}") for v in t.detach().reshape(-1).tolist()]


def main():
    g = torch.Generator().manual_seed(20261122)

    def randn(*shape, scale=1.0):
        return torch.randn(*shape, generator=g) * scale

    cases = {}
    # Group norm: 64 channels in 32 groups over a 4×5 map, with a per-channel offset.
    x = randn(1, 64, 4, 5) + randn(1, 64, 1, 1, scale=3.0)
    gamma, beta = randn(64), randn(64)
    y = F.group_norm(x, 32, gamma, beta, eps=1e-6)
    cases["group_norm"] = {"shape_nchw": [1, 64, 4, 5], "groups": 32, "epsilon": 1e-6, "x": flat(x), "gamma": flat(gamma),
                           "beta": flat(beta), "y": flat(y), "y_silu": flat(F.silu(y))}
    # Layer norm over 80 channels of 9 tokens.
    x = randn(9, 80) * 2 + 0.5
    gamma, beta = randn(80), randn(80)
    cases["layer_norm"] = {"tokens": 9, "channels": 80, "epsilon": 1e-5, "x": flat(x), "gamma": flat(gamma), "beta": flat(beta),
                           "y": flat(F.layer_norm(x, (80,), gamma, beta, eps=1e-5))}
    # Attention: [1, heads, L, D].
    att = []
    for queries, keys, heads, d, causal in [(9, 21, 2, 40, False), (13, 13, 3, 16, True)]:
        q, k, v = randn(1, heads, queries, d, scale=2.0), randn(1, heads, keys, d, scale=2.0), randn(1, heads, keys, d)
        out = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
        att.append({"queries": queries, "keys": keys, "heads": heads, "head_dimension": d, "causal": causal,
                    "scale": 1.0 / d ** 0.5, "q": flat(q), "k": flat(k), "v": flat(v), "out": flat(out)})
    cases["attention"] = att
    # Activations on a spread of values including the tails.
    x = torch.cat([torch.linspace(-12, 12, 97), randn(64, scale=3.0)])
    cases["activations"] = {"x": flat(x), "gelu": flat(F.gelu(x)), "quick_gelu": flat(x * torch.sigmoid(1.702 * x)),
                            "silu": flat(F.silu(x))}
    proj = randn(3, 2 * 24, scale=2.0)
    hidden, gate = proj.chunk(2, dim=-1)
    cases["geglu"] = {"tokens": 3, "inner": 24, "projected": flat(proj), "out": flat(hidden * F.gelu(gate))}
    x, w, b = randn(5, 24), randn(10, 24), randn(10)
    cases["linear"] = {"tokens": 5, "in": 24, "out": 10, "x": flat(x), "weight": flat(w), "bias": flat(b), "y": flat(F.linear(x, w, b))}
    x = randn(1, 3, 2, 3)
    cases["upsample_nearest_2x"] = {"shape_nchw": [1, 3, 2, 3], "x": flat(x),
                                    "y": flat(F.interpolate(x, scale_factor=2.0, mode="nearest"))}
    golden = {"command": "python3 Scripts/make-diffusion-op-goldens.py > Tests/RuntimeTests/Fixtures/diffusion-op-goldens.json",
              "torch": torch.__version__, "cases": cases}
    json.dump(golden, sys.stdout, separators=(",", ":"))
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
