#!/usr/bin/env python3
"""Writes Tests/RuntimeTests/Fixtures/quantize/reference-blocks.bin: seeded float rows and the bytes
llama.cpp's own reference quantizers (quantize_row_*_ref in libggml-base) make of them.

Usage: python3 Scripts/make-quantize-fixtures.py /path/to/libggml-base.so [output]

The library is llama.cpp as vendored by llama-cpp-python 0.3.36 (built with cmake, Release). Needs only
numpy (Scripts/requirements-dev.txt).

Fixture layout (little-endian):
  "SPQF", u32 version = 1, u32 n, n bytes of UTF-8 provenance text (command, library, versions),
  u32 case count, then per case: u32 ggml type, u32 rows, u32 columns, rows*columns f32 inputs,
  u32 byte count, the quantized bytes.
"""
import ctypes
import hashlib
import os
import struct
import sys

import numpy as np

LLAMA_CPP_VERSION = "llama-cpp-python 0.3.36 (vendored llama.cpp)"
# ggml type id, name, block size, block bytes, columns per row used here
TYPES = [
    (2, "q4_0", 32, 18, 64),
    (3, "q4_1", 32, 20, 64),
    (6, "q5_0", 32, 22, 64),
    (7, "q5_1", 32, 24, 64),
    (8, "q8_0", 32, 34, 64),
    (12, "q4_K", 256, 144, 256),
    (13, "q5_K", 256, 176, 256),
    (14, "q6_K", 256, 210, 256),
]


def rows_for(columns, rng):
    """Row kinds: gaussian, gaussian with outliers, all zero, tiny values, all positive, constant,
    heavy-tailed, mixed scales per 32-block."""
    g = rng.standard_normal(columns).astype(np.float32) * 0.02
    outl = rng.standard_normal(columns).astype(np.float32) * 0.02
    outl[rng.integers(0, columns, 3)] = np.float32([1.5, -2.25, 0.9])
    zero = np.zeros(columns, np.float32)
    tiny = (rng.standard_normal(columns) * 1e-6).astype(np.float32)
    positive = rng.uniform(0.1, 0.5, columns).astype(np.float32)
    constant = np.full(columns, -0.375, np.float32)
    heavy = (rng.standard_t(2, columns) * 0.05).astype(np.float32)
    mixed = (rng.standard_normal(columns) * np.repeat(10.0 ** rng.uniform(-4, 0, columns // 32), 32)).astype(np.float32)
    return [g, outl, zero, tiny, positive, constant, heavy, mixed]


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    lib_path = sys.argv[1]
    here = os.path.dirname(os.path.abspath(__file__))
    out = sys.argv[2] if len(sys.argv) > 2 else os.path.normpath(os.path.join(
        here, "..", "Tests", "RuntimeTests", "Fixtures", "quantize", "reference-blocks.bin"))
    lib = ctypes.CDLL(lib_path)
    with open(lib_path, "rb") as f:
        lib_sha = hashlib.sha256(f.read()).hexdigest()
    rng = np.random.default_rng(20261121)
    cases = []
    for type_id, name, block, block_bytes, columns in TYPES:
        fn = getattr(lib, f"quantize_row_{name}_ref")
        fn.restype = None
        fn.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64]
        for row in rows_for(columns, rng):
            x = np.ascontiguousarray(row, dtype=np.float32)
            y = (ctypes.c_uint8 * (columns // block * block_bytes))()
            fn(x.ctypes.data, ctypes.addressof(y), columns)
            cases.append((type_id, 1, columns, x.tobytes(), bytes(y)))
    provenance = (
        f"command: python3 Scripts/make-quantize-fixtures.py {lib_path}\n"
        f"library: {os.path.basename(lib_path)} sha256 {lib_sha}\n"
        f"source: {LLAMA_CPP_VERSION}; functions quantize_row_<type>_ref\n"
        f"numpy {np.__version__}, seed 20261121\n")
    blob = bytearray(b"SPQF") + struct.pack("<II", 1, len(provenance.encode())) + provenance.encode()
    blob += struct.pack("<I", len(cases))
    for type_id, rows, columns, x, y in cases:
        blob += struct.pack("<III", type_id, rows, columns) + x + struct.pack("<I", len(y)) + y
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out, "wb") as f:
        f.write(blob)
    print(provenance, end="")
    print(f"wrote {len(cases)} cases, {len(blob)} bytes to {out}")


if __name__ == "__main__":
    main()
