#!/usr/bin/env python3
"""Dump per-frame FrameExit inputs from LiteRT: person coverage (teacher) and pooled encoder features.

For DEVELOPING the Swift FrameExit trainer only: `sparrow classify-clips --train` should be re-run on
features Sparrow computes itself (SelfieSegmenter.encoderFeatures). Writes the feature file that
`FrameExitFeatureFile` (Sources/Vision/Video/CoverageTask.swift) reads:

  {"source": ..., "tensor": NAME, "macsPerFrame": N,
   "videos": [{"name": ..., "frameCount": F, "coverage": [F floats], "features": [[D floats] x F]}]}

Per frame: the frame (decoded with ffmpeg as RGB at its own size) is resized to 256x256 (bilinear),
scaled to [0, 1] and run through the selfie model. coverage = fraction of the 256x256 output pixels
with person probability > 0.5. features = [mean over pixels, max over pixels] of the intermediate
tensor TENSOR (default add_4__xeno_compat__1: [1,16,16,32], the encoder's last block before the
decoder's up-sampling path), so D = 2 * 32 = 64.

Usage: python3 Scripts/dump-frameexit-features.py OUT.json VIDEO... [--tensor NAME]
Needs: ai-edge-litert==2.3.0, numpy (Scripts/requirements-dev.txt), ffmpeg on PATH.
"""
import argparse
import json
import os
import subprocess
import sys

import numpy as np
from ai_edge_litert.interpreter import Interpreter

DEFAULT_MODEL = os.path.expanduser("~/.cache/sparrow/models/selfie-segmentation/selfie_segmentation.tflite")
SIDE = 256


def frames(path):
    """Yields HxWx3 uint8 frames resized to SIDE x SIDE (ffmpeg bilinear)."""
    cmd = ["ffmpeg", "-v", "error", "-i", path, "-fps_mode", "passthrough", "-vf", f"scale={SIDE}:{SIDE}:flags=bilinear",
           "-f", "rawvideo", "-pix_fmt", "rgb24", "-"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE)
    size = SIDE * SIDE * 3
    while True:
        buf = proc.stdout.read(size)
        if len(buf) < size:
            break
        yield np.frombuffer(buf, dtype=np.uint8).reshape(SIDE, SIDE, 3)
    proc.wait()


def conv_macs(interp, upto_index):
    """MACs of CONV_2D / DEPTHWISE_CONV_2D ops whose output index <= upto_index (rough backbone cost)."""
    details = {d["index"]: d for d in interp.get_tensor_details()}
    total = 0
    for op in interp._get_ops_details():
        name = op["op_name"]
        outs = op["outputs"]
        if not outs or outs[0] > upto_index:
            continue
        out_shape = details[outs[0]]["shape"]
        if name == "CONV_2D":
            w = details[op["inputs"][1]]["shape"]  # [Cout, kH, kW, Cin]
            total += int(np.prod(out_shape[1:3])) * int(np.prod(w))
        elif name == "DEPTHWISE_CONV_2D":
            w = details[op["inputs"][1]]["shape"]  # [1, kH, kW, C*m]
            total += int(np.prod(out_shape[1:3])) * int(np.prod(w))
    return total


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("videos", nargs="+")
    ap.add_argument("--model", default=DEFAULT_MODEL)
    ap.add_argument("--tensor", default="add_4__xeno_compat__1")
    args = ap.parse_args()

    interp = Interpreter(model_path=args.model, experimental_preserve_all_tensors=True)
    interp.allocate_tensors()
    inp = interp.get_input_details()[0]["index"]
    out = interp.get_output_details()[0]["index"]
    by_name = {d["name"]: d["index"] for d in interp.get_tensor_details()}
    if args.tensor not in by_name:
        sys.exit(f"no tensor named {args.tensor} in {args.model}")
    feat_index = by_name[args.tensor]
    macs = conv_macs(interp, feat_index)

    videos = []
    for path in args.videos:
        cov, feats = [], []
        for frame in frames(path):
            x = frame.astype(np.float32)[None] / 255.0
            interp.set_tensor(inp, x)
            interp.invoke()
            mask = interp.get_tensor(out)[0, :, :, 0]
            act = interp.get_tensor(feat_index)[0]  # [H, W, C]
            cov.append(float((mask > 0.5).mean()))
            pooled = np.concatenate([act.mean(axis=(0, 1)), act.max(axis=(0, 1))])
            feats.append([round(float(v), 5) for v in pooled])
        name = os.path.splitext(os.path.basename(path))[0]
        c = np.array(cov)
        print(f"{name}: {len(cov)} frames, coverage mean {c.mean():.4f} "
              f"p10/50/90 {np.percentile(c, 10):.4f}/{np.percentile(c, 50):.4f}/{np.percentile(c, 90):.4f}",
              file=sys.stderr)
        videos.append({"name": name, "frameCount": len(cov), "coverage": [round(v, 6) for v in cov],
                       "features": feats})

    import ai_edge_litert
    doc = {
        "source": "Scripts/dump-frameexit-features.py " + " ".join(sys.argv[1:])
                  + f" (ai-edge-litert {getattr(ai_edge_litert, '__version__', '2.3.0')}, numpy {np.__version__})",
        "tensor": args.tensor,
        "macsPerFrame": macs,
        "videos": videos,
    }
    with open(args.out, "w") as f:
        json.dump(doc, f)
    print(f"wrote {args.out}: tensor {args.tensor}, {macs} conv MACs per frame up to it", file=sys.stderr)


if __name__ == "__main__":
    main()
