"""ONNX export: the whole model, raw rows in, ``predict_proba``'s probabilities out.

The graph does what ``tracegrad.training.predict_proba`` does, in eval mode:
the input scaling (``Normalization`` as ``Sub`` then ``Div``), every ``Linear``
as a ``Gemm`` with the weight as stored, shape (out, in), so ``transB=1``), the
activations, then the step from outputs to probabilities that ``predict_proba``
takes (``Softmax`` of logits, ``Sigmoid`` of a single logit, ``Exp`` of
log-probabilities, nothing for a softmax or sigmoid output). ``Dropout`` is
left out, as it is the identity in eval mode.

Inputs and outputs::

    input          float (batch, n_features): raw rows, as given to predict_proba
    probabilities  float (batch, n_outputs): predict_proba(model, input)
    label          int64 (batch,): training.predict(model, input)

A regression model (one that ends in ``Denormalization``, mapping outputs
back to the targets' units) has one output instead, ``predictions`` (batch,
n_outputs): ``training.predict``'s values, kept 2-D.

The class names, the training data's record and what the outputs mean are in
the model's ``metadata_props``. Opset 17 and IR version 8 (ONNX 1.12, 2022)
keep the file readable by runtimes of the last few years.
"""

from __future__ import annotations

import json

import numpy as np

from ..nn.module import Module
from ..training.metrics import output_kind
from .layers import ExportError, check_supported, flatten

_HEADS = {"probabilities": "predict_proba", "predictions": "predict"}
OPSET = 17
IR_VERSION = 8  # the IR of ONNX 1.12, the first with opset 17

# Activation layers as one ONNX node each: type name -> (op, attributes of the layer)
_ACTIVATIONS = {
    "ReLU": ("Relu", lambda m: {}),
    "Sigmoid": ("Sigmoid", lambda m: {}),
    "Tanh": ("Tanh", lambda m: {}),
    "Softplus": ("Softplus", lambda m: {}),
    "LeakyReLU": ("LeakyRelu", lambda m: {"alpha": float(m.negative_slope)}),
    "Softmax": ("Softmax", lambda m: {"axis": int(m.axis)}),
    "LogSoftmax": ("LogSoftmax", lambda m: {"axis": int(m.axis)}),
}
# Layers that are the identity in eval mode: no node at all.
_SKIPPED = ("Identity", "Dropout")
SUPPORTED = ("Normalization", "Denormalization", "Linear", *_ACTIVATIONS, *_SKIPPED)


def to_onnx(model: Module, class_names=None, trained_on=None):
    """Build and check the ``onnx.ModelProto`` of ``model`` (see the module docstring).

    Raises
    ------
    ExportError
        If a layer has no ONNX equivalent, naming it, or the layer sizes do not chain.
    """
    import onnx
    from onnx import helper, numpy_helper

    layers = flatten(model)
    check_supported(layers, SUPPORTED, "ONNX")
    graph = _Graph(numpy_helper)
    n_in = _input_width(layers)
    width = n_in
    # The input is what predict_proba feeds the model: rows cast to the parameters' dtype.
    params = model.parameters()
    dtype = params[0].dtype if params else np.dtype(np.float32)
    x, x_dtype = "input", dtype
    for path, layer in layers:
        kind = type(layer).__name__
        if kind == "Normalization":
            x, x_dtype = graph.cast(x, x_dtype, layer.offset.dtype)
            _check_width(path, kind, layer.n_features, width)
            x = graph.node("Sub", [x, graph.constant(f"{path}.offset", layer.offset)])
            x = graph.node("Div", [x, graph.constant(f"{path}.scale", layer.scale)])
        elif kind == "Linear":
            _check_width(path, kind, layer.in_features, width)
            # NumPy promotes a float32 input times float64 weights to float64; so does this.
            target = np.result_type(x_dtype, layer.weight.dtype)
            x, x_dtype = graph.cast(x, x_dtype, target)
            inputs = [x, graph.constant(f"{path}.weight", layer.weight.data.astype(target))]
            if layer.bias is not None:
                inputs.append(graph.constant(f"{path}.bias", layer.bias.data.astype(target)))
            x, width = graph.node("Gemm", inputs, transB=1), layer.out_features
        elif kind == "Denormalization":  # z * scale + offset, in the dtype of z
            _check_width(path, kind, layer.n_features, width)
            x = graph.node("Mul", [x, graph.constant(f"{path}.scale", layer.scale.astype(x_dtype))])
            x = graph.node(
                "Add", [x, graph.constant(f"{path}.offset", layer.offset.astype(x_dtype))]
            )
        elif kind == "Softplus" and x_dtype != np.float32:
            x = graph.softplus(x, x_dtype)
        elif kind in _ACTIVATIONS:
            op, attributes = _ACTIVATIONS[kind]
            x = graph.node(op, [x], **attributes(layer))
    if type(layers[-1][1]).__name__ == "Denormalization":  # a regressor: values, no classes
        graph.node("Identity", [x], out="predictions")
        heads = [("predictions", np.dtype(x_dtype), ["batch", width])]
    else:
        _classifier_head(graph, model, x, np.dtype(x_dtype), width)
        heads = [("probabilities", np.dtype(x_dtype), ["batch", width])]
        heads.append(("label", np.dtype(np.int64), ["batch"]))
    onnx_graph = helper.make_graph(
        graph.nodes,
        "tracegrad_model",
        [helper.make_tensor_value_info("input", _elem(dtype), ["batch", n_in])],
        [helper.make_tensor_value_info(name, _elem(dt), shape) for name, dt, shape in heads],
        initializer=graph.initializers,
    )
    proto = helper.make_model(
        onnx_graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        ir_version=IR_VERSION,
        producer_name="tracegrad",
        producer_version=_version(),
        doc_string=f"{model!r}"[:2000],
    )
    props = {"outputs": f"{heads[0][0]}: as tracegrad.training.{_HEADS[heads[0][0]]}(model, input)"}
    if class_names is not None:
        props["class_names"] = json.dumps([str(c) for c in class_names])
    if trained_on is not None:
        props["trained_on"] = json.dumps(trained_on, allow_nan=False)
    helper.set_model_props(proto, props)
    onnx.checker.check_model(proto, full_check=True)
    return proto


def _classifier_head(graph, model, outputs: str, dtype: np.dtype, width: int) -> None:
    """``probabilities`` as predict_proba computes them, ``label`` as predict does."""
    from onnx import TensorProto

    x = outputs
    kind = output_kind(model)
    if kind == "log_probabilities":
        x = graph.node("Exp", [x])
    elif kind == "logits":
        x = graph.node("Sigmoid", [x]) if width == 1 else graph.node("Softmax", [x], axis=1)
    graph.node("Identity", [x], out="probabilities")
    if width > 1:  # predict's rule: the largest output (first of ties), ...
        graph.node("ArgMax", [outputs], out="label", axis=1, keepdims=0)
    else:  # ... or probability >= 0.5 for a single output column
        half = graph.constant("half", np.array(0.5, dtype=dtype))
        hit = graph.node("Cast", [graph.node("GreaterOrEqual", [x, half])], to=TensorProto.INT64)
        graph.node("Reshape", [hit, graph.constant("flat", np.array([-1]))], out="label")


def _elem(dtype) -> int:
    from onnx import helper

    return helper.np_dtype_to_tensor_dtype(np.dtype(dtype))


def _input_width(layers) -> int:
    """Input features: those of the first layer with a size (Normalization, Linear)."""
    for _, layer in layers:
        if type(layer).__name__ == "Normalization":
            return layer.n_features
        if type(layer).__name__ == "Linear":
            return layer.in_features
    raise ExportError("cannot export a model without a Normalization or Linear layer")


def _check_width(path: str, kind: str, expected: int, width: int) -> None:
    if expected != width:
        raise ExportError(
            f"cannot export layer {path} ({kind}): it takes {expected} features but the "
            f"layer before it gives {width}"
        )


class _Graph:
    """The nodes and initializers of a graph, with fresh names for intermediate values."""

    def __init__(self, numpy_helper):
        self.nodes, self.initializers, self._numpy_helper = [], [], numpy_helper

    def node(self, op: str, inputs: list, out: str | None = None, **attributes) -> str:
        from onnx import helper

        out = out or f"{op.lower()}_{len(self.nodes)}"
        self.nodes.append(helper.make_node(op, inputs, [out], name=out, **attributes))
        return out

    def constant(self, name: str, value: np.ndarray) -> str:
        array = np.ascontiguousarray(value)
        self.initializers.append(self._numpy_helper.from_array(array, name=name))
        return name

    def softplus(self, x: str, dtype) -> str:
        """max(x, 0) + log(1 + exp(-|x|)): onnxruntime has no Softplus but float32's."""
        one = self.constant(f"one_{len(self.nodes)}", np.array(1, dtype=dtype))
        tail = self.node("Exp", [self.node("Neg", [self.node("Abs", [x])])])
        tail = self.node("Log", [self.node("Add", [tail, one])])
        return self.node("Add", [self.node("Relu", [x]), tail])

    def cast(self, x: str, have, want) -> tuple[str, np.dtype]:
        from onnx import helper

        if np.dtype(have) == np.dtype(want):
            return x, np.dtype(have)
        to = helper.np_dtype_to_tensor_dtype(np.dtype(want))
        return self.node("Cast", [x], to=to), np.dtype(want)


def _version() -> str:
    from .. import __version__

    return __version__
