#!/usr/bin/env python3
"""Quantizes a GGUF with llama.cpp's llama_model_quantize (through ctypes, no imatrix) and with
`sparrow quantize`, and reports whether the two files are byte-identical.

Usage: python3 Scripts/check-quantize-against-llama.py LIBLLAMA_SO SPARROW_BIN IN.gguf TYPE [TYPE ...]
TYPE is a `sparrow quantize --type` name (q4_0 q4_1 q5_0 q5_1 q8_0 q4_k q5_k q6_k q4_k_m); q4_k and q5_k
are compared with llama.cpp's --pure Q4_K_S / Q5_K_S. Outputs go to a temporary folder.
"""
import ctypes, filecmp, os, subprocess, sys, tempfile

FTYPES = {"q4_0": (2, False), "q4_1": (3, False), "q8_0": (7, False), "q5_0": (8, False), "q5_1": (9, False),
          "q4_k": (14, True), "q4_k_m": (15, False), "q5_k": (16, True), "q6_k": (18, False)}


class Params(ctypes.Structure):  # matches llama.h llama_model_quantize_params (llama-cpp-python 0.3.36)
    _fields_ = [("nthread", ctypes.c_int32), ("ftype", ctypes.c_int), ("output_tensor_type", ctypes.c_int),
                ("token_embedding_type", ctypes.c_int), ("allow_requantize", ctypes.c_bool),
                ("quantize_output_tensor", ctypes.c_bool), ("only_copy", ctypes.c_bool), ("pure", ctypes.c_bool),
                ("keep_split", ctypes.c_bool), ("dry_run", ctypes.c_bool), ("imatrix", ctypes.c_void_p),
                ("kv_overrides", ctypes.c_void_p), ("tt_overrides", ctypes.c_void_p), ("prune_layers", ctypes.c_void_p),
                ("max_buf_size", ctypes.c_size_t)]


def main():
    if len(sys.argv) < 5:
        sys.exit(__doc__)
    lib_path, sparrow, source, types = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
    lib = ctypes.CDLL(lib_path)
    lib.llama_model_quantize_default_params.restype = Params
    lib.llama_model_quantize.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.POINTER(Params)]
    lib.llama_model_quantize.restype = ctypes.c_uint32
    print("command:", " ".join(sys.argv))
    with tempfile.TemporaryDirectory() as tmp:
        for t in types:
            ftype, pure = FTYPES[t]
            ref, ours = os.path.join(tmp, f"llama-{t}.gguf"), os.path.join(tmp, f"sparrow-{t}.gguf")
            p = lib.llama_model_quantize_default_params()
            p.nthread, p.ftype, p.pure = 1, ftype, pure
            if lib.llama_model_quantize(source.encode(), ref.encode(), ctypes.byref(p)) != 0:
                sys.exit(f"llama_model_quantize failed for {t}")
            subprocess.run([sparrow, "quantize", source, ours, "--type", t], check=True, stderr=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL)
            same = filecmp.cmp(ref, ours, shallow=False)
            print(f"{t}: {'identical' if same else 'DIFFERENT'} ({os.path.getsize(ours)} bytes)")


if __name__ == "__main__":
    main()
