#!/usr/bin/env python3
"""Makes the tiny Hugging Face Llama fixture and its transformers golden for Sparrow's tests.

Writes Tests/LLMTests/Fixtures/hf-llama-tiny/:
  config.json, generation_config.json, model.safetensors  (transformers save_pretrained, BF16)
  tokenizer_config.json                                   (hand-written, with a chat_template)
  golden.json                                             (float32 logits, greedy continuations)
Needs the tokenizer that Scripts/fetch-models.sh fetches (for one text prompt).

The model is a randomly initialised LlamaForCausalLM (fixed seed): 2 layers, hidden 32, 4 query
heads and 2 KV heads (GQA) of dimension 8, intermediate 128, vocabulary 32000 (the size of
mistral-common's tokenizer.model.v1, so the real SentencePiece model can serve as its tokenizer;
Scripts/fetch-models.sh fetches it, it is not committed). Weights are stored in BF16 and the
golden is computed by transformers in float32 from exactly those stored weights, with one change
that mirrors Sparrow (and llama.cpp's default): keys (after RoPE) and values are rounded to IEEE
half precision, as a half-precision KV cache stores them. The golden also records how far the
plain float32 model's logits are from that (the KV cache's own effect) and its greedy tokens.

Usage: python3 Scripts/make-hf-llama-fixture.py   (versions: Scripts/requirements-dev.txt)
"""
import base64
import json
import os
import platform
import sys

import jinja2
import jinja2.sandbox
import numpy as np
import safetensors
import sentencepiece
import torch
import transformers
from transformers import AttentionInterface, LlamaConfig, LlamaForCausalLM
from transformers.masking_utils import AttentionMaskInterface, eager_mask
from transformers.models.llama.modeling_llama import eager_attention_forward

SEED = 20261121
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "LLMTests", "Fixtures", "hf-llama-tiny")
TOP_K = 16
GREEDY_STEPS = 16

# A text prompt encoded by the real tokenizer (BOS + SentencePiece ids), so the test can check
# Sparrow's tokenizer gives the same ids.
TEXT_PROMPT = "The capital of France is"


def tokenizer_model_path():
    """mistral-common's tokenizer.model.v1 where Scripts/fetch-models.sh puts it (ModelStore's rules)."""
    root = os.environ.get("SPARROW_MODELS") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "sparrow", "models")
    return os.path.join(root, "mistral-7b-v0.1-tokenizer", "tokenizer.model.v1")


CHAT_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}"
    "{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}"
    "{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token }}"
    "{% endif %}{% endfor %}"
)
CHAT_EXAMPLE = [
    {"role": "user", "content": "Hello!"},
    {"role": "assistant", "content": "Hi."},
    {"role": "user", "content": "What is 2+2?"},
]


def f16_kv_attention(module, query, key, value, attention_mask, **kwargs):
    """transformers' eager attention over keys and values rounded to half precision (a f16 KV cache)."""
    return eager_attention_forward(module, query, key.half().float(), value.half().float(), attention_mask, **kwargs)


def greedy(model, ids):
    """GREEDY_STEPS argmax tokens (full recompute each step, no EOS stop) and the smallest top-2 margin."""
    sequence, margins = list(ids), []
    for _ in range(GREEDY_STEPS):
        row = model(torch.tensor([sequence])).logits[0, -1].float()
        best = torch.topk(row, 2)
        margins.append(float(best.values[0] - best.values[1]))
        sequence.append(int(best.indices[0]))
    return sequence[len(ids):], min(margins)


def main():
    torch.manual_seed(SEED)
    config = LlamaConfig(
        vocab_size=32000, hidden_size=32, intermediate_size=128, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, head_dim=8, rope_theta=10000.0,
        rms_norm_eps=1e-6, max_position_embeddings=512, tie_word_embeddings=True,
        bos_token_id=1, eos_token_id=2, initializer_range=0.02)
    model = LlamaForCausalLM(config)
    # Larger weights than the default init, so next-token distributions are peaked, greedy decoding
    # is decided by clear margins and does not just repeat the last token (the blocks outweigh the
    # tied embedding on the residual stream); norm weights away from 1 so they are tested too.
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):
                p.copy_(1 + 0.25 * torch.randn_like(p))
            elif "embed_tokens" in name:
                p.copy_(0.5 * torch.randn_like(p))
            else:
                p.copy_(2 * torch.randn_like(p) / p.shape[1] ** 0.5)
    model = model.to(torch.bfloat16)

    # Replace what this script writes; keep the folder's README.md.
    os.makedirs(OUT, exist_ok=True)
    for name in os.listdir(OUT):
        if name != "README.md":
            os.remove(os.path.join(OUT, name))
    model.save_pretrained(OUT, safe_serialization=True)
    model.generation_config.save_pretrained(OUT)
    with open(os.path.join(OUT, "tokenizer_config.json"), "w") as f:
        json.dump({
            "tokenizer_class": "LlamaTokenizer",
            "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>",
            "add_bos_token": True, "add_eos_token": False,
            "model_max_length": 512,
            "chat_template": CHAT_TEMPLATE,
        }, f, indent=2)
        f.write("\n")

    # The oracle: transformers in float32 from exactly the stored BF16 weights, f16 K/V.
    AttentionInterface.register("f16_kv_eager", f16_kv_attention)
    AttentionMaskInterface.register("f16_kv_eager", eager_mask)  # the causal mask eager attention takes
    reference = LlamaForCausalLM.from_pretrained(OUT, dtype=torch.float32, attn_implementation="f16_kv_eager").eval()
    plain = LlamaForCausalLM.from_pretrained(OUT, dtype=torch.float32, attn_implementation="eager").eval()
    gen = torch.Generator().manual_seed(SEED + 1)
    prompts = [[1] + torch.randint(3, 32000, (n - 1,), generator=gen).tolist() for n in (5, 12, 20)]
    sp = sentencepiece.SentencePieceProcessor(model_file=tokenizer_model_path())
    prompts.append([sp.bos_id()] + sp.encode(TEXT_PROMPT))

    cases = []
    kv_effect = 0.0
    with torch.no_grad():
        for ids in prompts:
            logits = reference(torch.tensor([ids])).logits[0].float()  # [L, V]
            kv_effect = max(kv_effect, float((plain(torch.tensor([ids])).logits[0].float() - logits).abs().max()))
            top = torch.topk(logits, TOP_K, dim=-1)
            tokens, margin = greedy(reference, ids)
            plain_tokens, _ = greedy(plain, ids)
            cases.append({
                "prompt": ids,
                "top_ids": top.indices.tolist(),
                "top_logits": top.values.tolist(),
                "last_logits_f32_base64": base64.b64encode(logits[-1].numpy().astype("<f4").tobytes()).decode(),
                "greedy": tokens,
                "greedy_min_margin": margin,
                "greedy_plain_float32": plain_tokens,
            })
    min_margin = min(c["greedy_min_margin"] for c in cases)
    if min_margin < 1e-2:
        sys.exit(f"greedy top-2 margin {min_margin} too small for a robust oracle: pick another seed")

    # transformers renders chat templates with this sandboxed environment and these options.
    env = jinja2.sandbox.ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    rendered = env.from_string(CHAT_TEMPLATE).render(
        messages=CHAT_EXAMPLE, bos_token="<s>", eos_token="</s>", add_generation_prompt=True)

    golden = {
        "provenance": {
            "command": "python3 Scripts/make-hf-llama-fixture.py",
            "python": platform.python_version(), "torch": torch.__version__,
            "transformers": transformers.__version__, "safetensors": safetensors.__version__,
            "numpy": np.__version__, "jinja2": jinja2.__version__, "sentencepiece": sentencepiece.__version__,
            "seed": SEED,
            "oracle": "LlamaForCausalLM.from_pretrained(dtype=float32), eager attention over K (after RoPE) and V rounded to float16",
            "f16_kv_effect_max_abs_logit": kv_effect,
            "greedy": "argmax of the last-position logits, full recompute each step, no EOS stop",
        },
        "top_k": TOP_K,
        "text_prompt": {"text": TEXT_PROMPT, "ids": prompts[-1], "tokenizer": "mistral-common==1.13.1 tokenizer.model.v1"},
        "cases": cases,
        "chat_template_example": {"messages": CHAT_EXAMPLE, "add_generation_prompt": True, "rendered": rendered},
    }
    with open(os.path.join(OUT, "golden.json"), "w") as f:
        json.dump(golden, f)
        f.write("\n")
    for name in sorted(os.listdir(OUT)):
        print(f"{os.path.getsize(os.path.join(OUT, name)):>9}  {name}")
    print(f"min greedy margin {min_margin:.4f}, f16 KV effect on logits {kv_effect:.4g}")


if __name__ == "__main__":
    main()
