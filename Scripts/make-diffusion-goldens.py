#!/usr/bin/env python3
"""Builds two tiny randomly initialised Stable Diffusion pipelines (SD 1.x and SD 2.x style) and a tiny
TAESD with diffusers, saves them as diffusers folders and as original-layout single-file checkpoints, and
records goldens (tokenizer ids, text embeddings, one UNet call, VAE encode/decode, scheduler steps and
full pipeline runs) for the Swift SparrowDiffusion tests.

Usage (from the repository root; needs Scripts/requirements-dev.txt):
    python3 Scripts/make-diffusion-goldens.py [--open-clip-wheel open_clip_torch-3.3.0-py3-none-any.whl]
        [--out Tests/DiffusionTests/Fixtures]

Without --open-clip-wheel the script runs `pip download --no-deps open-clip-torch==3.3.0` into a temporary
folder. The CLIP vocabulary (open_clip/bpe_simple_vocab_16e6.txt.gz) is read from that wheel and turned
into diffusers' tokenizer files (vocab.json + merges.txt); open_clip's own tokenizer.py (read from the same
wheel) is the oracle the transformers CLIPTokenizer ids are checked against.

Everything runs on the CPU in float32 with fixed seeds, one thread and deterministic algorithms; weights
are rounded to their storage type (fp16 / bf16) before any golden is computed, and every golden is computed
from the pipeline loaded back from the saved folder, so the files on disk are the whole truth.
"""

import argparse
import functools
import gzip
import importlib.util
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("DIFFUSERS_VERBOSITY", "error")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

import numpy as np
import torch
import safetensors
from safetensors.torch import load_file, save_file

import diffusers
import transformers
from diffusers import (AutoencoderKL, AutoencoderTiny, DDIMScheduler, EulerAncestralDiscreteScheduler,
                       EulerDiscreteScheduler, LCMScheduler, PNDMScheduler, StableDiffusionImg2ImgPipeline,
                       StableDiffusionPipeline, UNet2DConditionModel)
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

OPEN_CLIP_VERSION = "3.3.0"
VOCAB_MEMBER = "open_clip/bpe_simple_vocab_16e6.txt.gz"
TOKENIZER_MEMBER = "open_clip/tokenizer.py"
VOCAB_SIZE = 49408
START, END = "<|startoftext|>", "<|endoftext|>"

PROMPT = "a photograph of an astronaut riding a horse"
NEGATIVE_PROMPT = "blurry, low quality"
TOKENIZER_CASES = [
    PROMPT,
    NEGATIVE_PROMPT,
    "A Red CAR, parked by the sea at SUNSET!!",
    "don't stop -- it's 3.14159 o'clock; we'll see, they've gone",
    "   multiple   spaces\tand\nnew lines  ",
    "",
    "caf\u00e9 cr\u00e8me br\u00fbl\u00e9e, na\u00efve",
    "emoji \U0001F642 and symbols #hashtag @user 100%",
    "a highly detailed digital painting of a futuristic city at night, neon lights, rain, reflections, "
    "cinematic lighting, volumetric fog, octane render, trending on artstation, 8k, ultra realistic, "
    "sharp focus, intricate details, by greg rutkowski and alphonse mucha, masterpiece, best quality, "
    "wide angle lens, dramatic composition, vibrant colors",
]
# Latent grids are non-square so height/width mix-ups show; pipelines need images divisible by 8, so the
# size depends on the VAE's scale (sd1: 2x -> 8x16 images, sd2 and TAESD: 4x -> 32x24 images).
LATENT_SIZES = {2: (4, 8), 4: (8, 6)}


# ----------------------------------------------------------------------------------------------------
# Determinism and small helpers
# ----------------------------------------------------------------------------------------------------

def make_deterministic():
    diffusers.utils.logging.disable_progress_bar()
    transformers.utils.logging.disable_progress_bar()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    torch.manual_seed(0)
    np.random.seed(0)


def randn(shape, seed):
    """torch.randn(shape) from a fresh CPU generator, the stream Sparrow's TorchGenerator reproduces."""
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float32)


def round_parameters(model, dtype, seed):
    """Gives norm layers non-trivial affine parameters, then rounds every parameter to `dtype`."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, (torch.nn.GroupNorm, torch.nn.LayerNorm)) and module.weight is not None:
                module.weight.copy_(1 + 0.1 * torch.randn(module.weight.shape, generator=gen))
                module.bias.copy_(0.1 * torch.randn(module.bias.shape, generator=gen))
        for p in model.parameters():
            p.copy_(p.to(dtype).to(torch.float32))


def f32(t):
    return t.detach().to(torch.float32).contiguous().clone()


def check_equal(a, b, what):
    if a.shape != b.shape or not torch.equal(a.to(torch.float32), b.to(torch.float32)):
        diff = (a.float() - b.float()).abs().max().item() if a.shape == b.shape else "shape"
        raise SystemExit(f"verification failed: {what} differs ({diff})")


def check_close(a, b, what, tol=1e-5):
    diff = (a.float() - b.float()).abs().max().item()
    if a.shape != b.shape or diff > tol:
        raise SystemExit(f"verification failed: {what} differs by {diff}")


# ----------------------------------------------------------------------------------------------------
# CLIP vocabulary: open_clip's bpe_simple_vocab_16e6.txt.gz -> diffusers tokenizer/ folder
# ----------------------------------------------------------------------------------------------------

def fetch_open_clip_wheel(path):
    if path:
        return path
    folder = tempfile.mkdtemp(prefix="open-clip-")
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", folder,
                    f"open-clip-torch=={OPEN_CLIP_VERSION}"], check=True)
    wheels = [f for f in os.listdir(folder) if f.endswith(".whl")]
    if len(wheels) != 1:
        raise SystemExit(f"expected one wheel in {folder}, found {wheels}")
    return os.path.join(folder, wheels[0])


def byte_symbols():
    """The 256 printable stand-ins GPT-2/CLIP byte-level BPE uses for bytes, in CLIP's vocabulary order:
    first the bytes that are printable themselves ('!'...'~', '\u00a1'...'\u00ac', '\u00ae'...'\u00ff'),
    then the other bytes in byte order, mapped to chr(256), chr(257), ..."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("\u00a1"), ord("\u00ac") + 1)) \
        + list(range(ord("\u00ae"), ord("\u00ff") + 1))
    others = [b for b in range(256) if b not in printable]
    return [chr(b) for b in printable] + [chr(256 + n) for n in range(len(others))]


def clip_vocabulary(bpe_text):
    """vocab (token -> id) and merge list exactly as CLIP orders them: 256 byte symbols, the same with
    '</w>', one token per merge, then <|startoftext|> and <|endoftext|>."""
    lines = bpe_text.split("\n")
    merges = [tuple(line.split()) for line in lines[1:49152 - 256 - 2 + 1]]
    symbols = byte_symbols()
    tokens = symbols + [s + "</w>" for s in symbols] + ["".join(m) for m in merges] + [START, END]
    if len(tokens) != VOCAB_SIZE or len(set(tokens)) != VOCAB_SIZE:
        raise SystemExit(f"vocabulary has {len(tokens)} tokens ({len(set(tokens))} distinct), expected {VOCAB_SIZE}")
    return {t: i for i, t in enumerate(tokens)}, merges


def added_token(content):
    return {"__type": "AddedToken", "content": content, "lstrip": False, "normalized": True,
            "rstrip": False, "single_word": False}


def write_tokenizer(folder, vocab, merges, pad, share_from=None):
    """Writes a diffusers tokenizer/ folder. SD 1.x pads with <|endoftext|>, SD 2.x with "!" (id 0), as the
    real repositories do. With share_from, vocab.json and merges.txt become relative symlinks."""
    os.makedirs(folder, exist_ok=True)
    if share_from:
        for name in ("vocab.json", "merges.txt"):
            target = os.path.relpath(os.path.join(share_from, name), folder)
            os.symlink(target, os.path.join(folder, name))
    else:
        with open(os.path.join(folder, "vocab.json"), "w", encoding="utf-8") as f:
            json.dump(vocab, f, ensure_ascii=False)
        with open(os.path.join(folder, "merges.txt"), "w", encoding="utf-8") as f:
            f.write("#version: 0.2\n")
            f.write("\n".join(" ".join(m) for m in merges) + "\n")
    config = {
        "add_prefix_space": False,
        "bos_token": added_token(START),
        "do_lower_case": True,
        "eos_token": added_token(END),
        "errors": "replace",
        "model_max_length": 77,
        "pad_token": added_token(END) if pad == END else pad,
        "tokenizer_class": "CLIPTokenizer",
        "unk_token": added_token(END),
    }
    with open(os.path.join(folder, "tokenizer_config.json"), "w") as f:
        json.dump(config, f, indent=2)
    with open(os.path.join(folder, "special_tokens_map.json"), "w") as f:
        json.dump({"bos_token": START, "eos_token": END, "pad_token": pad, "unk_token": END}, f, indent=2)


def load_open_clip_tokenizer(wheel, bpe_path):
    """Imports open_clip/tokenizer.py from the wheel on its own (the package __init__ needs torchvision)."""
    folder = tempfile.mkdtemp(prefix="open-clip-tok-")
    with zipfile.ZipFile(wheel) as z:
        z.extract(TOKENIZER_MEMBER, folder)
        z.extract(VOCAB_MEMBER, folder)   # tokenizer.py builds a default tokenizer from it at import
    spec = importlib.util.spec_from_file_location("open_clip_tokenizer",
                                                  os.path.join(folder, TOKENIZER_MEMBER))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.SimpleTokenizer(bpe_path=bpe_path)


def verify_tokenizers(oc, sd1_tok, sd2_tok):
    """transformers' CLIPTokenizer on our files must give open_clip's ids. SD 1.x must match open_clip up to
    <|endoftext|> (then pads with <|endoftext|>); SD 2.x pads with 0 ("!") exactly like open_clip, but
    transformers treats its pad token "!" as a special token that is split out of the text, so text that
    contains "!" differs from open_clip there ("!!" -> [0, 0] instead of [748]); those cases are recorded."""
    report = []
    for text in TOKENIZER_CASES:
        reference = oc([text])[0].tolist()           # open_clip: start, ids, end, zero padding, 77
        ids2 = sd2_tok(text, padding="max_length", max_length=77, truncation=True).input_ids
        ids1 = sd1_tok(text, padding="max_length", max_length=77, truncation=True).input_ids
        n = reference.index(49407) + 1
        if ids1[:n] != reference[:n] or any(i != 49407 for i in ids1[n:]):
            raise SystemExit(f"SD 1.x tokenizer differs from open_clip for {text!r}:\n{ids1}\n{reference}")
        if "!" not in text and ids2 != reference:
            raise SystemExit(f"SD 2.x tokenizer differs from open_clip for {text!r}:\n{ids2}\n{reference}")
        report.append({"text": text, "bpe": oc.encode(text), "open_clip_ids": reference, "sd1_ids": ids1,
                       "sd2_ids": ids2, "sd2_differs_from_open_clip": ids2 != reference})
    return report


# ----------------------------------------------------------------------------------------------------
# Tiny models
# ----------------------------------------------------------------------------------------------------

def text_encoder_config(flavour):
    common = dict(vocab_size=VOCAB_SIZE, hidden_size=8, intermediate_size=32, num_attention_heads=2,
                  max_position_embeddings=77, layer_norm_eps=1e-5, bos_token_id=0, eos_token_id=2,
                  pad_token_id=1, projection_dim=8)
    if flavour == "sd1":
        # CLIP ViT-L/14 text tower, scaled down: quick_gelu, last layer + final layer norm.
        return CLIPTextConfig(hidden_act="quick_gelu", num_hidden_layers=3, **common)
    # OpenCLIP ViT-H text tower as diffusers stores it for SD 2: gelu, 23 of OpenCLIP's 24 layers (the
    # penultimate layer is the output), then the final layer norm.
    return CLIPTextConfig(hidden_act="gelu", num_hidden_layers=23, **common)


def unet_config(flavour):
    if flavour == "sd1":
        return dict(sample_size=12, in_channels=4, out_channels=4, layers_per_block=2,
                    block_out_channels=(8, 16), norm_num_groups=4,
                    down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
                    up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
                    cross_attention_dim=8, attention_head_dim=2, use_linear_projection=False)
    return dict(sample_size=8, in_channels=4, out_channels=4, layers_per_block=1,
                block_out_channels=(8, 16), norm_num_groups=4,
                down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
                up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
                cross_attention_dim=8, attention_head_dim=[1, 2], use_linear_projection=True,
                upcast_attention=True)


def vae_config(flavour):
    if flavour == "sd1":   # 2 blocks: images are 2x the latents
        return dict(in_channels=3, out_channels=3, latent_channels=4, block_out_channels=(8, 16),
                    down_block_types=("DownEncoderBlock2D",) * 2, up_block_types=("UpDecoderBlock2D",) * 2,
                    layers_per_block=1, norm_num_groups=4, sample_size=24, scaling_factor=0.18215)
    return dict(in_channels=3, out_channels=3, latent_channels=4, block_out_channels=(8, 16, 16),
                down_block_types=("DownEncoderBlock2D",) * 3, up_block_types=("UpDecoderBlock2D",) * 3,
                layers_per_block=2, norm_num_groups=4, sample_size=32, scaling_factor=0.18215)


def scheduler_for_folder(flavour):
    common = dict(num_train_timesteps=1000, beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                  trained_betas=None, clip_sample=False, set_alpha_to_one=False, steps_offset=1,
                  skip_prk_steps=True)
    if flavour == "sd1":   # runwayml/stable-diffusion-v1-5 ships PNDM with these values
        return PNDMScheduler.from_config(dict(common, prediction_type="epsilon"))   # keeps clip_sample
    return DDIMScheduler.from_config(dict(common, prediction_type="v_prediction"))  # stable-diffusion-2-1


def build_pipeline(flavour, dtype, seed, tokenizer):
    torch.manual_seed(seed)
    text_encoder = CLIPTextModel(text_encoder_config(flavour)).eval()
    round_parameters(text_encoder, dtype, seed + 1)
    torch.manual_seed(seed + 2)
    unet = UNet2DConditionModel(**unet_config(flavour)).eval()
    round_parameters(unet, dtype, seed + 3)
    torch.manual_seed(seed + 4)
    vae = AutoencoderKL(**vae_config(flavour)).eval()
    round_parameters(vae, dtype, seed + 5)
    return StableDiffusionPipeline(vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, unet=unet,
                                   scheduler=scheduler_for_folder(flavour), safety_checker=None,
                                   feature_extractor=None, requires_safety_checker=False)


def save_folder(pipe, folder, dtype, tokenizer_writer, prefix_text_model):
    # The tokenizer folder may hold symlinks into another fixture: never let save_pretrained write through them.
    shutil.rmtree(os.path.join(folder, "tokenizer"), ignore_errors=True)
    pipe.to(dtype)
    pipe.save_pretrained(folder, safe_serialization=True)
    pipe.to(torch.float32)
    shutil.rmtree(os.path.join(folder, "tokenizer"))
    tokenizer_writer(os.path.join(folder, "tokenizer"))
    if prefix_text_model:
        # transformers >= 5.6 saves CLIPTextModel keys without the `text_model.` prefix; the SD 1.5
        # repository (and every older save) has it. Keep the original layout here, the flat one in sd2.
        path = os.path.join(folder, "text_encoder", "model.safetensors")
        tensors = load_file(path)
        save_file({"text_model." + k: v for k, v in tensors.items()}, path, metadata={"format": "pt"})


# ----------------------------------------------------------------------------------------------------
# diffusers -> original (LDM / CompVis / Stability) single-file layout. The inverse of the mapping in
# diffusers/loaders/single_file_utils.py (convert_ldm_unet_checkpoint, convert_ldm_vae_checkpoint,
# convert_ldm_clip_checkpoint, convert_open_clip_checkpoint); written here and verified by loading the
# file back with diffusers' from_single_file.
# ----------------------------------------------------------------------------------------------------

RESNET_NAMES = {"norm1": "in_layers.0", "conv1": "in_layers.2", "norm2": "out_layers.0",
                "conv2": "out_layers.3", "time_emb_proj": "emb_layers.1", "conv_shortcut": "skip_connection"}


def ldm_resnet(rest):
    head, _, tail = rest.partition(".")
    return RESNET_NAMES[head] + "." + tail


def unet_to_ldm(state, config):
    per_block = config["layers_per_block"]
    up_has_attention = ["CrossAttn" in t for t in config["up_block_types"]]
    direct = {"time_embedding.linear_1": "time_embed.0", "time_embedding.linear_2": "time_embed.2",
              "conv_in": "input_blocks.0.0", "conv_norm_out": "out.0", "conv_out": "out.2"}
    out = {}
    for key, value in state.items():
        m = None
        for d, o in direct.items():
            if key.startswith(d + "."):
                m = o + key[len(d):]
        if m is None and (r := re.fullmatch(r"down_blocks\.(\d+)\.resnets\.(\d+)\.(.+)", key)):
            b, l, rest = int(r[1]), int(r[2]), r[3]
            m = f"input_blocks.{1 + b * (per_block + 1) + l}.0.{ldm_resnet(rest)}"
        elif m is None and (r := re.fullmatch(r"down_blocks\.(\d+)\.attentions\.(\d+)\.(.+)", key)):
            b, l, rest = int(r[1]), int(r[2]), r[3]
            m = f"input_blocks.{1 + b * (per_block + 1) + l}.1.{rest}"
        elif m is None and (r := re.fullmatch(r"down_blocks\.(\d+)\.downsamplers\.0\.conv\.(.+)", key)):
            b, rest = int(r[1]), r[2]
            m = f"input_blocks.{1 + b * (per_block + 1) + per_block}.0.op.{rest}"
        elif m is None and (r := re.fullmatch(r"mid_block\.resnets\.(\d+)\.(.+)", key)):
            m = f"middle_block.{2 * int(r[1])}.{ldm_resnet(r[2])}"
        elif m is None and (r := re.fullmatch(r"mid_block\.attentions\.0\.(.+)", key)):
            m = f"middle_block.1.{r[1]}"
        elif m is None and (r := re.fullmatch(r"up_blocks\.(\d+)\.resnets\.(\d+)\.(.+)", key)):
            b, l, rest = int(r[1]), int(r[2]), r[3]
            m = f"output_blocks.{b * (per_block + 1) + l}.0.{ldm_resnet(rest)}"
        elif m is None and (r := re.fullmatch(r"up_blocks\.(\d+)\.attentions\.(\d+)\.(.+)", key)):
            b, l, rest = int(r[1]), int(r[2]), r[3]
            m = f"output_blocks.{b * (per_block + 1) + l}.1.{rest}"
        elif m is None and (r := re.fullmatch(r"up_blocks\.(\d+)\.upsamplers\.0\.conv\.(.+)", key)):
            b, rest = int(r[1]), r[2]
            slot = 2 if up_has_attention[b] else 1
            m = f"output_blocks.{b * (per_block + 1) + per_block}.{slot}.conv.{rest}"
        if m is None:
            raise SystemExit(f"no original-layout name for UNet tensor {key}")
        out["model.diffusion_model." + m] = value
    return out


VAE_ATTENTION_NAMES = {"group_norm": "norm", "to_q": "q", "to_k": "k", "to_v": "v", "to_out.0": "proj_out"}


def vae_to_ldm(state, config):
    blocks = len(config["up_block_types"])
    out = {}
    for key, value in state.items():
        m = None
        if (r := re.fullmatch(r"(encoder|decoder)\.conv_norm_out\.(.+)", key)):
            m = f"{r[1]}.norm_out.{r[2]}"
        elif (r := re.fullmatch(r"encoder\.down_blocks\.(\d+)\.resnets\.(\d+)\.(.+)", key)):
            m = f"encoder.down.{r[1]}.block.{r[2]}.{r[3].replace('conv_shortcut', 'nin_shortcut')}"
        elif (r := re.fullmatch(r"encoder\.down_blocks\.(\d+)\.downsamplers\.0\.conv\.(.+)", key)):
            m = f"encoder.down.{r[1]}.downsample.conv.{r[2]}"
        elif (r := re.fullmatch(r"decoder\.up_blocks\.(\d+)\.resnets\.(\d+)\.(.+)", key)):
            m = f"decoder.up.{blocks - 1 - int(r[1])}.block.{r[2]}.{r[3].replace('conv_shortcut', 'nin_shortcut')}"
        elif (r := re.fullmatch(r"decoder\.up_blocks\.(\d+)\.upsamplers\.0\.conv\.(.+)", key)):
            m = f"decoder.up.{blocks - 1 - int(r[1])}.upsample.conv.{r[2]}"
        elif (r := re.fullmatch(r"(encoder|decoder)\.mid_block\.resnets\.(\d+)\.(.+)", key)):
            m = f"{r[1]}.mid.block_{int(r[2]) + 1}.{r[3].replace('conv_shortcut', 'nin_shortcut')}"
        elif (r := re.fullmatch(r"(encoder|decoder)\.mid_block\.attentions\.0\.(.+)\.(weight|bias)", key)):
            m = f"{r[1]}.mid.attn_1.{VAE_ATTENTION_NAMES[r[2]]}.{r[3]}"
            if r[3] == "weight" and r[2] != "group_norm":
                value = value[:, :, None, None]       # the original stores 1x1 convolutions
        elif re.fullmatch(r"(encoder|decoder)\.conv_(in|out)\..+|(post_)?quant_conv\..+", key):
            m = key
        if m is None:
            raise SystemExit(f"no original-layout name for VAE tensor {key}")
        out["first_stage_model." + m] = value
    return out


def clip_to_ldm(state):
    """SD 1.x: the transformers CLIPTextModel under cond_stage_model.transformer.text_model."""
    return {"cond_stage_model.transformer.text_model." + k.removeprefix("text_model."): v
            for k, v in state.items() if not k.endswith("position_ids")}


OPEN_CLIP_LAYER_NAMES = {"layer_norm1": "ln_1", "layer_norm2": "ln_2", "mlp.fc1": "mlp.c_fc",
                         "mlp.fc2": "mlp.c_proj", "self_attn.out_proj": "attn.out_proj"}


def open_clip_to_ldm(state, extra_layer, text_projection):
    """SD 2.x: OpenCLIP layout under cond_stage_model.model., fused q/k/v in_proj, all 24 resblocks (the
    last one, which SD 2 never runs, is `extra_layer`) and the text projection (unused by SD 2)."""
    state = {k.removeprefix("text_model."): v for k, v in state.items() if not k.endswith("position_ids")}
    layers = {}
    for k, v in state.items():
        if (r := re.fullmatch(r"encoder\.layers\.(\d+)\.(.+)", k)):
            layers.setdefault(int(r[1]), {})[r[2]] = v
    extra_index = len(layers)
    layers[extra_index] = extra_layer
    p = "cond_stage_model.model."
    out = {p + "token_embedding.weight": state["embeddings.token_embedding.weight"],
           p + "positional_embedding": state["embeddings.position_embedding.weight"],
           p + "ln_final.weight": state["final_layer_norm.weight"],
           p + "ln_final.bias": state["final_layer_norm.bias"],
           p + "text_projection": text_projection}
    for i, layer in sorted(layers.items()):
        q = f"{p}transformer.resblocks.{i}."
        for part in ("weight", "bias"):
            out[q + f"attn.in_proj_{part}"] = torch.cat([layer[f"self_attn.{n}_proj.{part}"] for n in "qkv"])
        for name, value in layer.items():
            head, _, part = name.rpartition(".")
            if head in OPEN_CLIP_LAYER_NAMES:
                out[q + OPEN_CLIP_LAYER_NAMES[head] + "." + part] = value
    return out, extra_index


def save_single_file(path, state, dtype):
    save_file({k: v.to(dtype).contiguous() for k, v in state.items()}, path, metadata={"format": "pt"})


def verify_single_file(path, folder, reference, flavour):
    """Loads the single file back with diffusers (config from the local folder, no hub) and checks every
    tensor of every component against the folder pipeline."""
    loaded = StableDiffusionPipeline.from_single_file(path, config=folder, local_files_only=True,
                                                      torch_dtype=torch.float32, safety_checker=None)
    count = 0
    for name in ("unet", "vae", "text_encoder"):
        want = getattr(reference, name).state_dict()
        got = getattr(loaded, name).state_dict()
        for key, value in want.items():
            if key.endswith("position_ids"):
                continue
            if key not in got:
                raise SystemExit(f"{flavour} single file: {name}.{key} missing after from_single_file")
            check_equal(got[key], value, f"{flavour} single file {name}.{key}")
            count += 1
    return count


# ----------------------------------------------------------------------------------------------------
# Goldens
# ----------------------------------------------------------------------------------------------------

class Goldens:
    """fp32 tensors for one safetensors file plus JSON-able notes."""

    def __init__(self):
        self.tensors = {}

    def put(self, name, tensor):
        if name in self.tensors:
            raise SystemExit(f"duplicate golden {name}")
        self.tensors[name] = f32(tensor)

    def save(self, path, command):
        save_file(self.tensors, path, metadata={"command": command, "script": "Scripts/make-diffusion-goldens.py"})


def tokens(pipe, text):
    return pipe.tokenizer(text, padding="max_length", max_length=77, truncation=True,
                          return_tensors="pt").input_ids


@torch.no_grad()
def text_embeddings(encoder, ids, skip=None):
    """skip=None: last_hidden_state (the default pipeline path). skip=1: hidden_states[-2] then the final
    layer norm, which is what StableDiffusionPipeline does for clip_skip=1 (matches diffusers
    pipeline_stable_diffusion.py encode_prompt; that code path itself raises with transformers 5.23, whose
    flattened CLIPTextModel has no `.text_model`, so it is computed here directly)."""
    out = encoder(ids, output_hidden_states=True)
    if skip is None:
        return out.last_hidden_state
    return encoder.final_layer_norm(out.hidden_states[-(skip + 1)])


class StepRecorder:
    """Wraps scheduler.step and the UNet forward of one pipeline call and records every step: the sample
    the scheduler got, the UNet input (scale_model_input), the UNet outputs (uncond/text halves), the
    guided model output, the noise the scheduler drew from the generator, prev_sample and the denoised
    estimate."""

    def __init__(self, pipe, scheduler):
        self.steps, self.pending = [], {}
        original = scheduler.step

        @functools.wraps(original)
        def step(model_output, timestep, sample, *args, **kwargs):
            generator = kwargs.get("generator")
            before = generator.get_state().clone() if generator is not None else None
            noise = None
            if generator is not None:
                probe = torch.Generator()
                probe.set_state(before)
                noise = torch.randn(model_output.shape, generator=probe, dtype=model_output.dtype)
            out = original(model_output, timestep, sample, *args, **kwargs)
            prev, denoised = (out[0], out[1]) if isinstance(out, tuple) else (out.prev_sample, out[1])
            drew = generator is not None and not torch.equal(generator.get_state(), before)
            record = dict(self.pending, timestep=float(timestep), sample=f32(sample),
                          model_output=f32(model_output), prev_sample=f32(prev), denoised=f32(denoised))
            if drew:
                probe_after = torch.Generator()
                probe_after.set_state(before)
                torch.randn(model_output.shape, generator=probe_after, dtype=model_output.dtype)
                if not torch.equal(probe_after.get_state(), generator.get_state()):
                    raise SystemExit("scheduler drew something other than one randn(sample shape)")
                record["noise"] = f32(noise)
            self.steps.append(record)
            self.pending = {}
            return out

        scheduler.step = step
        self.handle = pipe.unet.register_forward_hook(self.unet_hook, with_kwargs=True)

    def unet_hook(self, module, args, kwargs, output):
        sample = args[0] if args else kwargs["sample"]
        result = output[0] if isinstance(output, tuple) else output.sample
        if sample.shape[0] == 2:
            if not torch.equal(sample[0], sample[1]):
                raise SystemExit("CFG halves of the UNet input differ")
            self.pending = dict(unet_input=f32(sample[:1]), noise_pred_uncond=f32(result[:1]),
                                noise_pred_text=f32(result[1:]))
        else:
            self.pending = dict(unet_input=f32(sample), noise_pred=f32(result))

    def close(self):
        self.handle.remove()


def scheduler_config_json(scheduler):
    return {k: v for k, v in dict(scheduler.config).items() if not k.startswith("_")} | \
        {"_class_name": type(scheduler).__name__}


def model_config_json(config):
    return {k: v for k, v in dict(config).items() if k not in ("_name_or_path", "_use_default_values")}


SCHEDULER_CLASSES = {"lcm": LCMScheduler, "euler-a": EulerAncestralDiscreteScheduler,
                     "euler": EulerDiscreteScheduler, "ddim": DDIMScheduler}


@torch.no_grad()
def run_pipeline(pipe, goldens, name, kind, steps, guidance, seed, spacing=None, strength=None, init_image=None,
                 vae=None):
    """One full pipeline call recorded step by step; returns its JSON notes."""
    overrides = {"timestep_spacing": spacing} if spacing else {}
    scheduler = SCHEDULER_CLASSES[kind].from_config(pipe.scheduler.config, **overrides)
    components = dict(pipe.components, scheduler=scheduler)
    if vae is not None:
        components["vae"] = vae
    cls = StableDiffusionImg2ImgPipeline if init_image is not None else StableDiffusionPipeline
    runner = cls(**components)
    runner.set_progress_bar_config(disable=True)
    decoder_runner = cls(**dict(components, scheduler=SCHEDULER_CLASSES[kind].from_config(pipe.scheduler.config, **overrides)))
    decoder_runner.set_progress_bar_config(disable=True)
    lh, lw = LATENT_SIZES[runner.vae_scale_factor]
    height, width = lh * runner.vae_scale_factor, lw * runner.vae_scale_factor
    kwargs = dict(prompt=PROMPT, negative_prompt=NEGATIVE_PROMPT, num_inference_steps=steps,
                  guidance_scale=guidance)
    if init_image is not None:
        kwargs.update(image=init_image, strength=strength)
    else:
        kwargs.update(height=height, width=width)

    recorder = StepRecorder(runner, scheduler)
    latents = runner(**kwargs, generator=torch.Generator().manual_seed(seed), output_type="latent").images
    recorder.close()
    image = decoder_runner(**kwargs, generator=torch.Generator().manual_seed(seed), output_type="np").images
    image = torch.from_numpy(image)

    # The decoded image is the VAE decode of the final latents, post-processed to [0, 1] NHWC.
    decoded = runner.vae.decode(latents / runner.vae.config.scaling_factor).sample
    check_close(torch.from_numpy(runner.image_processor.postprocess(decoded, output_type="np")), image,
                f"{name} image vs decode(latents)", tol=1e-6)
    check_equal(recorder.steps[-1]["prev_sample"], latents, f"{name} last prev_sample vs latents")

    shape = (1, 4, lh, lw)
    notes = dict(pipeline=cls.__name__, scheduler=scheduler_config_json(scheduler), steps=steps,
                 guidance_scale=guidance, cfg=runner.do_classifier_free_guidance, seed=seed,
                 height=height, width=width, init_noise_sigma=float(scheduler.init_noise_sigma),
                 timesteps=[s["timestep"] for s in recorder.steps],
                 noise_drawn_per_step=["noise" in s for s in recorder.steps], vae=type(runner.vae).__name__)
    # One generator stream per run: txt2img draws the initial noise, then each scheduler step that draws
    # noise takes the next randn(shape); img2img draws latent_dist.sample's noise, then add_noise's noise.
    gen = torch.Generator().manual_seed(seed)
    if init_image is None:
        noise = torch.randn(shape, generator=gen)
        check_close(recorder.steps[0]["sample"], noise * scheduler.init_noise_sigma, f"{name} initial latents")
        goldens.put(f"{name}/initial_noise", noise)
    else:
        eps, noise = torch.randn(shape, generator=gen), torch.randn(shape, generator=gen)
        image_in = runner.image_processor.preprocess(init_image)
        dist = runner.vae.encode(image_in).latent_dist
        init_latents = runner.vae.config.scaling_factor * (dist.mean + dist.std * eps)
        fresh = SCHEDULER_CLASSES[kind].from_config(pipe.scheduler.config, **overrides)
        fresh.set_timesteps(steps)
        t0 = torch.tensor([recorder.steps[0]["timestep"]], dtype=fresh.timesteps.dtype)
        noised = fresh.add_noise(init_latents, noise, t0)
        check_close(recorder.steps[0]["sample"], noised, f"{name} noised init latents")
        goldens.put(f"{name}/vae_input", image_in)
        goldens.put(f"{name}/encode_mean", dist.mean)
        goldens.put(f"{name}/encode_std", dist.std)
        goldens.put(f"{name}/encode_noise", eps)
        goldens.put(f"{name}/init_latents", init_latents)
        goldens.put(f"{name}/add_noise_noise", noise)
        goldens.put(f"{name}/noised_latents", noised)
        notes.update(strength=strength, image_size=[int(init_image.shape[1]), int(init_image.shape[2])])
    for i, s in enumerate(recorder.steps):
        if "noise" in s:
            check_equal(s["noise"], torch.randn(shape, generator=gen), f"{name} step {i} noise vs one stream")
        if i > 0:   # step i's sample is step i-1's prev_sample; store it once
            check_equal(s["sample"], recorder.steps[i - 1]["prev_sample"], f"{name} step {i} sample")
        for key, value in s.items():
            if key != "timestep" and not (key == "sample" and i > 0):
                goldens.put(f"{name}/step{i}/{key}", value)
    goldens.put(f"{name}/latents", latents)
    goldens.put(f"{name}/image", image)
    return notes


def synthetic_image(height, width):
    """A deterministic uint8 RGB test pattern (gradients + checkerboard) as float NHWC in [0, 1]."""
    y, x = np.mgrid[0:height, 0:width]
    r = (x * 255) // max(width - 1, 1)
    g = (y * 255) // max(height - 1, 1)
    b = np.where(((x // 4) + (y // 4)) % 2 == 0, 200, 40)
    return (np.stack([r, g, b], axis=-1)[None].astype(np.uint8).astype(np.float32) / 255.0)


@torch.no_grad()
def model_goldens(pipe, flavour, goldens, extra_encoder=None):
    """Tokens, text embeddings, one UNet call and a VAE encode/decode for one flavour."""
    notes = {}
    cond_ids, uncond_ids = tokens(pipe, PROMPT), tokens(pipe, NEGATIVE_PROMPT)
    notes["prompt_ids"], notes["negative_prompt_ids"] = cond_ids[0].tolist(), uncond_ids[0].tolist()
    encoder = pipe.text_encoder
    cond, uncond = text_embeddings(encoder, cond_ids), text_embeddings(encoder, uncond_ids)
    # The pipeline's own encode_prompt must agree.
    embeds, negative = pipe.encode_prompt(PROMPT, "cpu", 1, True, NEGATIVE_PROMPT)
    check_equal(embeds, cond, f"{flavour} encode_prompt cond")
    check_equal(negative, uncond, f"{flavour} encode_prompt uncond")
    goldens.put("text/cond", cond)
    goldens.put("text/uncond", uncond)
    goldens.put("text/cond_clip_skip1", text_embeddings(encoder, cond_ids, skip=1))
    goldens.put("text/uncond_clip_skip1", text_embeddings(encoder, uncond_ids, skip=1))
    if extra_encoder is not None:
        # SD 2.x: the full 24-layer OpenCLIP tower of the single file (its last layer + ln_final). SD 2
        # does NOT use this; text/cond (= its penultimate layer + ln_final) is what SD 2 uses.
        full = extra_encoder(cond_ids, output_hidden_states=True)
        check_close(extra_encoder.final_layer_norm(full.hidden_states[-2]), cond, "24-layer penultimate", 1e-6)
        goldens.put("text/cond_all_layers", full.last_hidden_state)
        goldens.put("text/uncond_all_layers", extra_encoder(uncond_ids).last_hidden_state)

    # UNet: batch 2 = [uncond, cond] as classifier-free guidance batches it; distinct latents per item.
    timestep = 981
    lh, lw = LATENT_SIZES[pipe.vae_scale_factor]
    sample = randn((2, 4, lh, lw), 1234)
    context = torch.cat([uncond, cond])
    output = pipe.unet(sample, timestep, encoder_hidden_states=context).sample
    goldens.put("unet/sample", sample)
    goldens.put("unet/timestep", torch.tensor([float(timestep)]))
    goldens.put("unet/encoder_hidden_states", context)
    goldens.put("unet/output", output)
    notes["unet"] = {"timestep": timestep, "latent_seed": 1234}

    # LCM-distilled UNets (config time_cond_proj_dim set) get the guidance scale as an embedding of w - 1
    # instead of CFG; the tiny UNets have none, so only the embedding function is recorded.
    w = torch.tensor([1.0, 2.0, 7.5, 8.0])
    goldens.put("guidance_embedding/w", w)
    goldens.put("guidance_embedding/dim16", pipe.get_guidance_scale_embedding(w - 1, embedding_dim=16))
    notes["guidance_embedding"] = "get_guidance_scale_embedding(w - 1, embedding_dim=16), one row per w"

    # VAE decode of pipeline-scaled latents, and encode (latent_dist mean/std) of a test image.
    vae = pipe.vae
    latents = randn((1, 4, lh, lw), 99)
    decoded = vae.decode(latents / vae.config.scaling_factor).sample
    goldens.put("vae/decode/latents", latents)
    goldens.put("vae/decode/input", latents / vae.config.scaling_factor)
    goldens.put("vae/decode/output", decoded)
    goldens.put("vae/decode/image", torch.from_numpy(pipe.image_processor.postprocess(decoded, output_type="np")))
    h, w = lh * pipe.vae_scale_factor, lw * pipe.vae_scale_factor
    image = torch.from_numpy(synthetic_image(h, w)).permute(0, 3, 1, 2) * 2 - 1
    dist = vae.encode(image).latent_dist
    goldens.put("vae/encode/image", image)
    goldens.put("vae/encode/mean", dist.mean)
    goldens.put("vae/encode/std", dist.std)
    notes["vae"] = {"decode_latent_seed": 99, "scaling_factor": vae.config.scaling_factor,
                    "image": "synthetic_image(h, w) * 2 - 1, NCHW", "image_size": [h, w]}
    return notes


def build_taesd(dtype, seed):
    torch.manual_seed(seed)
    taesd = AutoencoderTiny(encoder_block_out_channels=(8, 8, 8), decoder_block_out_channels=(8, 8, 8),
                            num_encoder_blocks=(1, 1, 1), num_decoder_blocks=(1, 1, 1), latent_channels=4).eval()
    round_parameters(taesd, dtype, seed + 1)
    return taesd


@torch.no_grad()
def taesd_goldens(taesd, goldens):
    lh, lw = LATENT_SIZES[4]
    latents = randn((1, 4, lh, lw), 7)
    goldens.put("decode/latents", latents)
    goldens.put("decode/output", taesd.decode(latents).sample)
    h, w = lh * 4, lw * 4
    image = torch.from_numpy(synthetic_image(h, w)).permute(0, 3, 1, 2) * 2 - 1
    goldens.put("encode/image", image)
    goldens.put("encode/latents", taesd.encode(image).latents)
    return {"decode_latent_seed": 7, "scale": 4, "image_size": [h, w]}


def folder_size(path):
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            p = os.path.join(root, f)
            if not os.path.islink(p):
                total += os.path.getsize(p)
    return total


# ----------------------------------------------------------------------------------------------------
# Main
# ----------------------------------------------------------------------------------------------------

# (name, scheduler, steps, guidance, timestep_spacing override or None)
SD1_RUNS = [(f"t2i_{k}_{n}", k, n, g, None)
            for k, g in (("lcm", 1.0), ("euler-a", 7.5), ("euler", 7.5), ("ddim", 7.5)) for n in (1, 2, 4)] \
    + [("t2i_lcm_4_cfg", "lcm", 4, 2.0, None)]
SD2_RUNS = [(f"t2i_{k}_{sp or 'leading'}_{n}", k, n, g, sp)
            for k, g, sp in (("euler-a", 0.0, "trailing"), ("ddim", 7.5, "trailing"), ("euler", 7.5, "linspace"),
                             ("lcm", 1.0, None)) for n in (1, 2, 4)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--open-clip-wheel", help="path of open_clip_torch-3.3.0-py3-none-any.whl")
    parser.add_argument("--out", default="Tests/DiffusionTests/Fixtures")
    args = parser.parse_args()
    command = "python3 Scripts/make-diffusion-goldens.py" + (" --out " + args.out if args.out != parser.get_default("out") else "")
    make_deterministic()

    out = args.out
    for name in ("sd1-tiny", "sd2-tiny", "taesd-tiny"):
        shutil.rmtree(os.path.join(out, name), ignore_errors=True)
    os.makedirs(out, exist_ok=True)

    # Tokenizer files from the real CLIP vocabulary.
    wheel = fetch_open_clip_wheel(args.open_clip_wheel)
    with zipfile.ZipFile(wheel) as z:
        bpe_gz = z.read(VOCAB_MEMBER)
    bpe_path = os.path.join(tempfile.mkdtemp(prefix="clip-bpe-"), "bpe_simple_vocab_16e6.txt.gz")
    with open(bpe_path, "wb") as f:
        f.write(bpe_gz)
    vocab, merges = clip_vocabulary(gzip.decompress(bpe_gz).decode("utf-8"))
    sd1_tok_dir = os.path.join(out, "sd1-tiny", "tokenizer")
    sd2_tok_dir = os.path.join(out, "sd2-tiny", "tokenizer")
    sd1_writer = lambda d: write_tokenizer(d, vocab, merges, pad=END)
    sd2_writer = lambda d: write_tokenizer(d, vocab, merges, pad="!", share_from=sd1_tok_dir)

    notes = {"command": command,
             "versions": {"python": platform.python_version(), "torch": torch.__version__,
                          "diffusers": diffusers.__version__, "transformers": transformers.__version__,
                          "safetensors": safetensors.__version__, "numpy": np.__version__,
                          "open_clip_torch": OPEN_CLIP_VERSION},
             "vocabulary": {"source": f"pypi open-clip-torch=={OPEN_CLIP_VERSION} {VOCAB_MEMBER}",
                            "size": VOCAB_SIZE, "merges": len(merges)},
             "prompt": PROMPT, "negative_prompt": NEGATIVE_PROMPT,
             "layouts": {"latents, noise, model outputs, vae/*/output, vae/*/image (encode input)": "NCHW",
                         "*/image, vae/decode/image, img2img/init_image": "NHWC in [0, 1] (diffusers output_type='np')",
                         "text/*": "[batch, 77, hidden]", "unet/encoder_hidden_states": "[uncond, cond] x 77 x hidden"},
             "latent_sizes_by_vae_scale": {str(k): list(v) for k, v in LATENT_SIZES.items()}}

    flavours = {"sd1": dict(dtype=torch.float16, seed=100, writer=sd1_writer, prefix=True, runs=SD1_RUNS),
                "sd2": dict(dtype=torch.bfloat16, seed=200, writer=sd2_writer, prefix=False, runs=SD2_RUNS)}
    sd1_writer(sd1_tok_dir)
    sd2_writer(sd2_tok_dir)
    tokenizers = {"sd1": CLIPTokenizer.from_pretrained(sd1_tok_dir), "sd2": CLIPTokenizer.from_pretrained(sd2_tok_dir)}
    open_clip_tokenizer = load_open_clip_tokenizer(wheel, bpe_path)
    notes["tokenizer_cases"] = verify_tokenizers(open_clip_tokenizer, tokenizers["sd1"], tokenizers["sd2"])
    print(f"tokenizer: {len(TOKENIZER_CASES)} cases match open_clip {OPEN_CLIP_VERSION}")

    pipes = {}
    for flavour, spec in flavours.items():
        folder = os.path.join(out, f"{flavour}-tiny")
        tokenizer = tokenizers[flavour]
        built = build_pipeline(flavour, spec["dtype"], spec["seed"], tokenizer)
        extra_layer = text_projection = None
        if flavour == "sd2":
            # The 24th OpenCLIP resblock, present only in the single file (SD 2 skips it).
            torch.manual_seed(spec["seed"] + 10)
            donor = CLIPTextModel(text_encoder_config("sd2")).eval()
            round_parameters(donor, spec["dtype"], spec["seed"] + 11)
            extra_layer = {k.split(".", 3)[3]: v.detach().clone() for k, v in donor.state_dict().items()
                           if k.startswith("encoder.layers.0.")}
            text_projection = (0.1 * randn((8, 8), spec["seed"] + 12)).to(spec["dtype"]).float()
        save_folder(built, folder, spec["dtype"], spec["writer"], spec["prefix"])
        pipe = StableDiffusionPipeline.from_pretrained(folder, torch_dtype=torch.float32, local_files_only=True,
                                                       safety_checker=None, requires_safety_checker=False)
        pipe.set_progress_bar_config(disable=True)
        for name in ("unet", "vae", "text_encoder"):
            want, got = getattr(built, name).state_dict(), getattr(pipe, name).state_dict()
            if set(want) != set(got):
                raise SystemExit(f"{flavour} {name}: saved folder has different tensors")
            for k in want:
                check_equal(got[k], want[k], f"{flavour} folder {name}.{k}")
        pipes[flavour] = pipe

        # Single-file checkpoint in the original layout, verified with diffusers' from_single_file.
        single = os.path.join(out, f"{flavour}-tiny.safetensors")
        state = unet_to_ldm(pipe.unet.state_dict(), pipe.unet.config)
        state |= vae_to_ldm(pipe.vae.state_dict(), pipe.vae.config)
        if flavour == "sd1":
            state |= clip_to_ldm(pipe.text_encoder.state_dict())
        else:
            clip_state, extra_index = open_clip_to_ldm(pipe.text_encoder.state_dict(), extra_layer, text_projection)
            state |= clip_state
        save_single_file(single, state, spec["dtype"])
        checked = verify_single_file(single, folder, pipe, flavour)
        print(f"{flavour}: single file {single}: {len(state)} tensors, {checked} verified with from_single_file")

        text = text_encoder_config(flavour)
        notes[flavour] = {
            "folder": f"{flavour}-tiny", "single_file": f"{flavour}-tiny.safetensors",
            "weights_dtype": str(spec["dtype"]).removeprefix("torch."), "seed": spec["seed"],
            "text_encoder_keys": "text_model.* (original layout)" if spec["prefix"] else
            "flat, no text_model. prefix (transformers >= 5.6 save_pretrained)",
            "configs": {"text_encoder": text.to_diff_dict(), "unet": model_config_json(pipe.unet.config),
                        "vae": model_config_json(pipe.vae.config), "scheduler": scheduler_config_json(pipe.scheduler)},
            "single_file_tensors": len(state),
        }
        goldens = Goldens()
        extra_encoder = None
        if flavour == "sd2":
            notes[flavour]["single_file_extra_resblock"] = extra_index
            full = text_encoder_config("sd2")
            full.num_hidden_layers = 24
            extra_encoder = CLIPTextModel(full).eval()
            weights = dict(pipe.text_encoder.state_dict())
            weights |= {f"encoder.layers.23.{k}": v for k, v in extra_layer.items()}
            extra_encoder.load_state_dict(weights, strict=True)
        notes[flavour].update(model_goldens(pipe, flavour, goldens, extra_encoder))
        runs = {}
        for name, kind, steps, guidance, spacing in spec["runs"]:
            runs[name] = run_pipeline(pipe, goldens, name, kind, steps, guidance, seed=42, spacing=spacing)
        lh, lw = LATENT_SIZES[pipe.vae_scale_factor]
        h, w = lh * pipe.vae_scale_factor, lw * pipe.vae_scale_factor
        init_image = synthetic_image(h, w)
        goldens.put("img2img/init_image", torch.from_numpy(init_image))
        if flavour == "sd1":
            runs["i2i_ddim_4"] = run_pipeline(pipe, goldens, "i2i_ddim_4", "ddim", 4, 7.5, seed=7,
                                              strength=0.5, init_image=init_image)
        else:
            runs["i2i_euler-a_trailing_4"] = run_pipeline(pipe, goldens, "i2i_euler-a_trailing_4", "euler-a", 4,
                                                          0.0, seed=7, spacing="trailing", strength=0.5,
                                                          init_image=init_image)
        notes[flavour]["runs"] = runs
        goldens.save(os.path.join(out, f"goldens-{flavour}.safetensors"), command)
        print(f"{flavour}: {len(goldens.tensors)} golden tensors, {len(runs)} pipeline runs")

    # TAESD (AutoencoderTiny), 4x, 4 latent channels; plus one SD-Turbo-style run decoded with it.
    taesd = build_taesd(torch.float16, 300)
    folder = os.path.join(out, "taesd-tiny")
    taesd.to(torch.float16).save_pretrained(folder, safe_serialization=True)
    taesd = AutoencoderTiny.from_pretrained(folder, torch_dtype=torch.float32).eval()
    goldens = Goldens()
    notes["taesd"] = {"folder": "taesd-tiny", "weights_dtype": "float16", "seed": 300,
                      "config": model_config_json(taesd.config)}
    notes["taesd"].update(taesd_goldens(taesd, goldens))
    notes["taesd"]["runs"] = {"sd2_t2i_euler-a_trailing_2_taesd": run_pipeline(
        pipes["sd2"], goldens, "sd2_t2i_euler-a_trailing_2_taesd", "euler-a", 2, 0.0, seed=42,
        spacing="trailing", vae=taesd)}
    goldens.save(os.path.join(out, "goldens-taesd.safetensors"), command)

    with open(os.path.join(out, "goldens.json"), "w") as f:
        json.dump(notes, f, indent=1, default=lambda o: list(o) if isinstance(o, tuple) else str(o))
    total = sum(folder_size(os.path.join(out, d)) for d in os.listdir(out) if os.path.isdir(os.path.join(out, d)))
    total += sum(os.path.getsize(os.path.join(out, f)) for f in os.listdir(out) if os.path.isfile(os.path.join(out, f)))
    print(f"fixtures: {total / 1e6:.2f} MB in {out}")


if __name__ == "__main__":
    main()
