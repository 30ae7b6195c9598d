#!/usr/bin/env python3
"""How much the selfie model's own masks move under tiny input changes (never run by the tests).

The Skip-Conv target of issue 5 asks for mean IoU >= 0.98 against the dense mask. This script
measures, with LiteRT (the oracle, not Sparrow), how far the DENSE mask moves when nothing but
sub-gray-level noise is added to the input, and how much it moves between consecutive frames, to
show which IoU any approximation of that size can reach:

    python3 Scripts/vision-noise-sensitivity.py --model selfie_segmentation.tflite --video vtest.avi \
        [--frames 80] [--every 4] [--noise 0.5,1,2,4] [--seed 0] [--json]

For every --every-th of the first --frames frames (ffmpeg, bilinear to the model size, input
rgb/255 as MediaPipe feeds it), the mask of the frame is compared with the mask of the same frame
plus uniform noise in ±k/255 (k from --noise; values clipped to [0, 1]): hard IoU (probability
> 0.5, both empty counts as 1) and soft IoU (Σ min / Σ max of the probabilities). Also reported:
IoU between the dense masks of consecutive frames. Prints a Markdown table (or JSON) with the mean
and minimum over frames, and the versions used.
"""
import argparse
import json
import platform
import subprocess
import sys

import numpy as np

import ai_edge_litert
from ai_edge_litert.interpreter import Interpreter


def frames(path, width, height, limit):
    """H×W×3 uint8 frames from ffmpeg, scaled with bilinear filtering (as Scripts/litert-run.py)."""
    command = ["ffmpeg", "-v", "error", "-nostdin", "-i", path, "-vf", f"scale={width}:{height}:flags=bilinear",
               "-frames:v", str(limit), "-f", "rawvideo", "-pix_fmt", "rgb24", "-"]
    raw = subprocess.run(command, stdout=subprocess.PIPE, check=True).stdout
    size = width * height * 3
    return [np.frombuffer(raw[i:i + size], np.uint8).reshape(height, width, 3) for i in range(0, len(raw) - size + 1, size)]


def hard_iou(a, b):
    a, b = a > 0.5, b > 0.5
    union = np.logical_or(a, b).sum()
    return 1.0 if union == 0 else float(np.logical_and(a, b).sum() / union)


def soft_iou(a, b):
    top = np.maximum(a, b).sum()
    return 1.0 if top == 0 else float(np.minimum(a, b).sum() / top)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--video", required=True)
    parser.add_argument("--frames", type=int, default=80)
    parser.add_argument("--every", type=int, default=4)
    parser.add_argument("--noise", default="0.5,1,2,4")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    interpreter = Interpreter(model_path=args.model, num_threads=1)
    interpreter.allocate_tensors()
    source, target = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    _, height, width, _ = source["shape"]

    def mask(x):
        interpreter.set_tensor(source["index"], x[None].astype(np.float32))
        interpreter.invoke()
        return interpreter.get_tensor(target["index"])[0, ..., 0].astype(np.float64)

    video = frames(args.video, width, height, args.frames)
    if len(video) < 2:
        sys.exit(f"vision-noise-sensitivity: {args.video} gave fewer than two frames")
    inputs = [f.astype(np.float32) / 255 for f in video]
    dense = [mask(x) for x in inputs]
    rng = np.random.default_rng(args.seed)
    rows = []
    for k in (float(v) for v in args.noise.split(",")):
        hard, soft = [], []
        for i in range(0, len(inputs), args.every):
            noisy = np.clip(inputs[i] + rng.uniform(-k / 255, k / 255, inputs[i].shape), 0, 1)
            m = mask(noisy)
            hard.append(hard_iou(dense[i], m))
            soft.append(soft_iou(dense[i], m))
        rows.append({"change": f"uniform noise ±{k:g}/255", "hardMean": np.mean(hard), "hardMin": np.min(hard),
                     "softMean": np.mean(soft), "softMin": np.min(soft), "samples": len(hard)})
    hard = [hard_iou(a, b) for a, b in zip(dense, dense[1:])]
    soft = [soft_iou(a, b) for a, b in zip(dense, dense[1:])]
    rows.append({"change": "next frame", "hardMean": np.mean(hard), "hardMin": np.min(hard),
                 "softMean": np.mean(soft), "softMin": np.min(soft), "samples": len(hard)})
    versions = {"python": platform.python_version(), "numpy": np.__version__, "ai-edge-litert": ai_edge_litert.__version__,
                "command": " ".join(sys.argv)}
    if args.json:
        print(json.dumps({"versions": versions, "rows": rows}, indent=2, default=float))
        return
    print(f"{args.video}: {len(video)} frames at {width}×{height}; LiteRT {versions['ai-edge-litert']}")
    print("| input change | hard IoU mean (min) | soft IoU mean (min) | frames |")
    print("|---|---|---|---|")
    for r in rows:
        print(f"| {r['change']} | {r['hardMean']:.4f} ({r['hardMin']:.4f}) | {r['softMean']:.4f} ({r['softMin']:.4f}) | {r['samples']} |")


if __name__ == "__main__":
    main()
