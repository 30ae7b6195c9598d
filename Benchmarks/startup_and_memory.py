#!/usr/bin/env python3
"""Time to first token (cold process, model file in page cache) and peak resident memory.

    Benchmarks/startup_and_memory.py [--sparrow PATH] [--model ID|PATH] [--runs 15] [--gen-tokens 2000]

Time to first token: wall time of `sparrow generate --prompt "Hi" --max-tokens 1` (process start,
load, prompt, first token), median and min-max over --runs runs after one warm-up run.
Peak memory: maximum resident set size (GNU time's %M) of a greedy generation of --gen-tokens tokens
with --context 4096, compared with the issue's bound: model file + KV cache + 64 MiB.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sparrow", default=os.path.join(REPO, ".build", "release", "sparrow"))
    ap.add_argument("--model", default="smollm2-135m-instruct")
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--gen-tokens", type=int, default=2000)
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args()
    base = [args.sparrow, "generate", "--model", args.model, "--temperature", "0"]
    if args.threads:
        base += ["--threads", str(args.threads)]

    times = []
    for i in range(args.runs + 1):
        start = time.perf_counter()
        subprocess.run(base + ["--prompt", "Hi", "--max-tokens", "1"], check=True, capture_output=True)
        if i > 0:  # the first run pages the model in
            times.append((time.perf_counter() - start) * 1000)
    print(f"time to first token (cold process): median {statistics.median(times):.0f} ms, "
          f"min {min(times):.0f}, max {max(times):.0f} ({args.runs} runs)")

    out = subprocess.run(
        ["/usr/bin/time", "-f", "%M"] + base + ["--prompt", "Once upon a time", "--max-tokens", str(args.gen_tokens),
                                                 "--context", "4096", "--json"],
        check=True, capture_output=True, text=True)
    result = json.loads(out.stdout)
    peak = int(out.stderr.strip().splitlines()[-1]) * 1024
    bound = result["model_file_bytes"] + result["kv_cache_bytes"] + 64 * 2**20
    print(f"peak RSS generating {result['generated_tokens']} tokens (context {result['context']}): "
          f"{peak / 2**20:.1f} MiB; bound = file {result['model_file_bytes'] / 2**20:.1f} MiB + KV "
          f"{result['kv_cache_bytes'] / 2**20:.1f} MiB + 64 MiB = {bound / 2**20:.1f} MiB -> "
          f"{'within' if peak <= bound else 'OVER'} ({peak / bound * 100:.0f}%)")


if __name__ == "__main__":
    sys.exit(main())
