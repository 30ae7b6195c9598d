#!/usr/bin/env python3
"""Re-encode a GGUF model's 2-D weight tensors as F16, Q8_0 or Q4_1 (1-D tensors stay F32).

Mirrors `llama-quantize --allow-requantize IN OUT TYPE` for these plain types: every matrix is
dequantized to float32 and quantized again; metadata (tokenizer, template) is copied unchanged.
Used to make the Q8_0 and F16 variants of SmolLM2 that the references in
../shared/reference/llm/ were computed on.

    python3 Scripts/requantize-gguf.py IN.gguf OUT.gguf f16|q8_0|q4_1

Needs the PyPI `gguf` package (pinned in Scripts/requirements-dev.txt).
"""
import sys

import numpy as np
from gguf import GGMLQuantizationType, GGUFReader, GGUFValueType, GGUFWriter
from gguf.quants import dequantize, quantize

TYPES = {"f16": GGMLQuantizationType.F16, "q8_0": GGMLQuantizationType.Q8_0, "q4_1": GGMLQuantizationType.Q4_1}


def copy_metadata(reader: GGUFReader, writer: GGUFWriter) -> None:
    for key, field in reader.fields.items():
        if key.startswith("GGUF.") or key in ("general.architecture", "general.file_type"):
            continue
        vtype = field.types[0]
        if vtype == GGUFValueType.ARRAY:
            sub = field.types[1]
            if sub == GGUFValueType.STRING:
                value = [bytes(field.parts[i]).decode("utf-8", errors="surrogateescape") for i in field.data]
            else:
                value = [field.parts[i].tolist()[0] for i in field.data]
            writer.add_key_value(key, value, vtype, sub_type=sub)
        elif vtype == GGUFValueType.STRING:
            writer.add_key_value(key, bytes(field.parts[field.data[0]]).decode("utf-8", errors="surrogateescape"), vtype)
        else:
            writer.add_key_value(key, field.parts[field.data[0]].tolist()[0], vtype)


def main() -> None:
    if len(sys.argv) != 4 or sys.argv[3] not in TYPES:
        sys.exit(__doc__)
    src, dst, name = sys.argv[1], sys.argv[2], sys.argv[3]
    target = TYPES[name]
    reader = GGUFReader(src)
    arch = bytes(reader.fields["general.architecture"].parts[-1]).decode()
    writer = GGUFWriter(dst, arch)
    copy_metadata(reader, writer)
    writer.add_file_type({"f16": 1, "q8_0": 7, "q4_1": 3}[name])
    for t in reader.tensors:
        shape = [int(d) for d in reversed(t.shape)]  # numpy order: slowest first
        values = dequantize(t.data, t.tensor_type).reshape(shape).astype(np.float32)
        if len(shape) == 1:
            writer.add_tensor(t.name, values)
        elif target == GGMLQuantizationType.F16:
            writer.add_tensor(t.name, values.astype(np.float16))
        else:
            writer.add_tensor(t.name, quantize(values, target), raw_dtype=target)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


if __name__ == "__main__":
    main()
