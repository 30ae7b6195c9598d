#!/usr/bin/env python3
"""Sparrow vs llama.cpp, side by side: prompt processing (pp) and token generation (tg) speed.

Runs `sparrow bench` and llama.cpp's `llama-bench` alternately, one repetition at a time, on the same
model, thread counts and lengths, so that both see the same machine noise; then prints medians,
spreads (min-max) and the ratios Sparrow / llama.cpp.

    Benchmarks/compare_llama_bench.py --llama-bench PATH [--model FILE] [--threads 1,2]
        [--prompt-tokens 512] [--gen-tokens 128] [--repetitions 5] [--sparrow PATH] [--json]

llama-bench is not part of this repository: build it yourself from llama.cpp (see the README's
"Performance" section for the version used) and pass its path.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def default_model():
    """The default model's path in the model store (same rules as ModelStore.directory)."""
    base = os.environ.get("SPARROW_MODELS") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "sparrow", "models")
    return os.path.join(base, "smollm2-135m-instruct", "SmolLM2-135M-Instruct.Q4_1.gguf")


def run_sparrow(sparrow, model, threads, pp, tg):
    out = subprocess.run(
        [sparrow, "bench", "--model", model, "--threads", str(threads), "--prompt-tokens", str(pp),
         "--gen-tokens", str(tg), "--repetitions", "1", "--json"],
        check=True, capture_output=True, text=True).stdout
    run = json.loads(out)[0]
    return run.get("pp_tokens_per_second"), run.get("tg_tokens_per_second")


def run_llama(llama_bench, model, threads, pp, tg, extra):
    result = {}
    for kind, p, n in (("pp", pp, 0), ("tg", 0, tg)):
        if (p if kind == "pp" else n) == 0:
            result[kind] = None
            continue
        out = subprocess.run(
            [llama_bench, "-m", model, "-t", str(threads), "-p", str(p), "-n", str(n), "-r", "1", "-o", "json"] + extra,
            check=True, capture_output=True, text=True).stdout
        result[kind] = json.loads(out)[0]["avg_ts"]
    return result["pp"], result["tg"]


def summary(xs):
    xs = [x for x in xs if x is not None]
    if not xs:
        return None
    return {"median": statistics.median(xs), "min": min(xs), "max": max(xs), "samples": xs}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--llama-bench", required=True)
    ap.add_argument("--model", default=default_model())
    ap.add_argument("--sparrow", default=os.path.join(REPO, ".build", "release", "sparrow"))
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--prompt-tokens", type=int, default=512)
    ap.add_argument("--gen-tokens", type=int, default=128)
    ap.add_argument("--repetitions", type=int, default=5)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--llama-args", default="",
                    help="extra llama-bench arguments, e.g. '--repack 0' (on CPUs with AMX, llama.cpp's repacked "
                         "AMX prompt path needs OS permission that some VMs refuse: it dies with SIGILL)")
    args = ap.parse_args()
    for path, what in ((args.llama_bench, "--llama-bench"), (args.sparrow, "--sparrow (build with swift build -c release)"), (args.model, "--model")):
        if not os.path.exists(path):
            sys.exit(f"{what}: {path} does not exist")
    threads = [int(t) for t in args.threads.split(",")]
    samples = {t: {"sparrow_pp": [], "sparrow_tg": [], "llama_pp": [], "llama_tg": []} for t in threads}
    for rep in range(args.repetitions):
        for t in threads:
            # Alternate which engine goes first, so neither always runs on a warmer machine.
            order = ("sparrow", "llama") if rep % 2 == 0 else ("llama", "sparrow")
            for engine in order:
                if engine == "sparrow":
                    pp, tg = run_sparrow(args.sparrow, args.model, t, args.prompt_tokens, args.gen_tokens)
                else:
                    pp, tg = run_llama(args.llama_bench, args.model, t, args.prompt_tokens, args.gen_tokens,
                                       args.llama_args.split())
                samples[t][f"{engine}_pp"].append(pp)
                samples[t][f"{engine}_tg"].append(tg)
            print(f"rep {rep + 1}/{args.repetitions} threads {t} done", file=sys.stderr)

    rows = []
    for t in threads:
        for kind, n in (("pp", args.prompt_tokens), ("tg", args.gen_tokens)):
            s, l = summary(samples[t][f"sparrow_{kind}"]), summary(samples[t][f"llama_{kind}"])
            if s is None or l is None:
                continue
            rows.append({"threads": t, "test": f"{kind}{n}", "sparrow": s, "llama_cpp": l,
                         "ratio": s["median"] / l["median"]})
    if args.json:
        print(json.dumps({"model": args.model, "rows": rows}, indent=2))
        return
    print(f"model: {args.model}; llama-bench extra arguments: '{args.llama_args}'")
    print("| threads | test | Sparrow tok/s (min-max) | llama.cpp tok/s (min-max) | Sparrow / llama.cpp |")
    print("|---:|---|---:|---:|---:|")
    for r in rows:
        s, l = r["sparrow"], r["llama_cpp"]
        print(f"| {r['threads']} | {r['test']} | {s['median']:.1f} ({s['min']:.1f}-{s['max']:.1f}) | "
              f"{l['median']:.1f} ({l['min']:.1f}-{l['max']:.1f}) | {r['ratio']:.2f}x |")


if __name__ == "__main__":
    main()
