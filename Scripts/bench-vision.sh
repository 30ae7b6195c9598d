#!/usr/bin/env bash
# Side-by-side vision benchmark (never part of the tests): selfie segmentation on the real videos,
# Sparrow (Benchmarks/VisionBench) against LiteRT 2.3.0 (Scripts/litert-run.py, XNNPACK), same
# frames (ffmpeg, bilinear to 256×256), same thread count, in the same run.
#
#   Scripts/bench-vision.sh [FRAMES] [THREADS...]      e.g. Scripts/bench-vision.sh 150 1 2
#
# For each video and thread count: LiteRT and Sparrow's dense path alternate REPEATS times (medians
# of per-frame medians; the ratio is LiteRT ms / Sparrow ms), then one Sparrow run sweeps Skip-Conv
# thresholds and block sizes, reporting MACs, frames/s and mean IoU against Sparrow's dense masks and
# LiteRT's masks. Needs: Scripts/install-deps.sh, Scripts/fetch-models.sh, pip install
# ai-edge-litert==2.3.0 (Scripts/requirements-dev.txt).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
frames="${1:-200}"
shift || true
threads=("${@:-1}")
((${#threads[@]} > 0)) || threads=(1)
repeats="${REPEATS:-3}"
models="${SPARROW_MODELS:-${XDG_CACHE_HOME:-$HOME/.cache}/sparrow/models}"
model="$models/selfie-segmentation/selfie_segmentation.tflite"
work="$(mktemp -d -t sparrow-bench-vision.XXXXXX)"
trap 'rm -rf "$work"' EXIT

swift build -c release --product vision-bench >&2
bench="$(swift build -c release --show-bin-path)/vision-bench"

for video in "$models/vtest-video/vtest.avi" "$models/box-video/box.mp4" "$models/cup-video/cup.mp4"; do
    name="$(basename "$video")"
    for n in "${threads[@]}"; do
        lite=() sparrow=()
        for ((r = 0; r < repeats; r++)); do
            lite+=("$(python3 Scripts/litert-run.py --model "$model" --video "$video" --threads "$n" --max-frames "$frames" \
                --masks "$work/litert.f16" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["ms_per_frame"]["median"])')")
            sparrow+=("$("$bench" --video "$video" --model "$model" --threads "$n" --frames "$frames" --dense-only --json \
                | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["msMedian"])')")
        done
        python3 - "$name" "$n" "${lite[*]}" "${sparrow[*]}" <<'PY'
import statistics, sys
name, n, lite, sparrow = sys.argv[1], sys.argv[2], [float(x) for x in sys.argv[3].split()], [float(x) for x in sys.argv[4].split()]
l, s = statistics.median(lite), statistics.median(sparrow)
print(f"{name}, {n} thread(s), dense: LiteRT {l:.2f} ms ({min(lite):.2f}–{max(lite):.2f}), "
      f"Sparrow {s:.2f} ms ({min(sparrow):.2f}–{max(sparrow):.2f}): Sparrow {l / s:.2f}× LiteRT's speed")
PY
        "$bench" --video "$video" --model "$model" --threads "$n" --frames "$frames" --litert-masks "$work/litert.f16" \
            --thresholds "${THRESHOLDS:-0,0.005,0.01,0.02,0.05}" --blocks "${BLOCKS:-1,2,4,8}" ${KEYFRAME:+--keyframe "$KEYFRAME"}
        echo
    done
done
