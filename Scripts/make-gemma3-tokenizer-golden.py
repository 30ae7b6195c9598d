#!/usr/bin/env python3
"""Token ids llama.cpp gives for test strings with the Gemma-3 270M vocabulary (an SPM vocabulary with
add_space_prefix false and many control/user-defined tokens), written to
Tests/LLMTests/Fixtures/gemma3-tokenizer.json for SPMTokenizerTests; with a fifth argument (llama.cpp's
ggml-vocab-phi-3.gguf), also chat prompts parsed with special tokens for Phi-3 (whose special tokens
strip the whitespace after them), as "phi3Cases".

Needs: the llama-cpp-python==0.3.36 sdist unpacked (its ctypes bindings, llama_cpp/llama_cpp.py) and a
libllama.so built from its vendor/llama.cpp (see /work/shared/DATA.md); the Gemma-3 GGUF fetched by
Scripts/fetch-models.sh.

Usage: make-gemma3-tokenizer-golden.py SDIST_DIR LIBLLAMA_DIR GEMMA3_GGUF OUT_JSON [PHI3_VOCAB_GGUF]
"""
import json
import os
import shutil
import sys
import tempfile

sdist, libdir, gguf_path, out_path = sys.argv[1:5]

# Import only the ctypes bindings (the package __init__ pulls in optional dependencies).
pkg = tempfile.mkdtemp()
shutil.copytree(os.path.join(sdist, "llama_cpp"), os.path.join(pkg, "llama_cpp"))
open(os.path.join(pkg, "llama_cpp", "__init__.py"), "w").close()
sys.path.insert(0, pkg)
os.environ["LLAMA_CPP_LIB_PATH"] = libdir
import llama_cpp.llama_cpp as L  # noqa: E402

L.llama_backend_init()
params = L.llama_model_default_params()
params.vocab_only = True


def load(path):
    return L.llama_model_get_vocab(L.llama_model_load_from_file(path.encode(), params))


vocab = load(gguf_path)


def tokenize(text, add_special, parse_special):
    data = text.encode()
    buf = (L.llama_token * (len(data) + 16))()
    n = L.llama_tokenize(vocab, data, len(data), buf, len(buf), add_special, parse_special)
    assert n >= 0
    return list(buf[:n])


models = os.path.join(sdist, "vendor", "llama.cpp", "models")
with open(os.path.join(models, "ggml-vocab-llama-spm.gguf.inp"), encoding="utf-8") as f:
    texts = f.read().split("\n__ggml_vocab_test__\n")
if texts and texts[-1] == "":
    texts.pop()

extra = [
    "<start_of_turn>user\nWhat is 2+2?<end_of_turn>\n<start_of_turn>model\n",
    "<bos><start_of_turn>user\n  Hi there!\n\n\nBye<end_of_turn>",
    "text <unused5> more <mask> text",
    "tabs\tand\t\tspaces    and\n\n\n\nnewlines",
    "emoji 🦙🤖 and 我想在apple工作 and \U000F0000 private use",
    "<start_of_turn> leading space after a control token",
]
cases = []
for text in texts:
    cases.append({"text": text, "addSpecial": False, "parseSpecial": False, "ids": tokenize(text, False, False)})
for text in extra:
    for add_special, parse_special in ((False, False), (True, True)):
        cases.append({"text": text, "addSpecial": add_special, "parseSpecial": parse_special,
                      "ids": tokenize(text, add_special, parse_special)})

phi3_cases = []
if len(sys.argv) > 5:
    vocab = load(sys.argv[5])
    for text in ["<|user|>\nHello<|end|>\n<|assistant|>\n", "<s> hi </s>  there", "a<|system|>  \n\tb<|endoftext|> c"]:
        phi3_cases.append({"text": text, "addSpecial": True, "parseSpecial": True, "ids": tokenize(text, True, True)})

result = {
    "command": "Scripts/make-gemma3-tokenizer-golden.py " + " ".join(sys.argv[1:]),
    "producer": "llama.cpp llama_tokenize via llama-cpp-python==0.3.36 ctypes bindings and libllama built from its vendor/llama.cpp",
    "model": os.path.basename(gguf_path),
    "cases": cases,
    "phi3Cases": phi3_cases,
}
with open(out_path, "w", encoding="utf-8") as f:
    json.dump(result, f, ensure_ascii=False, indent=1)
    f.write("\n")
print(f"wrote {len(cases)} cases to {out_path}")
