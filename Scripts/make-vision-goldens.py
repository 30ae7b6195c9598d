#!/usr/bin/env python3
"""Writes LiteRT goldens for the MediaPipe vision models into Tests/VisionTests/Fixtures/.

Reads the models, images and videos from the model store (run `Scripts/fetch-models.sh` first):
$SPARROW_MODELS/<id>/<file>, default $XDG_CACHE_HOME/sparrow/models or ~/.cache/sparrow/models.

For every case it writes
  - the model-sized RGB8 input as a PNG (so Sparrow's tests and LiteRT see identical pixels: the
    resize happens here, once, with PIL's Image.resize(BILINEAR), which low-pass filters when it
    shrinks; gray images are repeated into R, G and B);
  - every output tensor of LiteRT (default XNNPACK delegate, 1 thread) as raw little-endian float32
    (`.f32`), or float16 (`.f16`) for the segmentation masks to keep the fixtures small;
and then the index litert-goldens.json (cases, normalisation, shapes, files, command and versions).

The model input is x * scale + offset per RGB byte x, exactly as MediaPipe's graphs feed these
models: ImageToTensorCalculator's output_tensor_float_range is [0, 1] for selfie segmentation
(mediapipe/modules/selfie_segmentation/selfie_segmentation_cpu.binarypb in the mediapipe 0.10.14
wheel) and face landmarks (FaceLandmarkCpu graph), [-1, 1] for face detection (FaceDetection graph);
the last two graphs are compiled into mediapipe/python/_framework_bindings.*.so of the same wheel.

Usage: python3 Scripts/make-vision-goldens.py [--out DIR]   (needs requirements-dev.txt and ffmpeg)
"""
import argparse
import datetime
import hashlib
import json
import os
import platform
import subprocess
import sys

import numpy as np
from PIL import Image

import ai_edge_litert
from ai_edge_litert.interpreter import Interpreter

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# ImageToTensorCalculator output_tensor_float_range {min, max} → x * (max - min) / 255 + min.
RANGE_0_1 = {"scale": 1.0 / 255.0, "offset": 0.0, "range": [0.0, 1.0]}
RANGE_MINUS1_1 = {"scale": 2.0 / 255.0, "offset": -1.0, "range": [-1.0, 1.0]}
SELFIE_GRAPH = "mediapipe/modules/selfie_segmentation/selfie_segmentation_cpu.binarypb (ImageToTensorCalculator options)"
LIBRARY_GRAPHS = "graph compiled into mediapipe/python/_framework_bindings.cpython-311-x86_64-linux-gnu.so"

MODELS = {
    "selfie-segmentation": dict(size=(256, 256), norm=dict(RANGE_0_1, source=SELFIE_GRAPH), half=True),
    "selfie-segmentation-landscape": dict(size=(144, 256), norm=dict(RANGE_0_1, source=SELFIE_GRAPH), half=True),
    "face-detection-short-range": dict(size=(128, 128), norm=dict(RANGE_MINUS1_1, source="FaceDetection " + LIBRARY_GRAPHS), half=False),
    "face-landmark": dict(size=(192, 192), norm=dict(RANGE_0_1, source="FaceLandmarkCpu " + LIBRARY_GRAPHS), half=False),
}

# The astronaut's face (left, top, right, bottom in the 512×512 image): a square around the face with
# some margin, like the region MediaPipe's face-landmark ROI takes.
ASTRONAUT_FACE_BOX = (140, 20, 320, 200)

# Video frames (0-based decode order) for the selfie model: two consecutive frames per clip, so the
# frame-to-frame (Skip-Conv) tests have a real small change to work on.
VIDEO_FRAMES = {"vtest-video": [100, 101], "box-video": [100, 101], "cup-video": [60, 61]}


def store_path(entry_id):
    home = os.path.expanduser("~")
    xdg = os.environ.get("XDG_CACHE_HOME") or ""
    store = os.environ.get("SPARROW_MODELS") or (xdg + "/sparrow/models" if xdg else home + "/.cache/sparrow/models")
    with open(os.path.join(REPO, "weights-manifest", entry_id + ".json")) as f:
        entry = json.load(f)
    path = os.path.join(store, entry_id, entry["file"])
    if not os.path.isfile(path) or os.path.getsize(path) != entry["bytes"]:
        sys.exit(f"make-vision-goldens: {path} is missing or has the wrong size; run Scripts/fetch-models.sh {entry_id}")
    return path


def video_frame(path, index):
    """Frame `index` of a video, full size, as an RGB PIL image (ffmpeg decodes; rgb24 raw pipe)."""
    probe = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=width,height",
                            "-of", "csv=p=0", path], check=True, capture_output=True, text=True)
    width, height = (int(v) for v in probe.stdout.strip().split(",")[:2])
    run = subprocess.run(["ffmpeg", "-v", "error", "-i", path, "-vf", f"select=eq(n\\,{index})", "-vsync", "0",
                          "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"], check=True, capture_output=True)
    if len(run.stdout) != width * height * 3:
        sys.exit(f"make-vision-goldens: ffmpeg returned {len(run.stdout)} bytes for frame {index} of {path}")
    return Image.frombytes("RGB", (width, height), run.stdout)


def resized(image, size):
    height, width = size
    return image.convert("RGB").resize((width, height), Image.Resampling.BILINEAR)


def run_model(model_path, pixels, norm):
    interpreter = Interpreter(model_path=model_path, num_threads=1)
    interpreter.allocate_tensors()
    (input_detail,) = interpreter.get_input_details()
    x = pixels.astype(np.float32) * np.float32(norm["scale"]) + np.float32(norm["offset"])
    interpreter.set_tensor(input_detail["index"], x[None, ...])
    interpreter.invoke()
    return [(d["name"], interpreter.get_tensor(d["index"]).copy()) for d in interpreter.get_output_details()]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=os.path.join(REPO, "Tests", "VisionTests", "Fixtures"))
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)

    astronaut = Image.open(store_path("astronaut-image"))
    camera = Image.open(store_path("camera-image"))  # 8-bit gray: convert("RGB") repeats it
    inputs = {  # name → (source description, full-size image)
        "astronaut": ("astronaut-image (skimage/data/astronaut.png)", astronaut),
        "camera": ("camera-image (skimage/data/camera.png, gray → RGB)", camera),
        "astronaut-face": (f"astronaut-image cropped to (left, top, right, bottom) = {ASTRONAUT_FACE_BOX}",
                           astronaut.crop(ASTRONAUT_FACE_BOX)),
    }
    for video_id, frames in VIDEO_FRAMES.items():
        path = store_path(video_id)
        for index in frames:
            name = f"{video_id.removesuffix('-video')}-{index}"
            inputs[name] = (f"{video_id} ({os.path.basename(path)}) frame {index} (0-based, ffmpeg decode order)",
                            video_frame(path, index))

    plan = [("selfie-segmentation", name) for name in ["astronaut", "camera"] + [n for n in inputs if n[-1].isdigit()]]
    plan += [("selfie-segmentation-landscape", "astronaut"), ("selfie-segmentation-landscape", "camera"),
             ("face-detection-short-range", "astronaut"), ("face-detection-short-range", "camera"),
             ("face-landmark", "astronaut-face")]

    cases = []
    for model_id, input_name in plan:
        spec = MODELS[model_id]
        height, width = spec["size"]
        source, image = inputs[input_name]
        png_name = f"{input_name}-{height}x{width}.png"
        png_path = os.path.join(args.out, png_name)
        resized(image, spec["size"]).save(png_path, optimize=True)
        pixels = np.asarray(Image.open(png_path).convert("RGB"))  # read back: exactly what the tests read
        assert pixels.shape == (height, width, 3)
        outputs = []
        for tensor_name, value in run_model(store_path(model_id), pixels, spec["norm"]):
            dtype = "float16" if spec["half"] else "float32"
            file_name = f"{model_id}--{input_name}--{tensor_name}.{'f16' if spec['half'] else 'f32'}"
            data = value.astype("<f2" if spec["half"] else "<f4").tobytes()
            with open(os.path.join(args.out, file_name), "wb") as f:
                f.write(data)
            outputs.append({"name": tensor_name, "shape": [int(d) for d in value.shape], "dtype": dtype,
                            "file": file_name, "bytes": len(data),
                            "min": float(value.min()), "max": float(value.max())})
        cases.append({"name": f"{model_id}/{input_name}", "model": model_id, "input": png_name,
                      "inputSource": source, "inputShape": [height, width, 3],
                      "normalization": spec["norm"], "outputs": outputs})
        print(f"{model_id:30s} {input_name:16s} " + ", ".join(f"{o['name']} {o['shape']} [{o['min']:.4g}, {o['max']:.4g}]" for o in outputs))

    model_hashes = {}
    for model_id in MODELS:
        with open(store_path(model_id), "rb") as f:
            model_hashes[model_id] = hashlib.sha256(f.read()).hexdigest()
    index = {
        "generator": {
            "command": "python3 Scripts/make-vision-goldens.py",
            "python": platform.python_version(),
            "litert": getattr(ai_edge_litert, "__version__", "unknown"),
            "numpy": np.__version__,
            "pillow": Image.__version__,
            "ffmpeg": subprocess.run(["ffmpeg", "-version"], capture_output=True, text=True).stdout.split("\n")[0],
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "runtime": "LiteRT Interpreter, default XNNPACK delegate, num_threads=1",
            "resize": "PIL Image.resize(BILINEAR) from the full-size image (antialiased when shrinking); the PNG holds the result",
            "modelSHA256": model_hashes,
        },
        "cases": cases,
    }
    with open(os.path.join(args.out, "litert-goldens.json"), "w") as f:
        json.dump(index, f, indent=1)
        f.write("\n")
    total = sum(os.path.getsize(os.path.join(args.out, n)) for n in os.listdir(args.out))
    print(f"wrote {len(cases)} cases to {args.out} ({total} bytes in the folder)")


if __name__ == "__main__":
    main()
