#!/usr/bin/env python3
"""Regenerates the GGUF goldens of Tests/RuntimeTests/Fixtures with the reference gguf-py package.

    pip install gguf==0.19.0
    python3 Scripts/make-gguf-golden.py [--model PATH]

Writes two fixtures (the Swift tests in Tests/RuntimeTests/GGUFReaderTests.swift compare against them):

* smollm2-gguf-table.json: what gguf-py's GGUFReader sees in the real SmolLM2-135M-Instruct Q4_1
  model: header, every metadata key in file order with its type and value (floats also as IEEE bit
  patterns; arrays as element type, count, first/last elements and the SHA-256 of their canonical
  encoding, see `canonical_sha256`), and the tensor table (name, type, dimensions fastest-varying
  first, relative and absolute offsets, byte count).
* gguf-py-written.json: a small file written by gguf-py's GGUFWriter (every scalar type, arrays of
  each, nested arrays, five tensor types, alignment 64) as hex, plus gguf-py's GGUFReader view of it.
  The Swift GGUFWriter must produce the same bytes for the same content (see `write_sample`).

The model is found like ModelStore.path: $SPARROW_MODELS, else $XDG_CACHE_HOME/sparrow/models, else
~/.cache/sparrow/models, then smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf.
"""

import argparse
import hashlib
import importlib.metadata
import json
import os
import platform
import struct
import sys
import tempfile

import numpy as np

GGUF_VERSION_PIN = "0.19.0"
FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "RuntimeTests", "Fixtures")

# struct formats of the fixed-size GGUF value types, by gguf-py type name.
FORMATS = {
    "UINT8": "<B", "INT8": "<b", "UINT16": "<H", "INT16": "<h", "UINT32": "<I", "INT32": "<i",
    "FLOAT32": "<f", "BOOL": "<?", "UINT64": "<Q", "INT64": "<q", "FLOAT64": "<d",
}


def model_path() -> str:
    base = os.environ.get("SPARROW_MODELS") or (
        os.path.join(os.environ["XDG_CACHE_HOME"], "sparrow", "models") if os.environ.get("XDG_CACHE_HOME")
        else os.path.expanduser("~/.cache/sparrow/models"))
    return os.path.join(base, "smollm2-135m-instruct", "SmolLM2-135M-Instruct.Q4_1.gguf")


def scalar_json(type_name: str, value):
    """One value as a JSON object keyed by its kind; floats also carry their exact bit pattern."""
    if type_name == "STRING":
        return {"string": value}
    if type_name == "BOOL":
        return {"bool": bool(value)}
    if type_name == "FLOAT32":
        return {"float": float(value), "bits": struct.unpack("<I", struct.pack("<f", value))[0]}
    if type_name == "FLOAT64":
        return {"float": float(value), "bits": struct.unpack("<Q", struct.pack("<d", value))[0]}
    return {"int": int(value)}


def canonical_sha256(type_name: str, values) -> str:
    """SHA-256 over the elements as GGUF encodes them: strings as u64 length + UTF-8 bytes, numbers
    little-endian in their own width, bools as one byte."""
    h = hashlib.sha256()
    for v in values:
        if type_name == "STRING":
            b = v.encode("utf-8")
            h.update(struct.pack("<Q", len(b)) + b)
        else:
            h.update(struct.pack(FORMATS[type_name], v))
    return h.hexdigest()


def dump_metadata(reader):
    import gguf
    entries = []
    for key, field in reader.fields.items():
        if key.startswith("GGUF."):
            continue  # gguf-py's pseudo-fields for the header
        main = field.types[0]
        entry = {"key": key, "type": main.name.lower()}
        if main == gguf.GGUFValueType.ARRAY:
            if len(field.types) != 2:
                raise SystemExit(f"{key}: nested arrays are not expected in the model")
            element = field.types[1].name
            values = field.contents()
            entry.update({
                "element_type": element.lower(),
                "count": len(values),
                "first": [scalar_json(element, v) for v in values[:3]],
                "last": [scalar_json(element, v) for v in values[-3:]],
                "sha256": canonical_sha256(element, values),
            })
        else:
            entry["value"] = scalar_json(main.name, field.contents())
        entries.append(entry)
    return entries


def dump_tensors(reader):
    rows = []
    for t in reader.tensors:
        head = bytes(reader.data[t.data_offset:t.data_offset + min(int(t.n_bytes), 4096)])
        rows.append({
            "name": t.name,
            "type": t.tensor_type.name,
            "type_id": int(t.tensor_type),
            "dimensions": [int(d) for d in t.shape],  # as stored: fastest-varying first
            "relative_offset": int(t.field.parts[5][0]),
            "offset": int(t.data_offset),
            "byte_count": int(t.n_bytes),
            "head_sha256": hashlib.sha256(head).hexdigest(),  # of the first min(byte_count, 4096) bytes
        })
    return rows


def header(reader, path):
    return {
        "version": int(reader.fields["GGUF.version"].parts[0][0]),
        "tensor_count": int(reader.fields["GGUF.tensor_count"].parts[0][0]),
        "kv_count": int(reader.fields["GGUF.kv_count"].parts[0][0]),
        "alignment": int(reader.alignment),
        "data_offset": int(reader.data_offset),
        "file_bytes": os.path.getsize(path),
    }


def provenance(extra):
    return {
        "command": "python3 Scripts/make-gguf-golden.py",
        "gguf": importlib.metadata.version("gguf"),
        "numpy": importlib.metadata.version("numpy"),
        "python": platform.python_version(),
        **extra,
    }


def write_json(path: str, doc: dict) -> None:
    """JSON with one line per list element (metadata entry, tensor row) so that diffs stay readable."""
    lines = []
    for key, value in doc.items():
        if isinstance(value, list) and value and isinstance(value[0], dict):
            rows = ",\n".join("  " + json.dumps(row, ensure_ascii=False) for row in value)
            lines.append(f" {json.dumps(key)}: [\n{rows}\n ]")
        else:
            lines.append(f" {json.dumps(key)}: {json.dumps(value, ensure_ascii=False)}")
    with open(path, "w", encoding="utf-8") as f:
        f.write("{\n" + ",\n".join(lines) + "\n}\n")


def sample_bytes(n: int, seed: int) -> np.ndarray:
    return np.array([(i * 37 + seed * 11 + 5) % 256 for i in range(n)], dtype=np.uint8)


def write_sample(path: str) -> None:
    """The sample the Swift test GGUFReaderTests.swiftWriterMatchesGGUFPyByteForByte rebuilds: keep the two in step."""
    import gguf
    T = gguf.GGUFValueType
    w = gguf.GGUFWriter(path, arch="sparrow-test")  # adds general.architecture first
    w.add_custom_alignment(64)                       # general.alignment = uint32 64
    w.add_uint8("test.u8", 200)
    w.add_int8("test.i8", -100)
    w.add_uint16("test.u16", 60000)
    w.add_int16("test.i16", -30000)
    w.add_uint32("test.u32", 4000000000)
    w.add_int32("test.i32", -2000000000)
    w.add_float32("test.f32", 1.5)
    w.add_bool("test.bool", True)
    w.add_string("test.string", "héllo wörld ✓")
    w.add_uint64("test.u64", 18446744073709551615)
    w.add_int64("test.i64", -9223372036854775808)
    w.add_float64("test.f64", -0.1)
    w.add_key_value("test.array.u8", [0, 1, 255], T.ARRAY, sub_type=T.UINT8)
    w.add_key_value("test.array.i8", [-128, 127], T.ARRAY, sub_type=T.INT8)
    w.add_key_value("test.array.u16", [65535, 7], T.ARRAY, sub_type=T.UINT16)
    w.add_key_value("test.array.i16", [-32768, 3], T.ARRAY, sub_type=T.INT16)
    w.add_key_value("test.array.u32", [1, 4294967295], T.ARRAY, sub_type=T.UINT32)
    w.add_key_value("test.array.i32", [-1, 2, -3], T.ARRAY, sub_type=T.INT32)
    w.add_key_value("test.array.f32", [0.25, -2.0, 1e30], T.ARRAY, sub_type=T.FLOAT32)
    w.add_key_value("test.array.bool", [True, False, True], T.ARRAY, sub_type=T.BOOL)
    w.add_key_value("test.array.string", ["a", "", "Ġthe", "日本"], T.ARRAY, sub_type=T.STRING)
    w.add_key_value("test.array.u64", [0, 18446744073709551615], T.ARRAY, sub_type=T.UINT64)
    w.add_key_value("test.array.i64", [-9223372036854775808, 9223372036854775807], T.ARRAY, sub_type=T.INT64)
    w.add_key_value("test.array.f64", [0.5, -1e300], T.ARRAY, sub_type=T.FLOAT64)
    w.add_array("test.nested.ints", [[1, 2], [3], [4, 5, 6]])            # array of arrays of int32
    w.add_array("test.nested.strings", [["x", "y"], ["z"]])
    w.add_array("test.nested.deep", [[[0.5, 1.5]], [[2.5]]])             # three levels, float32
    # Tensors as raw bytes (numpy shape slowest-first; the file stores it fastest-first).
    Q = gguf.GGMLQuantizationType
    w.add_tensor("f32.matrix", sample_bytes(2 * 3 * 4, 1).reshape(2, 12), raw_dtype=Q.F32)      # ne [3, 2]
    w.add_tensor("f16.vector", sample_bytes(5 * 2, 2), raw_dtype=Q.F16)                        # ne [5]
    w.add_tensor("q4_0.matrix", sample_bytes(3 * 2 * 18, 3).reshape(3, 36), raw_dtype=Q.Q4_0)  # ne [64, 3]
    w.add_tensor("q8_0.cube", sample_bytes(2 * 2 * 34, 4).reshape(2, 2, 34), raw_dtype=Q.Q8_0)  # ne [32, 2, 2]
    w.add_tensor("q4_k.row", sample_bytes(144, 5), raw_dtype=Q.Q4_K)                           # ne [256]
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default=model_path())
    args = parser.parse_args()
    version = importlib.metadata.version("gguf")
    if version != GGUF_VERSION_PIN:
        raise SystemExit(f"gguf {version} is installed; the goldens are made with gguf=={GGUF_VERSION_PIN} (pip install gguf=={GGUF_VERSION_PIN})")
    import gguf
    if not os.path.exists(args.model):
        raise SystemExit(f"model missing at {args.model}: run Scripts/fetch-models.sh first")

    with open(args.model, "rb") as f:
        model_sha = hashlib.sha256(f.read()).hexdigest()
    reader = gguf.GGUFReader(args.model)
    table = {
        "provenance": provenance({
            "model": "smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf",
            "model_sha256": model_sha,
            "reader": "gguf.GGUFReader",
        }),
        "header": header(reader, args.model),
        "metadata": dump_metadata(reader),
        "tensors": dump_tensors(reader),
    }
    write_json(os.path.join(FIXTURES, "smollm2-gguf-table.json"), table)

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "sample.gguf")
        write_sample(path)
        with open(path, "rb") as f:
            data = f.read()
        back = gguf.GGUFReader(path)
        sample = {
            "provenance": provenance({"writer": "gguf.GGUFWriter (write_sample in the script)", "reader": "gguf.GGUFReader"}),
            "header": header(back, path),
            "metadata_keys": [k for k in back.fields if not k.startswith("GGUF.")],
            "tensors": dump_tensors(back),
            "sha256": hashlib.sha256(data).hexdigest(),
            "hex": data.hex(),
        }
    write_json(os.path.join(FIXTURES, "gguf-py-written.json"), sample)
    print(f"wrote {len(table['metadata'])} metadata entries, {len(table['tensors'])} tensors; sample {len(data)} bytes", file=sys.stderr)


if __name__ == "__main__":
    main()
