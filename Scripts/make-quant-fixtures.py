#!/usr/bin/env python3
"""Regenerates the dequantization fixtures of Tests/RuntimeTests/Fixtures/quants with gguf-py.

    pip install gguf==0.19.0
    python3 Scripts/make-quant-fixtures.py

For each of Q5_0, Q5_1, IQ4_NL, Q2_K, Q3_K, Q4_K, Q5_K and Q6_K it makes seeded random blocks (random
bytes, with the f16 scale fields replaced by finite values of both signs, a few of them subnormal, so
every output is finite) and dequantizes them with gguf-py's numpy reference (gguf.quants.dequantize).
Files written, all little-endian:

* <TYPE>.blocks: the raw blocks, as they sit in a GGUF tensor;
* <TYPE>.f32: the expected floats, one per element, in element order;
* README.md: the command, package versions and the file list with sizes and block counts.

Tests/RuntimeTests/QuantFixtureTests.swift requires Sparrow's dequantizers to reproduce every float
bit for bit.
"""

import importlib.metadata
import os
import platform
import sys

import numpy as np
from gguf import GGMLQuantizationType as T
from gguf import quants

SEED = 20261121
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "RuntimeTests", "Fixtures", "quants")

# type: (block count, byte offsets of the f16 fields inside one block) — offsets match ggml-common.h.
TYPES = {
    "Q5_0": (T.Q5_0, 96, [0]),
    "Q5_1": (T.Q5_1, 96, [0, 2]),
    "IQ4_NL": (T.IQ4_NL, 96, [0]),
    "Q2_K": (T.Q2_K, 12, [80, 82]),
    "Q3_K": (T.Q3_K, 12, [108]),
    "Q4_K": (T.Q4_K, 12, [0, 2]),
    "Q5_K": (T.Q5_K, 12, [0, 2]),
    "Q6_K": (T.Q6_K, 12, [208]),
}


def scales(rng: np.random.Generator, n: int) -> np.ndarray:
    """n finite f16 values: magnitudes 2^-16 … 2^2 (some subnormal), random signs, a few zeros."""
    v = (rng.uniform(0.5, 1.0, n) * np.exp2(rng.integers(-16, 3, n))).astype(np.float16)
    v = np.where(rng.random(n) < 0.5, -v, v)
    v[rng.random(n) < 0.03] = 0
    return v


def main() -> None:
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(SEED)
    lines = []
    for name, (qtype, blocks, f16_offsets) in TYPES.items():
        block_elems, block_bytes = quants.GGML_QUANT_SIZES[qtype]
        raw = rng.integers(0, 256, size=(blocks, block_bytes), dtype=np.uint8)
        for off in f16_offsets:
            raw[:, off:off + 2] = scales(rng, blocks).view(np.uint8).reshape(blocks, 2)
        values = quants.dequantize(raw.reshape(-1), qtype).astype("<f4").reshape(-1)
        assert values.size == blocks * block_elems and np.all(np.isfinite(values)), name
        raw.tofile(os.path.join(OUT, f"{name}.blocks"))
        values.tofile(os.path.join(OUT, f"{name}.f32"))
        lines.append(f"| {name} | {blocks} | {block_elems} | {block_bytes} | {raw.size} | {values.size * 4} |")

    versions = (f"gguf {importlib.metadata.version('gguf')}, numpy {np.__version__}, "
                f"Python {platform.python_version()}")
    readme = [
        "# Dequantization fixtures (generated — do not edit)",
        "",
        "Made by `python3 Scripts/make-quant-fixtures.py` "
        f"(seed {SEED}; {versions}). Random blocks with finite f16 scales, dequantized by gguf-py's",
        "numpy reference (`gguf.quants.dequantize`). `<TYPE>.blocks` holds the raw blocks, `<TYPE>.f32` the",
        "expected little-endian floats in element order. Tests/RuntimeTests/QuantFixtureTests.swift checks",
        "Sparrow's dequantizers against them bit for bit.",
        "",
        "| type | blocks | elements/block | bytes/block | .blocks bytes | .f32 bytes |",
        "|---|---:|---:|---:|---:|---:|",
        *lines,
        "",
    ]
    with open(os.path.join(OUT, "README.md"), "w") as f:
        f.write("\n".join(readme))
    print(f"wrote {len(TYPES)} fixtures to {os.path.normpath(OUT)} with {versions}", file=sys.stderr)


if __name__ == "__main__":
    main()
