#!/usr/bin/env python3
"""Writes Tests/DiffusionTests/Fixtures/clip-tokenizer-golden.json: CLIP token ids for a varied corpus.

Oracle: transformers' CLIPTokenizer (5.23.0: backed by the `tokenizers` library; normalizer NFC, then
every whitespace run -> " ", then per-character lower-casing; no ftfy and no HTML unescaping), built
from a diffusers-style tokenizer folder (vocab.json + merges.txt) that this script converts from the
real CLIP vocabulary (open_clip's bpe_simple_vocab_16e6.txt, weights-manifest entry clip-bpe-vocab).
That is the tokenizer diffusers' Stable Diffusion pipelines run.

Second oracle: open_clip 3.3.0's SimpleTokenizer on the same vocabulary. It cleans text differently
(ftfy.fix_text, html.unescape twice, Python's context-sensitive str.lower(), special tokens named
<start_of_text>/<end_of_text>), so the script asserts the two agree where those steps do not apply:
for every string, transformers' ids of open_clip's *cleaned* text must equal open_clip's ids (strings
containing "<|" are exempt: open_clip 3.3.0 no longer treats <|endoftext|> as special). Cases whose
ids differ between the two record open_clip's ids under "openCLIP".

Usage (needs: pip install transformers==5.23.0 tokenizers==0.23.3 ftfy==6.3.1 regex torch
open-clip-torch==3.3.0 --no-deps; Scripts/fetch-models.sh clip-bpe-vocab):
    python3 Scripts/make-clip-tokenizer-goldens.py [--vocab PATH] [--out PATH]
"""
import argparse, gzip, importlib.metadata, importlib.util, json, os, random, sys, tempfile

repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
store = os.environ.get("SPARROW_MODELS") or os.path.join(
    os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "sparrow", "models")
parser = argparse.ArgumentParser()
parser.add_argument("--vocab", default=os.path.join(store, "clip-bpe-vocab", "bpe_simple_vocab_16e6.txt"))
parser.add_argument("--out", default=os.path.join(repo, "Tests/DiffusionTests/Fixtures/clip-tokenizer-golden.json"))
args = parser.parse_args()

import ftfy, regex, tokenizers, transformers
from transformers import CLIPTokenizer

# open_clip's tokenizer module only (its package __init__ pulls in timm and huggingface_hub).
spec = importlib.util.find_spec("open_clip")
if spec is None:
    sys.exit("install open_clip: pip install --no-deps open-clip-torch==3.3.0")
module_spec = importlib.util.spec_from_file_location(
    "open_clip_tokenizer", os.path.join(os.path.dirname(spec.origin), "tokenizer.py"))
open_clip_tokenizer = importlib.util.module_from_spec(module_spec)
module_spec.loader.exec_module(open_clip_tokenizer)
open_clip_version = importlib.metadata.version("open-clip-torch")

# ---- The diffusers-style folder, built the way open_clip builds its vocabulary. ----
with open(args.vocab, encoding="utf-8") as f:
    lines = f.read().split("\n")
merges = lines[1:49152 - 256 - 2 + 1]
byte_chars = list(open_clip_tokenizer.bytes_to_unicode().values())
vocab_list = byte_chars + [c + "</w>" for c in byte_chars] + ["".join(m.split()) for m in merges]
vocab_list += ["<|startoftext|>", "<|endoftext|>"]
assert len(vocab_list) == 49408 and len(set(vocab_list)) == 49408
folder = tempfile.mkdtemp()
with open(os.path.join(folder, "vocab.json"), "w", encoding="utf-8") as f:
    json.dump({t: i for i, t in enumerate(vocab_list)}, f, ensure_ascii=False)
with open(os.path.join(folder, "merges.txt"), "w", encoding="utf-8") as f:
    f.write("#version: 0.2\n" + "\n".join(merges) + "\n")
hf = CLIPTokenizer.from_pretrained(folder)
# SimpleTokenizer reads a gzipped file: give it one.
gz = os.path.join(folder, "bpe_simple_vocab_16e6.txt.gz")
with open(args.vocab, "rb") as src, gzip.open(gz, "wb") as dst:
    dst.write(src.read())
oc = open_clip_tokenizer.SimpleTokenizer(bpe_path=gz)
assert [oc.decoder[i] for i in range(49406)] == vocab_list[:49406]

# ---- Corpus. ----
corpus = [
    "", " ", "   ", "\t", "\n", " \t\n\r ", "a", "A", "I", ".", "!", "?", "'", "''", "'s", "1", "0",
    "a photo of a cat", "A photo of a cat", "A PHOTO OF A CAT", "a photograph of an astronaut riding a horse",
    "a high quality photo of a red fox sitting in the snow, 4k, detailed",
    "portrait of a woman, oil painting, trending on artstation, by greg rutkowski",
    "cyberpunk city at night, neon lights, rain, highly detailed, 8k, unreal engine",
    "a bowl of fruit on a wooden table, still life, soft light",
    "Studio Ghibli style landscape with mountains and a river",
    "low poly 3D render of a fox", "isometric pixel-art castle", "an ukiyo-e print of a wave",
    "masterpiece, best quality, (extremely detailed:1.2), [background], {tag}",
    "((((close-up)))) portrait", "photo | illustration || sketch", "cat_dog-bird.fish",
    "hello,world", "hello , world", "hello...world", "wait -- what?!", "100% real", "$5.99 deal",
    "e-mail: someone@example.com", "https://example.com/path?q=1&x=2", "C:\\Users\\test\\file.txt",
    "#hashtag @mention", "1024x768", "3.14159", "1,000,000", "v1.5", "SD2.1-768", "year 2024", "12345678901234567890",
    "it's", "don't", "they're", "we've", "I'm", "you'll", "he'd", "IT'S", "DON'T", "THEY'RE", "We'Ve",
    "rock 'n' roll", "'tis", "o'clock", "the dog's bone", "the dogs' bones", "'quoted'", "''s", "'''s",
    "it’s curly", "don\u2019t", "“double quotes”", "‘single’", "«guillemets»", "„German“",
    "mixedCase CamelCase snake_case SCREAMING_CASE kebab-case", "iPhone eBay McDonald's",
    "&amp;", "&lt;3", "Tom &amp; Jerry", "&#39;quoted&#39;", "&quot;hi&quot;", "&amp;amp;", "&nbsp;x", "a &gt; b",
    "<|endoftext|>", "<|startoftext|>", "a<|endoftext|>b", "a <|endoftext|> b", "<|endoftext|><|endoftext|>",
    "<|startoftext|>a photo<|endoftext|>", "<|ENDOFTEXT|>", "<|EndOfText|>", "<|endoftext|", "|endoftext|>",
    "<endoftext>", "<|endoftext|>s", "x<|endoftext|>y<|startoftext|>z", "!<|endoftext|>!",
    "😀", "a 😀 cat", "🐱🐶", "👍🏽", "👨‍👩‍👧", "🇯🇵 flag", "❤️", "✨sparkles✨", "🎨 art", "I ❤ NY",
    "東京タワー", "一只猫", "猫の写真", "日本語のテキスト", "中文 English 混合", "한국어 텍스트", "서울",
    "\u1100\u1161\u11a8", "café", "cafe\u0301", "naïve résumé", "Ångström", "Straße", "STRASSE", "ẞ",
    "Ærø", "Ørsted", "São Paulo", "Kraków", "Dvořák", "İstanbul", "ıi", "ǅemal", "ﬁne ﬂower", "x²", "H₂O",
    "½ cup", "①②③", "Ⅻ", "٣ ٤ ٥", "१२३", "ΟΔΟΣ", "Σίσυφος", "αβγ ΑΒΓ", "Привет, мир!", "МОСКВА", "ёлка",
    "Ελληνικά", "עברית", "العربية", "हिन्दी", "ภาษาไทย", "ქართული", "Հայերեն", "ᚠᚢᚦ", "ＡＢＣ１２３",
    "full\u3000width\u3000space", "nbsp\u00a0here", "zero\u200bwidth", "soft\u00adhyphen", "bom\ufeffhere",
    "line\u2028sep", "para\u2029sep", "nel\u0085x", "ogham\u1680space", "mongolian\u180evowel",
    "unit\x1fsep", "file\x1csep", "vertical\x0btab", "form\x0cfeed", "a\r\nb", "a\n\nb", "a\t\tb",
    "  leading", "trailing  ", "  both  ", "many     spaces     here", "tab\tseparated\tvalues",
    "new\nline", "\u2003em\u2002en\u2009thin", "ctrl\x07bell", "nul\x00char", "del\x7fchar", "\ufffd",
    "\U0001d400\U0001d401 math", "🄰🄱", "ℌℑ", "№5", "™®©", "°C 20°", "±∞", "→←↑↓", "♠♣♥♦", "…", "—–-",
    "a" * 20, "ab" * 30, "supercalifragilisticexpialidocious", "pneumonoultramicroscopicsilicovolcanoconiosis",
    "antidisestablishmentarianism " * 3, "ÀÁÂÃÄÅàáâãäå", "ĀāĂăĄą", "ŁłŃńŚśŹźŻż",
]
long_prompts = [
    ", ".join(["a beautiful detailed photograph of a majestic lion in the savanna at golden hour"] * 4),
    " ".join(f"word{i}" for i in range(90)),
    " ".join(["cat"] * 76), " ".join(["cat"] * 75), " ".join(["cat"] * 74), " ".join(["cat"] * 200),
    "1" * 80, "! " * 80, "😀" * 40, "東京" * 60,
    "a cinematic shot of " + " and ".join(["a red car", "a blue bicycle", "a green tree", "a yellow house",
        "a purple flower", "an orange sunset", "a white cloud", "a black cat", "a grey elephant",
        "a pink flamingo", "a brown bear", "a silver spoon", "a golden crown", "a crystal vase"]) * 2,
]
corpus += long_prompts
rng = random.Random(20261122)
pools = [
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
    "0123456789", " \t\n", ".,;:!?'\"()[]{}<>|/\\-_=+*&^%$#@~`",
    "éèêëàâäôöûüçñßøåæœÉÈÊÀÇÑÖÜ", "абвгдежзийклмнопрстуфхцчшщъыьэюяАБВГДЕЖ",
    "αβγδεζηθικλμνξοπρστυφχψωΑΒΓΔΣΩ", "的一是不了人我在有他这中大来上国个到说们", "あいうえおかきくけこアイウエオ",
    "😀😃😄😁🐱🐶🌸🎨🚀✨", "\u0301\u0308\u200d\ufe0f",
]
for n in range(300 - len(corpus)):
    length = rng.randint(1, 40)
    chosen = rng.sample(pools, rng.randint(1, 4))
    corpus.append("".join(rng.choice(rng.choice(chosen)) for _ in range(length)))
assert len(corpus) == len(set(corpus)), "duplicate corpus strings"

def clean_open_clip(text):
    return open_clip_tokenizer.whitespace_clean(open_clip_tokenizer.basic_clean(text)).lower()

cases, differing = [], 0
for text in corpus:
    ids = hf(text, add_special_tokens=False).input_ids
    padded = hf(text, padding="max_length", max_length=77, truncation=True).input_ids
    assert len(padded) == 77
    theirs = oc.encode(text)
    case = {"text": text, "ids": ids, "ids77": padded}
    if theirs != ids:
        differing += 1
        case["openCLIP"] = theirs
        if "<|" not in text:
            explained = hf(clean_open_clip(text), add_special_tokens=False).input_ids
            assert explained == theirs, f"open_clip and transformers disagree beyond text cleanup on {text!r}"
    cases.append(case)

golden = {
    "command": "python3 Scripts/make-clip-tokenizer-goldens.py",
    "versions": {"python": sys.version.split()[0], "transformers": transformers.__version__,
                 "tokenizers": tokenizers.__version__, "open-clip-torch": open_clip_version,
                 "ftfy": ftfy.__version__, "regex": regex.__version__},
    "vocabulary": "weights-manifest/clip-bpe-vocab.json (bpe_simple_vocab_16e6.txt)",
    "oracle": "transformers CLIPTokenizer.from_pretrained(vocab.json + merges.txt converted from the vocabulary): "
              "ids = tokenizer(text, add_special_tokens=False).input_ids; ids77 = tokenizer(text, "
              "padding='max_length', max_length=77, truncation=True).input_ids (pad <|endoftext|>)",
    "openCLIPNote": "openCLIP holds open_clip SimpleTokenizer.encode ids where they differ (ftfy, html.unescape, "
                    "str.lower final sigma, <|endoftext|> not special in open_clip 3.3.0)",
    "cases": cases,
}
with open(args.out, "w", encoding="utf-8") as f:
    json.dump(golden, f, ensure_ascii=False, separators=(",", ":"))
    f.write("\n")
print(f"wrote {args.out}: {len(cases)} strings, {differing} where open_clip differs; "
      f"{os.path.getsize(args.out)} bytes", file=sys.stderr)
