#!/usr/bin/env bash
# Side-by-side Stable Diffusion benchmark (never part of the tests): Sparrow (Benchmarks/DiffusionBench)
# against diffusers on PyTorch CPU (Scripts/bench-diffusion.py, fp32 compute), same folder, same thread
# count, same inputs, in the same run.
#
#   Scripts/bench-diffusion.sh THREADS [MODEL_DIR]          e.g. Scripts/bench-diffusion.sh 2
#
# MODEL_DIR defaults to ~/.cache/sparrow/bench/sd15-random (make it with Scripts/make-sd15-random.py:
# SD 1.5 configs, random weights, fp16). For each stage, diffusers and then Sparrow run in their own
# fresh process (so each peak RSS is that stage's, load included; the `run` row's peak is the whole
# text-to-image run's). Repetitions: text 1 warm-up + REPS_FAST (5) timed; unet1, unet2, decode
# WARMUP_SLOW (1) warm-up(s) + up to REPS_SLOW (2) timed; run RUN_REPS (1) timed. Prints a Markdown table:
# median seconds (min–max), ratio = Sparrow / diffusers (≤ 1.0 is the target), and peak RSS.
# STAGES="text unet1" limits the stages; WEIGHTS=fp16|int8|fp32 sets Sparrow's --weights (default: stored). JSON lines of every process are kept in $OUT (default a temp dir).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
threads="${1:?usage: bench-diffusion.sh THREADS [MODEL_DIR]}"
model="${2:-${XDG_CACHE_HOME:-$HOME/.cache}/sparrow/bench/sd15-random}"
[[ -d "$model/unet" ]] || { echo "no SD folder at $model: run python3 Scripts/make-sd15-random.py $model" >&2; exit 2; }
stages=(${STAGES:-text unet1 unet2 decode run})
out="${OUT:-$(mktemp -d -t sparrow-bench-diffusion.XXXXXX)}"
mkdir -p "$out"

swift build -c release --scratch-path .build-rel --product diffusion-bench >&2
bench="$(swift build -c release --scratch-path .build-rel --show-bin-path)/diffusion-bench"

for stage in "${stages[@]}"; do
    case "$stage" in
        text) flags=(--warmup 1 --reps "${REPS_FAST:-5}") ;;
        run) flags=(--warmup 0 --reps "${RUN_REPS:-1}" --slow-reps "${RUN_REPS:-1}") ;;
        *) flags=(--warmup "${WARMUP_SLOW:-1}" --reps "${REPS_SLOW:-2}" --slow-reps "${REPS_SLOW:-2}") ;;
    esac
    echo "[$(date -u +%H:%M:%S)] $stage: diffusers" >&2
    python3 Scripts/bench-diffusion.py --model "$model" --stages "$stage" --threads "$threads" "${flags[@]}" --json \
        | tail -n 1 > "$out/diffusers-$stage.json"
    echo "[$(date -u +%H:%M:%S)] $stage: Sparrow" >&2
    "$bench" --model "$model" --stages "$stage" --threads "$threads" "${flags[@]}" --weights "${WEIGHTS:-stored}" --json \
        > "$out/sparrow-$stage.json"
done

python3 - "$out" "$threads" "${stages[@]}" <<'PY'
import json, os, sys
out, threads, stages = sys.argv[1], sys.argv[2], sys.argv[3:]
names = {"text": "text encoding (1 prompt)", "unet1": "UNet step 512×512, batch 1",
         "unet2": "UNet step 512×512, batch 2 (guidance)", "decode": "VAE decode 64×64 → 512×512",
         "run": "whole run: 4 euler-a steps, guidance 7.5"}
def load(kind, stage):
    with open(os.path.join(out, f"{kind}-{stage}.json")) as f:
        return json.load(f)
def cell(r):
    return f"{r['median']:.3f} s ({r['min']:.3f}–{r['max']:.3f}, n={len(r['seconds'])})"
print(f"{threads} thread(s), Sparrow weights {os.environ.get('WEIGHTS', 'stored')}; median (min–max, n); ratio = Sparrow / diffusers; peak RSS = VmHWM of a fresh process "
      "that loaded the whole pipeline and ran only that stage\n")
print("| stage | diffusers | Sparrow | time ratio | peak RSS diffusers | peak RSS Sparrow | memory ratio |")
print("|---|---|---|---|---|---|---|")
for stage in stages:
    d, s = load("diffusers", stage), load("sparrow", stage)
    dr, sr = d["stages"][0], s["stages"][0]
    print(f"| {names[stage]} | {cell(dr)} | {cell(sr)} | {sr['median'] / dr['median']:.2f}× | "
          f"{d['peakMiB']:.0f} MiB | {s['peakMiB']:.0f} MiB | {s['peakMiB'] / d['peakMiB']:.2f}× |")
d, s = load("diffusers", stages[0]), load("sparrow", stages[0])
print(f"\nload: diffusers {d['loadSeconds']:.1f} s / {d['loadPeakMiB']:.0f} MiB peak, "
      f"Sparrow {s['loadSeconds']:.1f} s / {s['loadPeakMiB']:.0f} MiB peak; versions {d.get('versions')}")
print(f"raw JSON: {out}")
PY
