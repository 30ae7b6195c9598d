#!/usr/bin/env python3
"""Writes Tests/DiffusionTests/Fixtures/torch-randn-golden.json: torch.randn outputs for TorchGenerator.

Each value is a float32 bit pattern (unsigned int), so the comparison is exact. For every seed:
fresh-generator torch.randn(n, generator=torch.Generator().manual_seed(seed)) for each size (n < 16
takes ATen's scalar double Box-Muller path with its cached second sample, n >= 16 the float
block-of-16 path with the tail recomputed), and one generator drawn from by successive calls. The
4*64*64 draw keeps only its first and last 64 values and float64 sums (sequential, in index order) of
the values and of their squares.

The float path depends on the CPU dispatch level torch picks: AVX2 and AVX512 run ATen's
avx_mathfun.h polynomials ("vectorized"), DEFAULT the C library's logf/cosf/sinf ("scalar"). The script
runs itself once per level (ATEN_CPU_CAPABILITY=avx2 / default, read by torch at start-up), checks
that AVX512 (when the CPU has it) equals AVX2, and stores both. Needs an x86-64 CPU with AVX2 and
glibc (the scalar goldens are glibc's libm).

Usage: python3 Scripts/make-torch-rng-goldens.py [--out PATH]   (needs torch==2.15.0)
"""
import argparse, os, platform, sys
import numpy as np
import torch

repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
parser = argparse.ArgumentParser()
parser.add_argument("--out", default=os.path.join(repo, "Tests/DiffusionTests/Fixtures/torch-randn-golden.json"))
parser.add_argument("--collect", action="store_true", help="internal: print this process's cases as JSON")
args = parser.parse_args()

SEEDS = [0, 1, 42, 2**32 + 5, 123456789]
SIZES = [1, 3, 15, 16, 17, 31, 100]
BIG = 4 * 64 * 64
SUCCESSIVE = [3, 1, 17, 2, 16, 5, 33, 1]

def bits(t):
    return t.numpy().view(np.uint32).tolist()

def collect():
    """This process's goldens (its dispatch level was fixed when torch started)."""
    cases = []
    for seed in SEEDS:
        for n in SIZES:
            g = torch.Generator().manual_seed(seed)
            cases.append({"seed": seed, "sizes": [n], "bits": bits(torch.randn(n, generator=g))})
        g = torch.Generator().manual_seed(seed)
        calls = [torch.randn(n, generator=g) for n in SUCCESSIVE]
        cases.append({"seed": seed, "sizes": SUCCESSIVE, "bits": bits(torch.cat(calls))})
        g = torch.Generator().manual_seed(seed)
        big = torch.randn(BIG, generator=g)
        total = squares = 0.0
        for v in big.numpy().astype(np.float64).tolist():
            total += v
            squares += v * v
        cases.append({"seed": seed, "count": BIG, "firstBits": bits(big[:64]), "lastBits": bits(big[-64:]),
                      "sum": total, "sumOfSquares": squares})
    return cases

import json, subprocess
if args.collect:
    json.dump({"capability": torch.backends.cpu.get_cpu_capability(), "cases": collect()}, sys.stdout)
    sys.exit(0)

def run(level):
    env = dict(os.environ, ATEN_CPU_CAPABILITY=level)
    out = subprocess.run([sys.executable, os.path.abspath(__file__), "--collect"], env=env, check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out)

vectorized, scalar = run("avx2"), run("default")
assert vectorized["capability"] == "AVX2" and scalar["capability"] == "DEFAULT", (vectorized["capability"], scalar["capability"])
native = run("avx512")
if native["capability"] == "AVX512":
    assert native["cases"] == vectorized["cases"], "AVX512 and AVX2 differ: TorchGenerator needs a third kernel"
golden = {
    "command": "python3 Scripts/make-torch-rng-goldens.py",
    "versions": {"python": sys.version.split()[0], "torch": torch.__version__, "numpy": np.__version__,
                 "libc": " ".join(platform.libc_ver())},
    "kernels": "vectorized = ATEN_CPU_CAPABILITY=avx2 (AVX512 checked equal: %s), scalar = ATEN_CPU_CAPABILITY=default"
               % ("yes" if native["capability"] == "AVX512" else "not available on this CPU"),
    "call": "torch.randn(n, generator=torch.Generator().manual_seed(seed)), float32 CPU; 'sizes' lists successive calls "
            "on one generator, 'bits' their concatenated float32 bit patterns",
    "vectorized": vectorized["cases"],
    "scalar": scalar["cases"],
}
with open(args.out, "w") as f:
    json.dump(golden, f, separators=(",", ":"))
    f.write("\n")
print(f"wrote {args.out} ({os.path.getsize(args.out)} bytes)", file=sys.stderr)
