"""A minimal NumPy evaluator for the ONNX graph the recipe exports.

onnxruntime is not installable here (python3-onnx 1.12 has no onnx.reference either), so this runs the
exported graph op by op, independently of PyTorch, to check that the file computes what the model did.
It supports only the ops the beat CNN uses and fails loudly on anything else.
"""
import numpy as np
import onnx
from onnx import numpy_helper


def _attrs(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _conv1d(x, w, b, strides, pads, dilations, group):
    assert group == 1 and dilations == [1], (group, dilations)
    n, cin, length = x.shape
    cout, _, k = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pads[0], pads[1])))
    s = strides[0]
    lout = (xp.shape[2] - k) // s + 1
    cols = np.stack([xp[:, :, j:j + s * (lout - 1) + 1:s] for j in range(k)], axis=3)  # n, cin, lout, k
    y = np.einsum("nclk,ock->nol", cols.astype(np.float64), w.astype(np.float64))
    if b is not None:
        y += b[None, :, None]
    return y


def _maxpool1d(x, kernel, strides, pads):
    assert pads == [0, 0], pads
    k, s = kernel[0], strides[0]
    lout = (x.shape[2] - k) // s + 1
    return np.max(np.stack([x[:, :, j:j + s * (lout - 1) + 1:s] for j in range(k)], axis=3), axis=3)


def run_onnx(path, beat, rr):
    model = onnx.load(path)
    g = model.graph
    env = {t.name: numpy_helper.to_array(t).astype(np.float64) for t in g.initializer}
    env["beat"], env["rr"] = np.asarray(beat, np.float64), np.asarray(rr, np.float64)
    env[""] = None
    for node in g.node:
        a, i = _attrs(node), [env.get(name) for name in node.input]
        op = node.op_type
        if op == "Constant":
            out = numpy_helper.to_array(a["value"]).astype(np.float64)
        elif op == "Identity":
            out = i[0]
        elif op == "Conv":
            out = _conv1d(i[0], i[1], i[2] if len(i) > 2 else None, a.get("strides", [1]), a.get("pads", [0, 0]),
                          a.get("dilations", [1]), a.get("group", 1))
        elif op == "Relu":
            out = np.maximum(i[0], 0)
        elif op == "MaxPool":
            assert a.get("ceil_mode", 0) == 0
            out = _maxpool1d(i[0], a["kernel_shape"], a.get("strides", a["kernel_shape"]), a.get("pads", [0, 0]))
        elif op == "Flatten":
            assert a.get("axis", 1) == 1
            out = i[0].reshape(i[0].shape[0], -1)
        elif op == "Clip":
            lo = i[1] if len(i) > 1 and i[1] is not None else -np.inf
            hi = i[2] if len(i) > 2 and i[2] is not None else np.inf
            out = np.clip(i[0], lo, hi)
        elif op == "Log":
            out = np.log(i[0])
        elif op == "Sub":
            out = i[0] - i[1]
        elif op == "Div":
            out = i[0] / i[1]
        elif op == "Mul":
            out = i[0] * i[1]
        elif op == "Add":
            out = i[0] + i[1]
        elif op == "Gemm":
            assert a.get("transA", 0) == 0 and a.get("alpha", 1.0) == 1.0 and a.get("beta", 1.0) == 1.0
            w = i[1].T if a.get("transB", 0) else i[1]
            out = i[0] @ w + (i[2] if len(i) > 2 and i[2] is not None else 0)
        elif op == "Gather":  # an experiment's choice of channels or RR features (integer indices, kept as floats here)
            out = np.take(i[0], i[1].astype(np.int64), axis=a.get("axis", 0))
        elif op == "Concat":
            out = np.concatenate(i, axis=a["axis"])
        elif op == "Softmax":
            z = i[0] - i[0].max(axis=a.get("axis", -1), keepdims=True)
            e = np.exp(z)
            out = e / e.sum(axis=a.get("axis", -1), keepdims=True)
        else:
            raise NotImplementedError(f"op {op} is not supported by this checker")
        env[node.output[0]] = out
    return env[g.output[0].name].astype(np.float32)


def describe(path):
    """Input/output names and shapes, opset and op set of an ONNX file."""
    m = onnx.load(path)

    def dims(t):
        return [d.dim_param or d.dim_value for d in t.type.tensor_type.shape.dim]

    return {"inputs": {t.name: dims(t) for t in m.graph.input},
            "outputs": {t.name: dims(t) for t in m.graph.output},
            "opset": max(o.version for o in m.opset_import if o.domain in ("", "ai.onnx")),
            "ops": sorted({n.op_type for n in m.graph.node})}
