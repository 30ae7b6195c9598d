#!/usr/bin/env python3
"""Goldens for the face pipeline's pre/post-processing (Tests/VisionTests/FaceTests.swift).

Runs MediaPipe's face_detection_short_range.tflite and face_landmark.tflite with LiteRT on
skimage's astronaut.png, with the inputs prepared exactly as Sparrow's Swift code prepares them
(Sources/Vision/Faces/RotatedCrop.swift, mirrored below in float32 numpy), and writes:

  detector_input.png          the 128x128 letterboxed RGB8 detector input (x/127.5 - 1 is the tensor)
  detector_regressors.f32     'regressors' [1,896,16] float32 little-endian
  detector_classificators.f32 'classificators' [1,896,1]
  landmark_input.png          the 192x192 RGB8 face crop (x/255 is the tensor)
  landmark_points.f32         'conv2d_21' [1,1,1,1404]
  faces.json                  provenance, the numpy reference post-processing (decode, weighted NMS,
                              letterbox removal, landmark ROI, landmark projection) and MediaPipe's
                              own results from its Python solutions (FaceDetection, FaceMesh).

The MediaPipe part runs in a separate interpreter (mediapipe 0.10.14 pins its own dependencies):
  python3 -m venv /tmp/mpvenv && /tmp/mpvenv/bin/pip install mediapipe==0.10.14
  python3 Scripts/make-face-goldens.py --mediapipe-python /tmp/mpvenv/bin/python
This script itself needs ai-edge-litert==2.3.0, numpy and pillow (Scripts/requirements-dev.txt).
Every formula below names the MediaPipe calculator it follows.
"""
import argparse
import json
import math
import os
import platform
import subprocess
import sys

IMAGE = "/work/dl/vision/sk/skimage/data/astronaut.png"
MODELS = "/work/dl/vision/mp/mediapipe/modules"
DETECTOR = f"{MODELS}/face_detection/face_detection_short_range.tflite"
LANDMARKER = f"{MODELS}/face_landmark/face_landmark.tflite"
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "VisionTests", "Fixtures", "faces")


def mediapipe_results(image_path):
    """MediaPipe's own detection and face mesh (run under the mediapipe venv)."""
    import cv2
    import mediapipe as mp
    image = cv2.cvtColor(cv2.imread(image_path), cv2.COLOR_BGR2RGB)
    out = {"versions": {"mediapipe": mp.__version__, "opencv": cv2.__version__,
                        "numpy": __import__("numpy").__version__, "python": platform.python_version()}}
    with mp.solutions.face_detection.FaceDetection(model_selection=0, min_detection_confidence=0.5) as fd:
        result = fd.process(image)
        out["detections"] = [{
            "score": d.score[0],
            "box": [d.location_data.relative_bounding_box.xmin, d.location_data.relative_bounding_box.ymin,
                    d.location_data.relative_bounding_box.width, d.location_data.relative_bounding_box.height],
            "keypoints": [[k.x, k.y] for k in d.location_data.relative_keypoints],
        } for d in (result.detections or [])]
    with mp.solutions.face_mesh.FaceMesh(static_image_mode=True, refine_landmarks=False, max_num_faces=1) as fm:
        result = fm.process(image)
        out["landmarks"] = [[[p.x, p.y, p.z] for p in face.landmark] for face in (result.multi_face_landmarks or [])]
    return out


# --- numpy mirror of Sources/Vision/Faces (float32, same operation order) ----------------------

def image_point(np, rect, u, v, w, h):
    """NormalizedRect.imagePoint: GetRotatedSubRectToRectTransformMatrix without the 1/size."""
    f = np.float32
    dx = (f(u) - f(0.5)) * f(rect["width"]) * f(w)
    dy = (f(v) - f(0.5)) * f(rect["height"]) * f(h)
    c, s = f(math.cos(rect["rotation"])), f(math.sin(rect["rotation"]))
    return (f(rect["xCenter"]) * f(w) + c * dx - s * dy, f(rect["yCenter"]) * f(h) + s * dx + c * dy)


def crop(np, pixels, rect, out_w, out_h, zero_border):
    """RotatedCrop.crop: ImageToTensorCalculator's warpPerspective INTER_LINEAR (coordinates in 1/32 px)."""
    f = np.float32
    h, w, _ = pixels.shape
    ox, oy = image_point(np, rect, 0, 0, w, h)
    rx, ry = image_point(np, rect, 1, 0, w, h)
    dx, dy = image_point(np, rect, 0, 1, w, h)
    su = ((rx - ox) / f(out_w), (ry - oy) / f(out_w))
    sv = ((dx - ox) / f(out_h), (dy - oy) / f(out_h))
    u = np.arange(out_w, dtype=np.float32)[None, :]
    v = np.arange(out_h, dtype=np.float32)[:, None]
    x = np.clip(ox + u * su[0] + v * sv[0], f(-4), f(w + 4))
    y = np.clip(oy + u * su[1] + v * sv[1], f(-4), f(h + 4))
    qx = np.floor(x * f(32) + f(0.5)).astype(np.int64)
    qy = np.floor(y * f(32) + f(0.5)).astype(np.int64)
    x0, y0 = qx >> 5, qy >> 5
    fx, fy = (qx & 31).astype(np.float32) / f(32), (qy & 31).astype(np.float32) / f(32)
    one = f(1)
    weights = [(one - fx) * (one - fy), fx * (one - fy), (one - fx) * fy, fx * fy]

    def tap(xi, yi):
        inside = (xi >= 0) & (xi < w) & (yi >= 0) & (yi < h)
        values = pixels[np.clip(yi, 0, h - 1), np.clip(xi, 0, w - 1)].astype(np.float32)
        if zero_border:
            values = np.where(inside[..., None], values, f(0))
        return values

    taps = [tap(x0, y0), tap(x0 + 1, y0), tap(x0, y0 + 1), tap(x0 + 1, y0 + 1)]
    value = (weights[0][..., None] * taps[0] + weights[1][..., None] * taps[1]
             + weights[2][..., None] * taps[2] + weights[3][..., None] * taps[3])
    return np.clip(np.floor(value + f(0.5)), 0, 255).astype(np.uint8)


def anchors(np):
    """SsdAnchorsCalculator, short-range options: fixed-size anchors at the cell centres."""
    result = []
    for stride, per_cell in ((8, 2), (16, 6)):     # strides 8 | 16,16,16, 2 anchors per layer
        n = 128 // stride
        for y in range(n):
            for x in range(n):
                result += [((x + 0.5) / n, (y + 0.5) / n)] * per_cell
    return np.array(result, dtype=np.float32)


def decode(np, regressors, logits, anchor_xy):
    """TensorsToDetectionsCalculator: reverse_output_order, scales 128, sigmoid, clip 100, thresh 0.5."""
    f = np.float32
    r = regressors.reshape(896, 16)
    with np.errstate(over="ignore"):     # exp(100) is inf in float32: score 0, as in C++
        scores = f(1) / (f(1) + np.exp(-np.clip(logits.reshape(896), f(-100), f(100))))
    dets = []
    for i in np.nonzero(scores >= f(0.5))[0]:
        ax, ay = anchor_xy[i]
        xc, yc = r[i, 0] / f(128) + ax, r[i, 1] / f(128) + ay
        bw, bh = r[i, 2] / f(128), r[i, 3] / f(128)
        xmin, ymin, xmax, ymax = xc - bw / f(2), yc - bh / f(2), xc + bw / f(2), yc + bh / f(2)
        kps = [[r[i, 4 + 2 * k] / f(128) + ax, r[i, 5 + 2 * k] / f(128) + ay] for k in range(6)]
        dets.append({"anchor": int(i), "score": scores[i], "box": [xmin, ymin, xmax - xmin, ymax - ymin],
                     "keypoints": kps})
    return dets


def iou(a, b):
    l, t = max(a[0], b[0]), max(a[1], b[1])
    r, btm = min(a[0] + a[2], b[0] + b[2]), min(a[1] + a[3], b[1] + b[3])
    if r <= l or btm <= t:
        return 0.0
    inter = (r - l) * (btm - t)
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


def weighted_nms(dets, threshold=0.3):
    """NonMaxSuppressionCalculator, WEIGHTED, INTERSECTION_OVER_UNION."""
    remaining = sorted(dets, key=lambda d: -d["score"])
    out = []
    while remaining:
        best = remaining[0]
        group = [d for d in remaining if iou(d["box"], best["box"]) > threshold]
        remaining = [d for d in remaining if iou(d["box"], best["box"]) <= threshold]
        total = sum(float(d["score"]) for d in group)
        xmin = sum(float(d["box"][0]) * float(d["score"]) for d in group) / total
        ymin = sum(float(d["box"][1]) * float(d["score"]) for d in group) / total
        xmax = sum(float(d["box"][0] + d["box"][2]) * float(d["score"]) for d in group) / total
        ymax = sum(float(d["box"][1] + d["box"][3]) * float(d["score"]) for d in group) / total
        kps = [[sum(float(d["keypoints"][k][j]) * float(d["score"]) for d in group) / total for j in range(2)]
               for k in range(6)]
        out.append({"score": float(best["score"]), "box": [xmin, ymin, xmax - xmin, ymax - ymin],
                    "keypoints": kps, "merged": len(group)})
    return out


def landmark_roi(det, w, h):
    """DetectionsToRectsCalculator (rotation eye 0 -> eye 1, target 0) + RectTransformationCalculator
    (square_long, scale 1.5), in float32 like the Swift code."""
    f = __import__("numpy").float32
    (x0, y0), (x1, y1) = det["keypoints"][0], det["keypoints"][1]
    angle = -math.atan2(-(f(y1) - f(y0)) * f(h), (f(x1) - f(x0)) * f(w))
    angle = angle - 2 * math.pi * math.floor((angle + math.pi) / (2 * math.pi))
    box = [f(v) for v in det["box"]]
    long_side = max(box[2] * f(w), box[3] * f(h))
    return {"xCenter": float(box[0] + box[2] / f(2)), "yCenter": float(box[1] + box[3] / f(2)),
            "width": float(long_side / f(w) * f(1.5)), "height": float(long_side / f(h) * f(1.5)),
            "rotation": float(f(angle))}


def project_landmarks(np, raw, roi, w, h):
    """TensorsToLandmarksCalculator (/192) + LandmarkProjectionCalculator (rotate about the ROI centre)."""
    p = raw.reshape(468, 3).astype(np.float64) / 192.0
    c, s = math.cos(roi["rotation"]), math.sin(roi["rotation"])
    dx, dy = (p[:, 0] - 0.5) * roi["width"] * w, (p[:, 1] - 0.5) * roi["height"] * h
    x = (roi["xCenter"] * w + c * dx - s * dy) / w
    y = (roi["yCenter"] * h + s * dx + c * dy) / h
    return np.stack([x, y, p[:, 2] * roi["width"]], axis=1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mediapipe-python", help="interpreter with mediapipe==0.10.14 installed")
    parser.add_argument("--mediapipe-only", metavar="JSON", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.mediapipe_only:
        with open(args.mediapipe_only, "w") as fh:
            json.dump(mediapipe_results(IMAGE), fh)
        return

    import numpy as np
    from PIL import Image
    import PIL
    import importlib.metadata
    from ai_edge_litert.interpreter import Interpreter

    os.makedirs(OUT, exist_ok=True)
    image = np.asarray(Image.open(IMAGE).convert("RGB"))
    h, w, _ = image.shape

    def run(model, tensor):
        interpreter = Interpreter(model_path=model)
        interpreter.allocate_tensors()
        interpreter.set_tensor(interpreter.get_input_details()[0]["index"], tensor[None].astype(np.float32))
        interpreter.invoke()
        return {d["name"]: interpreter.get_tensor(d["index"]).copy() for d in interpreter.get_output_details()}

    # Detector: the whole image letterboxed to 128x128 (astronaut is square: no bars).
    side = max(w, h)
    region = {"xCenter": 0.5, "yCenter": 0.5, "width": side / w, "height": side / h, "rotation": 0.0}
    det_rgb = crop(np, image, region, 128, 128, zero_border=True)
    Image.fromarray(det_rgb).save(os.path.join(OUT, "detector_input.png"))
    det_out = run(DETECTOR, det_rgb.astype(np.float32) * np.float32(2 / 255) - np.float32(1))
    det_out["regressors"].astype("<f4").tofile(os.path.join(OUT, "detector_regressors.f32"))
    det_out["classificators"].astype("<f4").tofile(os.path.join(OUT, "detector_classificators.f32"))
    detections = weighted_nms(decode(np, det_out["regressors"], det_out["classificators"], anchors(np)))
    if not detections:
        sys.exit("no face detected in astronaut.png")
    best = detections[0]     # square image: tensor coordinates are image coordinates

    # Landmarks: the rotated 1.5x square around the best detection, 192x192, edges replicated.
    roi = landmark_roi(best, w, h)
    lm_rgb = crop(np, image, roi, 192, 192, zero_border=False)
    Image.fromarray(lm_rgb).save(os.path.join(OUT, "landmark_input.png"))
    lm_out = run(LANDMARKER, lm_rgb.astype(np.float32) / np.float32(255))
    lm_out["conv2d_21"].astype("<f4").tofile(os.path.join(OUT, "landmark_points.f32"))
    logit = float(lm_out["conv2d_31"].reshape(-1)[0])
    landmarks = project_landmarks(np, lm_out["conv2d_21"], roi, w, h)

    golden = {
        "command": "python3 Scripts/make-face-goldens.py" + (
            f" --mediapipe-python {args.mediapipe_python}" if args.mediapipe_python else ""),
        "versions": {"python": platform.python_version(), "numpy": np.__version__, "pillow": PIL.__version__,
                     "ai-edge-litert": importlib.metadata.version("ai-edge-litert")},
        "image": {"path": IMAGE, "width": w, "height": h},
        "models": {"detector": os.path.basename(DETECTOR), "landmarks": os.path.basename(LANDMARKER),
                   "source": "mediapipe-0.10.14 wheel, mediapipe/modules/"},
        "reference": {
            "note": "numpy re-implementation of the MediaPipe calculators on the LiteRT outputs above",
            "detections": [{k: (float(v) if k == "score" else v) for k, v in d.items()} for d in detections],
            "landmarkRegion": roi,
            "presenceLogit": logit,
            "landmarks": landmarks.tolist(),
        },
    }
    if args.mediapipe_python:
        tmp = os.path.join(OUT, "mediapipe.tmp.json")
        subprocess.run([args.mediapipe_python, os.path.abspath(__file__), "--mediapipe-only", tmp],
                       check=True, cwd="/", stderr=subprocess.DEVNULL)
        with open(tmp) as fh:
            golden["mediapipe"] = json.load(fh)
        os.remove(tmp)
        golden["mediapipe"]["calls"] = ("mediapipe.solutions.face_detection.FaceDetection(model_selection=0), "
                                        "mediapipe.solutions.face_mesh.FaceMesh(static_image_mode=True, "
                                        "refine_landmarks=False, max_num_faces=1) on the RGB image")

    def rounded(value):
        if isinstance(value, float):
            return float(f"{value:.9g}")
        if isinstance(value, list):
            return [rounded(v) for v in value]
        if isinstance(value, dict):
            return {k: rounded(v) for k, v in value.items()}
        return value

    with open(os.path.join(OUT, "faces.json"), "w") as fh:
        json.dump(rounded(golden), fh, indent=1)
        fh.write("\n")
    print(json.dumps({"detections": len(detections), "best": rounded(best), "roi": roi, "presenceLogit": logit}))
    if "mediapipe" in golden:
        mp_det = golden["mediapipe"]["detections"][0]
        print("box diff vs mediapipe:", np.abs(np.array(best["box"]) - np.array(mp_det["box"])).max())
        mp_lm = np.array(golden["mediapipe"]["landmarks"][0])
        d = np.hypot((landmarks[:, 0] - mp_lm[:, 0]) * w, (landmarks[:, 1] - mp_lm[:, 1]) * h)
        print(f"landmark px diff vs mediapipe: mean {d.mean():.4f} max {d.max():.4f}")


if __name__ == "__main__":
    main()
