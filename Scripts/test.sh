#!/usr/bin/env bash
# The README's test command: installs the system packages, fetches every model and test file the
# tests use (sha256-checked), then runs `swift test -c release` with SPARROW_LLAMA_CPP_DIR pointing
# at llama.cpp's cached test files. Prints a summary; exits non-zero if any step fails.
# Extra arguments go to `swift test` (e.g. --filter SentencePieceTests, --scratch-path .build-rel).
set -uo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

started=$SECONDS
log="$(mktemp -t sparrow-test.XXXXXX)"
trap 'rm -f "$log"' EXIT

summary() {
    echo
    echo "==== Sparrow test summary ($((SECONDS - started)) s) ===="
    echo "install-deps: $1"
    echo "fetch-models: $2"
    echo "swift test:   $3"
    if [[ -s $log ]]; then
        # Swift Testing and XCTest each print one overall result line.
        grep -E "Test run with [0-9]+ tests?|Executed [1-9][0-9]* tests?" "$log" | tail -n 4 | sed "s/^/  /"
        grep -E "^✘ Test [^r]|error: " "$log" | head -n 20 | sed 's/^/  /'
    fi
}

if ! Scripts/install-deps.sh; then
    summary "FAILED" "not run" "not run"
    exit 1
fi
if ! llama_cpp_dir="$(Scripts/fetch-models.sh)"; then
    summary "ok" "FAILED" "not run"
    exit 1
fi
if ! Scripts/make-test-models.sh; then
    summary "ok" "FAILED (make-test-models)" "not run"
    exit 1
fi
export SPARROW_LLAMA_CPP_DIR="$llama_cpp_dir"
echo "SPARROW_LLAMA_CPP_DIR=$SPARROW_LLAMA_CPP_DIR" >&2

swift test -c release "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
if [[ $status -eq 0 ]]; then
    summary "ok" "ok" "passed"
else
    summary "ok" "ok" "FAILED (status $status)"
fi
exit "$status"
