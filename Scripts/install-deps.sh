#!/usr/bin/env bash
# Installs the Debian packages Sparrow builds against (OpenBLAS, SentencePiece, libpng), ffmpeg
# (`sparrow segment` decodes and encodes video through it) and python3 with pip (used to fetch
# models from PyPI). Idempotent: when everything is present it only checks.
# Works as root; otherwise uses sudo. Swift itself is not a Debian package: see README.md.
set -euo pipefail

packages=(libopenblas-dev libsentencepiece-dev libpng-dev ffmpeg)
# Any python3 with pip will do (pyenv, a venv, Debian's); install Debian's only when none works.
if ! python3 -m pip --version >/dev/null 2>&1; then
    packages+=(python3 python3-pip)
fi

missing=()
for package in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$package")
    fi
done

if ((${#missing[@]} > 0)); then
    if [[ $(id -u) -eq 0 ]]; then
        as_root=()
    elif command -v sudo >/dev/null; then
        as_root=(sudo)
    else
        echo "install-deps: need root or sudo to install: ${missing[*]}" >&2
        exit 1
    fi
    echo "install-deps: installing ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    # Refresh the package lists only when there are none yet, or when installing from them fails.
    if ! compgen -G "/var/lib/apt/lists/*_Packages" >/dev/null; then
        "${as_root[@]}" apt-get update -q
    fi
    if ! "${as_root[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"; then
        "${as_root[@]}" apt-get update -q
        "${as_root[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
    fi
fi

if ! command -v swift >/dev/null; then
    echo "install-deps: 'swift' is not on PATH; install Swift 6 for Linux from https://www.swift.org/install and add its usr/bin to PATH" >&2
    exit 1
fi
if ! python3 -m pip --version >/dev/null 2>&1; then
    echo "install-deps: python3 -m pip still does not work; install pip for your python3" >&2
    exit 1
fi
echo "install-deps: ok (${packages[*]} present; $(swift --version 2>/dev/null | head -n 1))" >&2
