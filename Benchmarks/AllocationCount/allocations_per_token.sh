#!/usr/bin/env bash
# Heap allocations per generated token: runs `sparrow generate` for two lengths under a malloc-counting
# LD_PRELOAD shim and divides the difference by the extra tokens. Load-time allocations cancel out;
# what remains is the per-token loop (model, sampler, detokenizer, CLI printing).
#   Benchmarks/AllocationCount/allocations_per_token.sh [--threads N]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
sparrow="$repo/.build/release/sparrow"
[[ -x $sparrow ]] || { echo "build first: swift build -c release" >&2; exit 1; }
shim="$(mktemp -d)/malloc_count.so"
cc -O2 -shared -fPIC "$here/malloc_count.c" -o "$shim" -ldl
count() {
    LD_PRELOAD="$shim" "$sparrow" generate --prompt "Once upon a time" --temperature 0 --max-tokens "$1" "${@:2}" \
        2>&1 >/dev/null | sed -n 's/^MALLOC_CALLS //p'
}
short=$(count 16 "$@")
long=$(count 80 "$@")
echo "malloc calls: 16 tokens $short, 80 tokens $long -> $(( (long - short) / 64 )) per token (integer part)"
