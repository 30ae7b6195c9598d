#!/usr/bin/env python3
"""Makes the TFLite reader's test fixtures and goldens (Tests/RuntimeTests/Fixtures/tflite/).

1. minimal.tflite: a hand-built 3-op model (DEQUANTIZE, CONV_2D with VALID/RELU6 options, RESHAPE)
   packed with the `flatbuffers` package through LiteRT's generated schema classes, checked by running
   it in the LiteRT interpreter against numpy. minimal.json records the model's facts and the byte
   positions of fields the hostile-file tests corrupt (found with flatbuffers' own Table API, a path
   independent of the Swift reader).
2. minimal-external.tflite: the same model with buffer 2 stored after the flatbuffer (Buffer.offset /
   Buffer.size, as large-model files do), also run in LiteRT.
3. amplified.tflite: a hostile 12 KB file whose 1000 subgraph entries all point at one subgraph whose
   1000 tensor entries all point at one tensor with a 1000-dimension shape (10^9 elements if decoded
   naively); the reader must refuse it instead of exhausting memory.
4. <model-id>.json for each real MediaPipe model (the .tflite files themselves are never committed):
   LiteRT's op names and counts, input/output names, shapes and dtypes, every tensor's name, shape and
   dtype, the first values of a float16 and an int32 constant as LiteRT returns them, and every
   operator's inputs, outputs and options as read by LiteRT's generated schema classes.

Usage: python3 Scripts/make-tflite-fixtures.py [models-dir]
  models-dir defaults to /work/dl/vision/mp/mediapipe/modules (MediaPipe's modules/ folder).
Requires ai-edge-litert==2.3.0, flatbuffers==25.12.19, numpy (see Scripts/requirements-dev.txt).
"""
import json
import os
import struct
import sys
from collections import Counter

import flatbuffers
import numpy as np
from ai_edge_litert import schema_py_generated as s
from ai_edge_litert.interpreter import Interpreter

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests", "RuntimeTests", "Fixtures", "tflite")
MODELS = sys.argv[1] if len(sys.argv) > 1 else "/work/dl/vision/mp/mediapipe/modules"
REAL = {
    "selfie-segmentation": "selfie_segmentation/selfie_segmentation.tflite",
    "selfie-segmentation-landscape": "selfie_segmentation/selfie_segmentation_landscape.tflite",
    "face-detection-short-range": "face_detection/face_detection_short_range.tflite",
    "face-landmark": "face_landmark/face_landmark.tflite",
}
PROVENANCE = "python3 Scripts/make-tflite-fixtures.py (ai-edge-litert %s, flatbuffers %s, numpy %s)" % (
    getattr(__import__("ai_edge_litert"), "__version__", "2.3.0"), flatbuffers.__version__, np.__version__)


def tensor(name, shape, ttype, buffer, quant=None):
    t = s.TensorT()
    t.name, t.shape, t.type, t.buffer = name.encode(), list(shape), ttype, buffer
    t.quantization = quant
    return t


def opcode(deprecated, builtin):
    c = s.OperatorCodeT()
    c.deprecatedBuiltinCode, c.builtinCode, c.version = deprecated, builtin, 1
    return c


def op(index, inputs, outputs, options_type=0, options=None):
    o = s.OperatorT()
    o.opcodeIndex, o.inputs, o.outputs = index, list(inputs), list(outputs)
    o.builtinOptionsType, o.builtinOptions = options_type, options
    return o


def buffer(data=None, offset=0, size=0):
    b = s.BufferT()
    b.data = None if data is None else np.frombuffer(data, dtype=np.uint8)
    b.offset, b.size = offset, size
    return b


WEIGHTS = np.array([[0.5, -1.0], [0.25, 2.0], [-0.75, 1.5]], dtype=np.float16).reshape(3, 1, 1, 2)
BIAS = np.array([0.5, -0.25, 1.0], dtype=np.float32)
NEW_SHAPE = np.array([16, 3], dtype=np.int32)


def minimal_model(bias_offset=None):
    """The minimal model; with `bias_offset`, buffer 2 (the bias) lives at that file offset."""
    q = s.QuantizationParametersT()
    q.scale, q.zeroPoint, q.quantizedDimension = [0.25], [0], 0
    conv = s.Conv2DOptionsT()
    conv.padding, conv.strideW, conv.strideH = s.Padding.VALID, 1, 1
    conv.fusedActivationFunction = s.ActivationFunctionType.RELU6
    reshape = s.ReshapeOptionsT()
    reshape.newShape = [16, 3]
    g = s.SubGraphT()
    g.tensors = [
        tensor("input", [1, 4, 4, 2], s.TensorType.FLOAT32, 0, q),
        tensor("conv/weights_f16", [3, 1, 1, 2], s.TensorType.FLOAT16, 1),
        tensor("conv/bias", [3], s.TensorType.FLOAT32, 2),
        tensor("conv/weights", [3, 1, 1, 2], s.TensorType.FLOAT32, 0),
        tensor("conv_out", [1, 4, 4, 3], s.TensorType.FLOAT32, 0),
        tensor("reshape/shape", [2], s.TensorType.INT32, 3),
        tensor("output", [16, 3], s.TensorType.FLOAT32, 0),
    ]
    g.inputs, g.outputs, g.name = [0], [6], b"main"
    g.operators = [
        op(0, [1], [3]),
        op(1, [0, 3, 2], [4], s.BuiltinOptions.Conv2DOptions, conv),
        op(2, [4, 5], [6], s.BuiltinOptions.ReshapeOptions, reshape),
    ]
    m = s.ModelT()
    m.version, m.description = 3, b"Sparrow minimal TFLite fixture"
    # DEQUANTIZE in both code fields; CONV_2D only in the deprecated int8 field (old files); RESHAPE both.
    m.operatorCodes = [opcode(6, 6), opcode(3, 0), opcode(22, 22)]
    m.subgraphs = [g]
    bias = buffer(BIAS.tobytes()) if bias_offset is None else buffer(offset=bias_offset, size=BIAS.nbytes)
    m.buffers = [buffer(), buffer(WEIGHTS.tobytes()), bias, buffer(NEW_SHAPE.tobytes())]
    b = flatbuffers.Builder(1024)
    b.Finish(m.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def expected_output(x):
    w = WEIGHTS.astype(np.float32).reshape(3, 2)
    y = np.clip(x.reshape(16, 2) @ w.T + BIAS, 0, 6)
    return y.reshape(16, 3)


def run_in_litert(data):
    it = Interpreter(model_content=data)
    it.allocate_tensors()
    x = (np.arange(32, dtype=np.float32).reshape(1, 4, 4, 2) - 12) / 4
    it.set_tensor(it.get_input_details()[0]["index"], x)
    it.invoke()
    y = it.get_tensor(it.get_output_details()[0]["index"])
    assert np.allclose(y, expected_output(x), atol=1e-6), "LiteRT disagrees with numpy on the minimal model"


def field(tab, voffset):
    """File position of a table field (0 when absent)."""
    o = tab.Offset(voffset)
    return tab.Pos + o if o else 0


def target(data, pos):
    return pos + struct.unpack_from("<I", data, pos)[0]


def positions(data):
    """Byte positions of the fields the hostile tests corrupt (see minimal.json)."""
    m = s.Model.GetRootAs(data, 0)
    g = m.Subgraphs(0)
    t0, t1 = g.Tensors(0), g.Tensors(1)
    conv = g.Operators(1)
    opts = conv.BuiltinOptions()
    vtable = lambda tab: tab.Pos - struct.unpack_from("<i", data, tab.Pos)[0]
    return {
        "modelTable": m._tab.Pos,
        "modelVtable": vtable(m._tab),
        "operatorCodesVector": target(data, field(m._tab, 6)),
        "subgraphsVector": target(data, field(m._tab, 8)),
        "descriptionString": target(data, field(m._tab, 10)),
        "buffersVector": target(data, field(m._tab, 12)),
        "subgraphInputsVector": target(data, field(g._tab, 6)),
        "subgraphNameString": target(data, field(g._tab, 12)),
        "tensor0Table": t0._tab.Pos,
        "tensor0ShapeVector": target(data, field(t0._tab, 4)),
        "tensor0NameString": target(data, field(t0._tab, 10)),
        "tensor1Buffer": field(t1._tab, 8),
        "tensor1Type": field(t1._tab, 6),
        "tensor1ShapeVector": target(data, field(t1._tab, 4)),
        "buffer1DataVector": target(data, field(m.Buffers(1)._tab, 4)),
        "convOperatorTable": conv._tab.Pos,
        "convOpcodeIndex": field(conv._tab, 4),
        "convInputsVector": target(data, field(conv._tab, 6)),
        "convOptionsType": field(conv._tab, 10),
        "convOptionsVtableEntry": vtable(conv._tab) + 12,
        "convOptionsPadding": field(opts, 4),
        "convOptionsStrideW": field(opts, 6),
        "convOptionsActivation": field(opts, 10),
        "operatorCode1Deprecated": field(m.OperatorCodes(1)._tab, 4),
    }


def make_minimal():
    data = minimal_model()
    run_in_litert(data)
    open(os.path.join(OUT, "minimal.tflite"), "wb").write(data)
    # External bias: pack with a placeholder offset to learn the size, then place the bias after it.
    first = minimal_model(bias_offset=1 << 40)
    offset = (len(first) + 15) // 16 * 16
    ext = minimal_model(bias_offset=offset)
    assert len(ext) == len(first)
    ext = ext + bytes(offset - len(ext)) + BIAS.tobytes()
    run_in_litert(ext)
    open(os.path.join(OUT, "minimal-external.tflite"), "wb").write(ext)
    facts = {
        "provenance": PROVENANCE,
        "fileBytes": len(data),
        "externalBiasOffset": offset,
        "weightsFloat16": [float(v) for v in WEIGHTS.reshape(-1)],
        "bias": [float(v) for v in BIAS],
        "positions": positions(data),
    }
    json.dump(facts, open(os.path.join(OUT, "minimal.json"), "w"), indent=1)


def make_amplified(n=1000):
    b = flatbuffers.Builder(4 * n * 3 + 1024)
    b.StartVector(4, n, 4)
    for _ in range(n):
        b.PrependInt32(1)
    shape = b.EndVector()
    name = b.CreateString("t")
    s.TensorStart(b)
    s.TensorAddShape(b, shape)
    s.TensorAddName(b, name)
    t = s.TensorEnd(b)
    b.StartVector(4, n, 4)
    for _ in range(n):
        b.PrependUOffsetTRelative(t)
    tensors = b.EndVector()
    s.SubGraphStart(b)
    s.SubGraphAddTensors(b, tensors)
    g = s.SubGraphEnd(b)
    b.StartVector(4, n, 4)
    for _ in range(n):
        b.PrependUOffsetTRelative(g)
    graphs = b.EndVector()
    s.BufferStart(b)
    empty = s.BufferEnd(b)
    b.StartVector(4, 1, 4)
    b.PrependUOffsetTRelative(empty)
    buffers = b.EndVector()
    s.ModelStart(b)
    s.ModelAddVersion(b, 3)
    s.ModelAddSubgraphs(b, graphs)
    s.ModelAddBuffers(b, buffers)
    b.Finish(s.ModelEnd(b), file_identifier=b"TFL3")
    open(os.path.join(OUT, "amplified.tflite"), "wb").write(bytes(b.Output()))


PADDING = {0: "same", 1: "valid"}
ACTIVATION = {0: "none", 1: "relu", 2: "reluMinus1To1", 3: "relu6"}


def describe_options(code, op):
    """Options in the same canonical text the Swift test prints for TFLiteOperatorOptions."""
    o, t = op.builtinOptions, op.builtinOptionsType
    if code == "Convolution2DTransposeBias":
        p, sw, sh = struct.unpack_from("<iii", bytes(op.customOptions))
        return "transposeConv(%s,%d,%d)" % ({1: "same", 2: "valid"}[p], sw, sh)
    if t == s.BuiltinOptions.Conv2DOptions:
        return "conv2D(%s,%d,%d,%d,%d,%s)" % (PADDING[o.padding], o.strideW, o.strideH, o.dilationWFactor,
                                               o.dilationHFactor, ACTIVATION[o.fusedActivationFunction])
    if t == s.BuiltinOptions.DepthwiseConv2DOptions:
        return "depthwiseConv2D(%s,%d,%d,%d,%d,%d,%s)" % (
            PADDING[o.padding], o.strideW, o.strideH, o.depthMultiplier, o.dilationWFactor, o.dilationHFactor,
            ACTIVATION[o.fusedActivationFunction])
    if t == s.BuiltinOptions.Pool2DOptions:
        return "pool2D(%s,%d,%d,%d,%d,%s)" % (PADDING[o.padding], o.strideW, o.strideH, o.filterWidth,
                                               o.filterHeight, ACTIVATION[o.fusedActivationFunction])
    if t == s.BuiltinOptions.AddOptions:
        return "add(%s)" % ACTIVATION[o.fusedActivationFunction]
    if t == s.BuiltinOptions.MulOptions:
        return "mul(%s)" % ACTIVATION[o.fusedActivationFunction]
    if t == s.BuiltinOptions.ConcatenationOptions:
        return "concatenation(%d,%s)" % (o.axis, ACTIVATION[o.fusedActivationFunction])
    if t == s.BuiltinOptions.ReshapeOptions:
        return "reshape(%s)" % ",".join(str(int(v)) for v in o.newShape)
    if t == s.BuiltinOptions.ResizeBilinearOptions:
        return "resizeBilinear(%s,%s)" % (str(o.alignCorners).lower(), str(o.halfPixelCenters).lower())
    if t == s.BuiltinOptions.ReducerOptions:
        return "reducer(%s)" % str(o.keepDims).lower()
    assert t == 0, "options type %d not described" % t
    return "none"


def make_real(model_id, rel):
    path = os.path.join(MODELS, rel)
    data = open(path, "rb").read()
    it = Interpreter(model_path=path)
    ops = it._get_ops_details()
    details = it.get_tensor_details()
    m = s.ModelT.InitFromPackedBuf(data, 0)
    g = m.subgraphs[0]
    assert len(g.tensors) == len(details) and len(g.operators) == len(ops)
    names = {v: k for k, v in vars(s.BuiltinOperator).items() if not k.startswith("_")}
    operators = []
    for i, op in enumerate(g.operators):
        c = m.operatorCodes[op.opcodeIndex]
        code = max(c.deprecatedBuiltinCode, c.builtinCode)
        name = c.customCode.decode() if code == s.BuiltinOperator.CUSTOM else names[code]
        assert name == ops[i]["op_name"], (i, name, ops[i]["op_name"])
        operators.append([name, [int(v) for v in op.inputs], [int(v) for v in op.outputs], describe_options(name, op)])
    dtype = {"float32": "float32", "float16": "float16", "int32": "int32"}

    def constant(kind):
        d = next(d for d in details if d["dtype"].__name__ == kind and m.buffers[g.tensors[d["index"]].buffer].data is not None)
        return {"index": int(d["index"]), "name": d["name"], "first": [float(v) for v in it.get_tensor(d["index"]).reshape(-1)[:8]]}

    io = lambda ds: [{"name": d["name"], "shape": [int(v) for v in d["shape"]], "type": dtype[d["dtype"].__name__]} for d in ds]
    golden = {
        "provenance": PROVENANCE,
        "file": rel,
        "opCounts": dict(Counter(o["op_name"] for o in ops)),
        "inputs": io(it.get_input_details()),
        "outputs": io(it.get_output_details()),
        "tensors": [[d["name"], [int(v) for v in d["shape"]], dtype[d["dtype"].__name__]] for d in details],
        "float16Constant": constant("float16"),
        "int32Constant": constant("int32"),
        "operators": operators,
    }
    with open(os.path.join(OUT, model_id + ".json"), "w") as f:
        json.dump(golden, f, separators=(",", ":"))


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    make_minimal()
    make_amplified()
    for model_id, rel in REAL.items():
        make_real(model_id, rel)
    print("wrote", OUT, "with", PROVENANCE)
