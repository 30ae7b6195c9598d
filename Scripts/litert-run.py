#!/usr/bin/env python3
"""Runs a .tflite image model with LiteRT over video frames and reports time per frame.

The LiteRT side of the side-by-side benchmark against `sparrow segment` (never run by the tests).

    python3 Scripts/litert-run.py --model selfie_segmentation.tflite --video vtest.avi --threads 1
    python3 Scripts/litert-run.py --model M.tflite --frames clip.y4m --size 256x256 --threads 2 --masks out.f16 --json

Frames:
  --video FILE   decoded by ffmpeg (subprocess) and scaled to the model's input size with
                 `-vf scale=W:H:flags=bilinear`, read as rgb24 from a raw pipe (ffmpeg's own
                 YUV → RGB conversion, BT.601 unless the file says otherwise).
  --frames FILE  a YUV4MPEG2 file (C444 or C420*, 8 bit), read here: 4:2:0 chroma is upsampled by
                 repeating each sample over its 2×2 pixels; YUV → RGB with BT.601 coefficients,
                 limited range (Y 16…235, UV 16…240) unless the header says XCOLORRANGE=FULL; then
                 resized to the model size with bilinear interpolation (half-pixel centres, edge
                 clamped) when the Y4M is not already that size.
The model input is `rgb_byte * scale + offset` (default range [0, 1] as MediaPipe feeds its selfie
and face-landmark models; pass --range -1,1 for face detection). LiteRT: the default XNNPACK
delegate, --threads threads.

Timing covers set_tensor + invoke + reading the outputs, per frame; the first --warmup frames
(default 1) are excluded from median / min / max. --masks writes output 0 of every frame
(warm-up frames included) as float16 little-endian, frames × H × W × C, row-major.
"""
import argparse
import json
import platform
import statistics
import subprocess
import sys
import time

import numpy as np

import ai_edge_litert
from ai_edge_litert.interpreter import Interpreter


def fail(message):
    sys.exit("litert-run: " + message)


def parse_size(text):
    try:
        width, height = (int(v) for v in text.lower().split("x"))
        assert width > 0 and height > 0
    except (ValueError, AssertionError):
        fail(f"--size must be WxH (e.g. 256x256), found '{text}'")
    return width, height


def ffmpeg_frames(path, width, height, limit):
    """Yields H×W×3 uint8 frames from ffmpeg, scaled with bilinear filtering."""
    command = ["ffmpeg", "-v", "error", "-nostdin", "-i", path, "-vf", f"scale={width}:{height}:flags=bilinear",
               "-f", "rawvideo", "-pix_fmt", "rgb24"]
    if limit:
        command += ["-frames:v", str(limit)]
    try:
        process = subprocess.Popen(command + ["-"], stdout=subprocess.PIPE)
    except FileNotFoundError:
        fail("ffmpeg not found; install Debian ffmpeg (Scripts/install-deps.sh)")
    size = width * height * 3
    try:
        while True:
            data = process.stdout.read(size)
            if len(data) < size:
                break
            yield np.frombuffer(data, np.uint8).reshape(height, width, 3)
    finally:
        process.stdout.close()
        process.kill()
        process.wait()


def yuv_to_rgb(y, u, v, full_range):
    """BT.601 YUV (float arrays, same size) → uint8 RGB."""
    if full_range:
        luma, cb, cr = y, u - 128.0, v - 128.0
    else:  # stretch Y 16…235 and UV 16…240 to full range first
        luma, cb, cr = (y - 16.0) * (255.0 / 219.0), (u - 128.0) * (255.0 / 224.0), (v - 128.0) * (255.0 / 224.0)
    r, g, b = luma + 1.402 * cr, luma - 0.344136 * cb - 0.714136 * cr, luma + 1.772 * cb
    return np.clip(np.rint(np.stack([r, g, b], axis=-1)), 0, 255).astype(np.uint8)


def resize_bilinear(image, width, height):
    """Bilinear resize with half-pixel centres and edge clamping (uint8 in, uint8 out)."""
    in_h, in_w = image.shape[:2]
    if (in_w, in_h) == (width, height):
        return image
    def axis(out_n, in_n):
        x = (np.arange(out_n) + 0.5) * (in_n / out_n) - 0.5
        x = np.clip(x, 0, in_n - 1)
        lo = np.floor(x).astype(np.int64)
        hi = np.minimum(lo + 1, in_n - 1)
        return lo, hi, (x - lo).astype(np.float32)
    y0, y1, fy = axis(height, in_h)
    x0, x1, fx = axis(width, in_w)
    f = image.astype(np.float32)
    top = f[y0][:, x0] * (1 - fx)[None, :, None] + f[y0][:, x1] * fx[None, :, None]
    bottom = f[y1][:, x0] * (1 - fx)[None, :, None] + f[y1][:, x1] * fx[None, :, None]
    out = top * (1 - fy)[:, None, None] + bottom * fy[:, None, None]
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def y4m_frames(path, width, height, limit):
    """Yields H×W×3 uint8 frames of a YUV4MPEG2 file (C444 / C420*), converted and resized."""
    with open(path, "rb") as f:
        header = f.readline()
        if not header.startswith(b"YUV4MPEG2 "):
            fail(f"{path} is not a YUV4MPEG2 file (no 'YUV4MPEG2 ' header)")
        fields = header.decode("ascii", "replace").split()[1:]
        params = {field[0]: field[1:] for field in fields}
        try:
            in_w, in_h = int(params["W"]), int(params["H"])
        except (KeyError, ValueError):
            fail(f"{path}: the header has no valid W and H")
        chroma = params.get("C", "420jpeg")
        if chroma.startswith("420"):
            cw, ch = (in_w + 1) // 2, (in_h + 1) // 2
        elif chroma == "444":
            cw, ch = in_w, in_h
        else:
            fail(f"{path}: chroma format C{chroma} is not supported (use C444 or C420; e.g. ffmpeg -pix_fmt yuv420p)")
        full_range = "XCOLORRANGE=FULL" in fields
        count = 0
        while not limit or count < limit:
            marker = f.readline()
            if not marker:
                return
            if not marker.startswith(b"FRAME"):
                fail(f"{path}: expected FRAME at frame {count}, found {marker[:16]!r}")
            data = f.read(in_w * in_h + 2 * cw * ch)
            if len(data) < in_w * in_h + 2 * cw * ch:
                fail(f"{path}: frame {count} is truncated")
            plane = np.frombuffer(data, np.uint8)
            y = plane[:in_w * in_h].reshape(in_h, in_w).astype(np.float32)
            u = plane[in_w * in_h:in_w * in_h + cw * ch].reshape(ch, cw).astype(np.float32)
            v = plane[in_w * in_h + cw * ch:].reshape(ch, cw).astype(np.float32)
            if (cw, ch) != (in_w, in_h):
                u = u.repeat(2, 0).repeat(2, 1)[:in_h, :in_w]
                v = v.repeat(2, 0).repeat(2, 1)[:in_h, :in_w]
            yield resize_bilinear(yuv_to_rgb(y, u, v, full_range), width, height)
            count += 1


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0], epilog=__doc__.split("\n", 2)[2],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help=".tflite file")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--frames", help="YUV4MPEG2 file (C444 or C420)")
    source.add_argument("--video", help="any video ffmpeg decodes")
    parser.add_argument("--size", help="WxH of the model input (default: the model's input tensor size; must match it)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--range", default="0,1", help="MIN,MAX the input bytes map to (default 0,1; face detection: -1,1)")
    parser.add_argument("--warmup", type=int, default=1, help="frames excluded from the statistics (default 1)")
    parser.add_argument("--max-frames", type=int, default=0, help="stop after this many frames (default: all)")
    parser.add_argument("--masks", help="write output 0 of every frame here as float16")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    args = parser.parse_args()
    if args.threads < 1:
        fail("--threads must be at least 1")
    try:
        low, high = (float(v) for v in args.range.split(","))
    except ValueError:
        fail(f"--range must be MIN,MAX (e.g. -1,1), found '{args.range}'")

    try:
        interpreter = Interpreter(model_path=args.model, num_threads=args.threads)
        interpreter.allocate_tensors()
    except (ValueError, RuntimeError) as error:
        fail(f"LiteRT cannot load {args.model}: {error}")
    inputs = interpreter.get_input_details()
    if len(inputs) != 1 or len(inputs[0]["shape"]) != 4 or inputs[0]["shape"][3] != 3:
        fail(f"{args.model}: expected one [1, H, W, 3] input, found {[list(d['shape']) for d in inputs]}")
    model_h, model_w = int(inputs[0]["shape"][1]), int(inputs[0]["shape"][2])
    width, height = parse_size(args.size) if args.size else (model_w, model_h)
    if (width, height) != (model_w, model_h):
        fail(f"--size {width}x{height} differs from the model's input {model_w}x{model_h}")
    outputs = interpreter.get_output_details()
    scale, offset = np.float32((high - low) / 255.0), np.float32(low)

    frames = ffmpeg_frames(args.video, width, height, args.max_frames) if args.video else y4m_frames(args.frames, width, height, args.max_frames)
    masks = open(args.masks, "wb") if args.masks else None
    times = []
    mask_shape = None
    for frame in frames:
        x = frame.astype(np.float32)[None] * scale + offset
        start = time.perf_counter()
        interpreter.set_tensor(inputs[0]["index"], x)
        interpreter.invoke()
        results = [interpreter.get_tensor(d["index"]) for d in outputs]
        times.append((time.perf_counter() - start) * 1000)
        if masks:
            mask_shape = list(results[0].shape[1:])
            masks.write(results[0].astype("<f2").tobytes())
    if masks:
        masks.close()
    if len(times) <= args.warmup:
        fail(f"only {len(times)} frames decoded; need more than --warmup {args.warmup}")
    measured = times[args.warmup:]
    report = {
        "model": args.model, "source": args.video or args.frames, "size": [width, height], "threads": args.threads,
        "range": [low, high], "frames": len(times), "warmup": args.warmup,
        "ms_per_frame": {"median": statistics.median(measured), "min": min(measured), "max": max(measured),
                         "mean": statistics.fmean(measured)},
        "litert": getattr(ai_edge_litert, "__version__", "unknown"), "python": platform.python_version(),
        "delegate": "XNNPACK (default)",
    }
    if masks:
        report["masks"] = {"file": args.masks, "dtype": "float16", "shape": [len(times)] + mask_shape}
    if args.json:
        print(json.dumps(report, indent=1))
    else:
        ms = report["ms_per_frame"]
        print(f"{args.model}: {len(measured)} frames ({args.warmup} warm-up excluded), {width}x{height}, {args.threads} thread(s), "
              f"LiteRT {report['litert']}: median {ms['median']:.2f} ms, min {ms['min']:.2f}, max {ms['max']:.2f}")
        if masks:
            print(f"masks: {args.masks} float16 {report['masks']['shape']}")


if __name__ == "__main__":
    main()
