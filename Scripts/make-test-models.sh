#!/usr/bin/env bash
# Makes the derived model files the tests compare against llama.cpp's references: the F16 and Q8_0
# re-encodings of SmolLM2-135M-Instruct Q4_1 (as ../shared/reference/llm/README.md made them with
# llama-quantize --allow-requantize), written next to the fetched Q4_1 file in the model store.
# Needs the Q4_1 model (Scripts/fetch-models.sh) and installs the pinned `gguf` package from PyPI.
# Quick when the files exist.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
home="${HOME:-/root}"
store="${SPARROW_MODELS:-${XDG_CACHE_HOME:+$XDG_CACHE_HOME/sparrow/models}}"
store="${store:-$home/.cache/sparrow/models}"
dir="$store/smollm2-135m-instruct"
src="$dir/SmolLM2-135M-Instruct.Q4_1.gguf"
[[ -f $src ]] || { echo "make-test-models: $src is missing; run Scripts/fetch-models.sh first" >&2; exit 1; }

need=()
for type in f16 q8_0; do
    out="$dir/SmolLM2-135M-Instruct.${type^^}.gguf"
    [[ -f $out ]] || need+=("$type")
done
[[ ${#need[@]} -eq 0 ]] && exit 0

if [[ "$(python3 -m pip show gguf 2>/dev/null | sed -n 's/^Version: //p')" != "0.19.0" ]]; then
    echo "make-test-models: installing the pinned gguf package (Scripts/requirements-dev.txt)" >&2
    python3 -m pip install --quiet --disable-pip-version-check -r "$repo/Scripts/requirements-dev.txt" >&2
fi
for type in "${need[@]}"; do
    out="$dir/SmolLM2-135M-Instruct.${type^^}.gguf"
    echo "make-test-models: writing $out" >&2
    python3 "$repo/Scripts/requantize-gguf.py" "$src" "$out.tmp" "$type"
    mv "$out.tmp" "$out"
done
