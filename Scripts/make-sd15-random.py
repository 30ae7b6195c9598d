#!/usr/bin/env python3
"""Builds a Stable Diffusion 1.5-sized pipeline with random weights, for benchmarks only (never tests,
never committed: ~2 GB in fp16).

Usage (from the repository root; needs Scripts/requirements-dev.txt):
    python3 Scripts/make-sd15-random.py OUT_DIR        e.g. ~/.cache/sparrow/bench/sd15-random

The configurations are SD 1.5's (runwayml/stable-diffusion-v1-5): an 860M-parameter UNet2DConditionModel
(block_out_channels [320, 640, 1280, 1280], 2 layers per block, cross-attention 768, 8 heads), the CLIP
ViT-L/14 text model (768 wide, 12 layers, 12 heads, MLP 3072, quick_gelu, 49408 tokens), AutoencoderKL
[128, 256, 512, 512] with 2 layers per block, and SD 1.5's PNDM scheduler config. The tokenizer files are
the real CLIP vocabulary, copied from Tests/DiffusionTests/Fixtures/sd1-tiny/tokenizer. Weights are
diffusers'/transformers' default random initialisation under a fixed seed, stored in float16 with
`variant="fp16"` (…/diffusion_pytorch_model.fp16.safetensors, model.fp16.safetensors).
"""

import json
import os
import shutil
import sys
import time

import diffusers
import torch
import transformers
from diffusers import AutoencoderKL, PNDMScheduler, StableDiffusionPipeline, UNet2DConditionModel
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

SEED = 1234
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOKENIZER = os.path.join(REPO, "Tests", "DiffusionTests", "Fixtures", "sd1-tiny", "tokenizer")


def unet():
    return UNet2DConditionModel(
        sample_size=64, in_channels=4, out_channels=4, center_input_sample=False, flip_sin_to_cos=True, freq_shift=0,
        down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"),
        mid_block_type="UNetMidBlock2DCrossAttn",
        up_block_types=("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
        block_out_channels=(320, 640, 1280, 1280), layers_per_block=2, downsample_padding=1, mid_block_scale_factor=1,
        act_fn="silu", norm_num_groups=32, norm_eps=1e-5, cross_attention_dim=768, attention_head_dim=8,
        use_linear_projection=False, upcast_attention=False)


def text_encoder():
    config = CLIPTextConfig(
        vocab_size=49408, hidden_size=768, intermediate_size=3072, projection_dim=768, num_hidden_layers=12,
        num_attention_heads=12, max_position_embeddings=77, hidden_act="quick_gelu", layer_norm_eps=1e-5,
        bos_token_id=49406, eos_token_id=49407, pad_token_id=1)
    return CLIPTextModel(config)


def autoencoder():
    return AutoencoderKL(
        in_channels=3, out_channels=3, latent_channels=4, sample_size=512, layers_per_block=2, act_fn="silu",
        norm_num_groups=32, scaling_factor=0.18215, block_out_channels=(128, 256, 512, 512),
        down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4)


def scheduler():
    return PNDMScheduler(
        num_train_timesteps=1000, beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
        skip_prk_steps=True, set_alpha_to_one=False, steps_offset=1, prediction_type="epsilon",
        timestep_spacing="leading")


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: make-sd15-random.py OUT_DIR")
    out = os.path.abspath(os.path.expanduser(sys.argv[1]))
    if os.path.realpath(out).startswith(os.path.realpath(REPO) + os.sep):
        sys.exit(f"{out} is inside the repository; put the ~2 GB model under /tmp or ~/.cache/sparrow/bench")
    start = time.time()
    torch.manual_seed(SEED)
    parts = {"unet": unet(), "text_encoder": text_encoder(), "vae": autoencoder()}
    for name, model in parts.items():
        count = sum(p.numel() for p in model.parameters())
        print(f"{name}: {count / 1e6:.1f}M parameters", flush=True)
    pipe = StableDiffusionPipeline(
        vae=parts["vae"], text_encoder=parts["text_encoder"], tokenizer=CLIPTokenizer.from_pretrained(TOKENIZER),
        unet=parts["unet"], scheduler=scheduler(), safety_checker=None, feature_extractor=None,
        requires_safety_checker=False)
    pipe.to(torch.float16)
    pipe.save_pretrained(out, variant="fp16", safe_serialization=True)
    # The real CLIP vocabulary files, exactly as committed (save_pretrained may rewrite the config).
    for name in os.listdir(TOKENIZER):
        shutil.copy(os.path.join(TOKENIZER, name), os.path.join(out, "tokenizer", name))
    with open(os.path.join(out, "PROVENANCE.json"), "w") as f:
        json.dump({"command": " ".join(["python3"] + sys.argv), "seed": SEED, "torch": torch.__version__,
                   "diffusers": diffusers.__version__, "transformers": transformers.__version__,
                   "dtype": "float16", "note": "random weights, SD 1.5 configs; benchmark only"}, f, indent=2)
    print(f"wrote {out} in {time.time() - start:.0f} s")


if __name__ == "__main__":
    main()
