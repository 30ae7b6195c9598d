#!/usr/bin/env bash
# The README's first command: installs the system packages, builds `sparrow` (release), fetches the
# default model, then runs a sparrow subcommand — `chat` when none is given.
#   Scripts/run.sh                                   # interactive chat with the default model
#   Scripts/run.sh generate --prompt "Why is the sky blue?"
#   Scripts/run.sh --prompt "Why is the sky blue?"   # options alone go to `chat` (one reply, then exit)
#   Scripts/run.sh models list
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

Scripts/install-deps.sh
echo "run: building sparrow (release)..." >&2
swift build -c release --product sparrow >&2
sparrow="$(swift build -c release --show-bin-path)/sparrow"
"$sparrow" models fetch >/dev/null

if [[ $# -eq 0 ]]; then
    set -- chat
elif [[ $1 == -* && $1 != "-h" && $1 != "--help" && $1 != "--version" ]]; then
    set -- chat "$@"
fi
exec "$sparrow" "$@"
