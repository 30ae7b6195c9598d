#!/usr/bin/env python3
"""Goldens for Sparrow's NHWC image ops from LiteRT's *reference* kernels (TFLite BUILTIN_REF).

Builds one tiny single-op .tflite model per case in memory (with the flatbuffer schema module that
ships in ai-edge-litert), runs it with OpResolverType.BUILTIN_REF (tensorflow/lite/kernels/internal/
reference/*) on seeded random inputs, and writes Tests/RuntimeTests/Fixtures/image-op-goldens.json:
per case the op, its parameters (pool padding resolved with TFLite's SAME rule), input shapes and
values, and LiteRT's output. Floats are written with repr (round-trips exactly).

Usage: python3 Scripts/make-image-op-goldens.py   (needs ai-edge-litert==2.3.0, numpy; see
Scripts/requirements-dev.txt)
"""
import json
import os
import sys

import flatbuffers
import numpy as np
import ai_edge_litert
import ai_edge_litert.schema_py_generated as S
from ai_edge_litert.interpreter import Interpreter, OpResolverType

F32, I32 = S.TensorType.FLOAT32, S.TensorType.INT32
OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "RuntimeTests", "Fixtures", "image-op-goldens.json")


def run_single_op(op, options_type, options, inputs, constants, output_shape):
    """inputs: list of float32 arrays (graph inputs); constants: list of (array, type) appended as
    constant tensors after the inputs. Returns LiteRT's output (reference kernels)."""
    m = S.ModelT()
    m.version = 3
    code = S.OperatorCodeT()
    code.builtinCode = op
    code.deprecatedBuiltinCode = min(op, 127)
    code.version = 1
    m.operatorCodes = [code]
    m.buffers = [S.BufferT()]
    g = S.SubGraphT()
    g.tensors = []

    def tensor(shape, ttype, data=None):
        t = S.TensorT()
        t.shape = list(shape)
        t.type = ttype
        t.name = "t%d" % len(g.tensors)
        b = S.BufferT()
        if data is not None:
            b.data = list(np.ascontiguousarray(data).tobytes())
        m.buffers.append(b)
        t.buffer = len(m.buffers) - 1
        g.tensors.append(t)
        return len(g.tensors) - 1

    ins = [tensor(x.shape, F32) for x in inputs]
    consts = [tensor(a.shape, t, a) for a, t in constants]
    out = tensor(output_shape, F32)
    o = S.OperatorT()
    o.opcodeIndex = 0
    o.inputs = ins + consts
    o.outputs = [out]
    o.builtinOptionsType = options_type
    o.builtinOptions = options
    g.operators = [o]
    g.inputs = ins
    g.outputs = [out]
    m.subgraphs = [g]
    b = flatbuffers.Builder(1024)
    b.Finish(m.Pack(b), file_identifier=b"TFL3")
    it = Interpreter(model_content=bytes(b.Output()), experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
    it.allocate_tensors()
    for d, x in zip(it.get_input_details(), inputs):
        it.set_tensor(d["index"], x)
    it.invoke()
    return it.get_tensor(it.get_output_details()[0]["index"])


def same_padding(size, filt, stride):
    """TFLite's SAME rule (tensorflow/lite/kernels/padding.h): output, padding before, after."""
    out = (size + stride - 1) // stride
    total = max((out - 1) * stride + filt - size, 0)
    return out, total // 2, total - total // 2


def floats(a):
    return [float(v) for v in np.asarray(a, dtype=np.float32).reshape(-1)]


def main():
    rng = np.random.default_rng(20261122)
    cases = []

    def rand(*shape, scale=3.0):
        return (rng.uniform(-scale, scale, size=(1,) + shape)).astype(np.float32)

    def add_case(name, op, params, inputs, output):
        cases.append({"name": name, "op": op, "params": params,
                      "inputs": [{"shape": list(x.shape[1:]), "values": floats(x)} for x in inputs],
                      "output": {"shape": list(output.shape[1:]), "values": floats(output)}})

    # RESIZE_BILINEAR: the three flag combinations TFLite accepts, up and down.
    for (h, w, c, oh, ow) in [(3, 4, 3, 5, 7), (4, 4, 2, 2, 3), (2, 2, 17, 4, 4)]:
        for align, half in [(False, False), (True, False), (False, True)]:
            x = rand(h, w, c)
            opt = S.ResizeBilinearOptionsT()
            opt.alignCorners, opt.halfPixelCenters = align, half
            y = run_single_op(S.BuiltinOperator.RESIZE_BILINEAR, S.BuiltinOptions.ResizeBilinearOptions, opt, [x],
                              [(np.array([oh, ow], np.int32), I32)], (1, oh, ow, c))
            add_case("resize %dx%dx%d to %dx%d align %s half %s" % (h, w, c, oh, ow, align, half), "resizeBilinear",
                     {"outputHeight": oh, "outputWidth": ow, "alignCorners": align, "halfPixelCenters": half}, [x], y)

    # AVERAGE_POOL_2D / MAX_POOL_2D with SAME (padded edges) and VALID, fused activations.
    acts = {S.ActivationFunctionType.NONE: "none", S.ActivationFunctionType.RELU6: "relu6"}
    for op, opname in [(S.BuiltinOperator.AVERAGE_POOL_2D, "averagePool2D"), (S.BuiltinOperator.MAX_POOL_2D, "maxPool2D")]:
        for (h, w, c, f, s, same, act) in [(5, 7, 3, 3, 1, True, 0), (4, 6, 2, 3, 2, True, 3), (5, 5, 16, 2, 2, False, 0),
                                            (6, 6, 5, 6, 1, False, 0)]:
            x = rand(h, w, c)
            if same:
                oh, top, bottom = same_padding(h, f, s)
                ow, left, right = same_padding(w, f, s)
            else:
                oh, ow, top, bottom, left, right = (h - f) // s + 1, (w - f) // s + 1, 0, 0, 0, 0
            opt = S.Pool2DOptionsT()
            opt.padding = S.Padding.SAME if same else S.Padding.VALID
            opt.strideW = opt.strideH = s
            opt.filterWidth = opt.filterHeight = f
            opt.fusedActivationFunction = act
            y = run_single_op(op, S.BuiltinOptions.Pool2DOptions, opt, [x], [], (1, oh, ow, c))
            add_case("%s %dx%dx%d filter %d stride %d %s" % (opname, h, w, c, f, s, "SAME" if same else "VALID"), opname,
                     {"filter": f, "stride": s, "top": top, "left": left, "bottom": bottom, "right": right,
                      "activation": acts[act]}, [x], y)

    # Element-wise unary ops over cutoffs and random values.
    special = np.array([0, -3, 3, -2.5, 16.5, 16.7, -8.9, -9.1, 20, -20, 50, -50, 90, -90], np.float32)
    x = np.concatenate([special, rand(1, 1, 50, scale=12).reshape(-1)]).reshape(1, 1, 1, -1).astype(np.float32)
    for op, name, opt_type, opt in [(S.BuiltinOperator.LOGISTIC, "logistic", 0, None),
                                    (S.BuiltinOperator.HARD_SWISH, "hardSwish", S.BuiltinOptions.HardSwishOptions, S.HardSwishOptionsT()),
                                    (S.BuiltinOperator.RELU, "relu", 0, None)]:
        y = run_single_op(op, opt_type, opt, [x], [], x.shape)
        add_case(name, name, {}, [x], y)

    # ADD / MUL with broadcasting on either side and fused activations; PRELU with per-channel alpha.
    for op, name, opt_cls, opt_type in [(S.BuiltinOperator.ADD, "add", S.AddOptionsT, S.BuiltinOptions.AddOptions),
                                        (S.BuiltinOperator.MUL, "multiply", S.MulOptionsT, S.BuiltinOptions.MulOptions)]:
        for (ashape, bshape, act) in [((3, 5, 4), (3, 5, 4), 0), ((3, 5, 17), (1, 1, 17), 3), ((1, 1, 17), (3, 5, 17), 1),
                                      ((3, 5, 4), (1, 1, 1), 0)]:
            a, b = rand(*ashape), rand(*bshape)
            opt = opt_cls()
            opt.fusedActivationFunction = act
            oshape = ashape if np.prod(ashape) >= np.prod(bshape) else bshape
            y = run_single_op(op, opt_type, opt, [a, b], [], (1,) + oshape)
            add_case("%s %s %s" % (name, ashape, bshape), name, {"activation": {0: "none", 1: "relu", 3: "relu6"}[act]}, [a, b], y)
    xp, alpha = rand(3, 5, 6), rand(1, 1, 6, scale=0.5)
    y = run_single_op(S.BuiltinOperator.PRELU, 0, None, [xp, alpha], [], xp.shape)
    add_case("prelu", "prelu", {}, [xp, alpha], y)

    # MEAN over axes 1, 2 (keep dims), PAD, CONCATENATION along channels.
    xm = rand(5, 7, 19)
    opt = S.ReducerOptionsT()
    opt.keepDims = True
    y = run_single_op(S.BuiltinOperator.MEAN, S.BuiltinOptions.ReducerOptions, opt, [xm], [(np.array([1, 2], np.int32), I32)], (1, 1, 1, 19))
    add_case("mean", "meanOverPixels", {}, [xm], y)
    xpad = rand(3, 4, 3)
    pads = np.array([[0, 0], [1, 2], [0, 1], [2, 1]], np.int32)
    y = run_single_op(S.BuiltinOperator.PAD, S.BuiltinOptions.PadOptions, S.PadOptionsT(), [xpad], [(pads, I32)], (1, 6, 5, 6))
    add_case("pad", "pad", {"before": [1, 0, 2], "after": [2, 1, 1]}, [xpad], y)
    c1, c2 = rand(3, 4, 5), rand(3, 4, 2)
    opt = S.ConcatenationOptionsT()
    opt.axis = 3
    y = run_single_op(S.BuiltinOperator.CONCATENATION, S.BuiltinOptions.ConcatenationOptions, opt, [c1, c2], [], (1, 3, 4, 7))
    add_case("concatenate", "concatenate", {}, [c1, c2], y)

    doc = {"generator": "Scripts/make-image-op-goldens.py",
           "command": "python3 Scripts/make-image-op-goldens.py",
           "versions": {"ai-edge-litert": getattr(ai_edge_litert, "__version__", "2.3.0"), "numpy": np.__version__,
                        "flatbuffers": flatbuffers.__version__, "python": sys.version.split()[0]},
           "opResolver": "BUILTIN_REF (TFLite reference kernels)",
           "cases": cases}
    with open(OUT, "w") as f:
        json.dump(doc, f, indent=0)
        f.write("\n")
    print("wrote %d cases to %s" % (len(cases), os.path.normpath(OUT)))


if __name__ == "__main__":
    main()
