"""Layers: ``Linear``, activations, ``Dropout`` and the ``MLP`` stack."""

from __future__ import annotations

import numpy as np

from .. import functional as F
from ..autograd.fused import linear
from ..autograd.tensor import Tensor
from . import init as initializers
from .module import Module, Parameter, Sequential


def as_rng(rng) -> np.random.Generator:
    """Accept a Generator, a seed, or None (fresh, unseeded randomness)."""
    if isinstance(rng, np.random.Generator):
        return rng
    return np.random.default_rng(rng)


class Linear(Module):
    """Affine layer z = a Wᵀ + b for a batch of rows ``a`` of shape (n, in_features).

    ``weight`` has shape (out_features, in_features) — the notes' W^(l) — and
    ``bias`` shape (out_features,). Both are ordinary C-ordered arrays, so a flat
    view edits the weight: ``layer.weight.data.reshape(-1)[j] += eps`` perturbs one
    weight, as a gradient check by hand does. Inputs that are not floating-point
    Tensors (integer pixels, plain arrays) are converted to the weight's dtype.

    Parameters
    ----------
    in_features, out_features : int
        Units on the input and output side; positive (ValueError otherwise).
    bias : bool, default True
        Whether the layer has a bias.
    init : str or callable, default "torch"
        Weight initializer, a name from ``tracegrad.nn.init`` or a function
        ``init(shape, rng, dtype)``. The default draws weights and bias from
        U(±1/√in_features), PyTorch's default, so ported code starts from the same
        distribution; with any other the bias starts at zero.
    rng : numpy.random.Generator or int, optional
        Source of the initial values (a seed reproduces them); None: fresh randomness.
    dtype : dtype, default numpy.float32
        The parameters' dtype.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        init="torch",
        rng=None,
        dtype=np.float32,
    ):
        for name, n in (("in_features", in_features), ("out_features", out_features)):
            if not isinstance(n, (int, np.integer)) or n < 1:
                raise ValueError(f"Linear: {name} must be a positive integer, got {n!r}")
        self.in_features, self.out_features = int(in_features), int(out_features)
        rng = as_rng(rng)
        init_fn = initializers.get(init)
        shape = (self.out_features, self.in_features)
        self.weight = Parameter(np.ascontiguousarray(init_fn(shape, rng, dtype)))
        self.bias = None
        if bias:
            if init_fn is initializers.torch_default:
                b = initializers.torch_default((self.out_features,), rng, dtype, in_features)
            else:
                b = np.zeros(self.out_features, dtype=dtype)
            self.bias = Parameter(b)

    def forward(self, a):
        # Integer pixels must not turn a float32 model float64. Integers and plain arrays
        # never require gradients, so converting them here, afresh on each call, loses nothing.
        if not isinstance(a, Tensor) or a.dtype.kind != "f":
            a = Tensor(a, dtype=self.weight.dtype)
        if a.ndim == 0 or a.shape[-1] != self.in_features:
            hint = ""
            if a.ndim > 2:
                hint = "; flatten images first, e.g. x.reshape(len(x), -1)"
            raise ValueError(
                f"Linear({self.in_features}, {self.out_features}) expects inputs with "
                f"{self.in_features} features on the last axis, got shape {a.shape}{hint}"
            )
        return linear(a, self.weight, self.bias)

    def extra_repr(self) -> str:
        return f"{self.in_features}, {self.out_features}, bias={self.bias is not None}"


class _Activation(Module):
    fn = staticmethod(F.identity)

    def forward(self, x):
        return self.fn(x)


class Identity(_Activation):
    """Activation that returns its input unchanged (linear output units)."""
    fn = staticmethod(F.identity)


class Sigmoid(_Activation):
    """Activation module: the logistic function 1 / (1 + e^-z), elementwise."""
    fn = staticmethod(F.sigmoid)


class Tanh(_Activation):
    """Activation module: the hyperbolic tangent, elementwise."""
    fn = staticmethod(F.tanh)


class ReLU(_Activation):
    """Activation module: max(z, 0), elementwise."""
    fn = staticmethod(F.relu)


class Softplus(_Activation):
    """Activation module: log(1 + e^z), elementwise, computed without overflow."""
    fn = staticmethod(F.softplus)


class LeakyReLU(Module):
    """Activation module: z where positive, ``negative_slope * z`` elsewhere.

    Parameters
    ----------
    negative_slope : float, default 0.01
        The slope for negative inputs (and at 0, as PyTorch).
    """
    def __init__(self, negative_slope: float = 0.01):
        self.negative_slope = negative_slope

    def forward(self, x):
        return F.leaky_relu(x, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class Softmax(Module):
    """Activation module: softmax along ``axis``, each slice summing to 1.

    Parameters
    ----------
    axis : int, default -1
        The axis normalized: the classes.
    """
    def __init__(self, axis: int = -1):
        self.axis = axis

    def forward(self, x):
        return F.softmax(x, self.axis)


class LogSoftmax(Softmax):
    """Activation module: log-softmax along ``axis``, finite even for huge logits.

    Parameters
    ----------
    axis : int, default -1
        The axis normalized: the classes.
    """
    def forward(self, x):
        return F.log_softmax(x, self.axis)


class Dropout(Module):
    """Drops each unit with probability ``p`` in training (inverted scaling); identity in eval.

    Parameters
    ----------
    p : float, default 0.5
        The probability of dropping a unit, in [0, 1) (ValueError otherwise).
    rng : numpy.random.Generator or int, optional
        Source of the masks; a seed reproduces them. None: fresh randomness.
    """

    def __init__(self, p: float = 0.5, rng=None):
        if not 0 <= p < 1:
            raise ValueError(f"Dropout: p is the probability of dropping, in [0, 1); got {p}")
        self.p = p
        self.rng = as_rng(rng)

    def forward(self, x):
        return F.dropout(x, self.p, self.rng, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}"


ACTIVATIONS = {
    "sigmoid": Sigmoid,
    "tanh": Tanh,
    "relu": ReLU,
    "leaky_relu": LeakyReLU,
    "softplus": Softplus,
    "softmax": Softmax,
    "log_softmax": LogSoftmax,
    "identity": Identity,
    "linear": Identity,
    "none": Identity,
}


def get_activation(name) -> Module:
    """An activation module by name (``"sigmoid"``, ``"relu"``, ...).

    Parameters
    ----------
    name : str or Module
        A key of ``ACTIVATIONS`` (case and ``-``/``_`` do not matter: ``"Leaky-ReLU"``):
        sigmoid, tanh, relu, leaky_relu, softplus, softmax, log_softmax, identity
        (also linear, none). A Module is returned as it is.

    Returns
    -------
    Module
        A new instance, with its default settings.

    Raises
    ------
    ValueError
        For an unknown name; the message lists the known ones.
    """
    if isinstance(name, Module):
        return name
    try:
        return ACTIVATIONS[str(name).lower().replace("-", "_")]()
    except KeyError:
        raise ValueError(
            f"unknown activation {name!r}; choose one of: {', '.join(ACTIVATIONS)}"
        ) from None


activation = get_activation


class MLP(Sequential):
    """A multilayer perceptron: Linear layers with an activation between them.

    Parameters
    ----------
    sizes : sequence of int
        Units per layer, inputs first: ``[784, 30, 10]``.
    activation : str or Module, default "relu"
        Hidden activation, a name :func:`get_activation` knows: relu (as in
        ``tracegrad train``), sigmoid, tanh, leaky_relu, softplus, ...
    output : str or Module, default "identity"
        Output activation: identity (logits, for ``cross_entropy``), sigmoid, softmax, ...
    init : str or callable, default "auto"
        Weight initializer (see :class:`Linear`); ``"auto"`` picks ``he_normal`` for
        relu and leaky_relu and ``glorot_uniform`` otherwise. Biases start at zero,
        except with ``"torch"``.
    rng : numpy.random.Generator or int, optional
        Source of the initial weights and dropout masks: a seed reproduces the
        network bit for bit.
    dropout : float, default 0.0
        Probability of dropping each hidden unit during training (a ``Dropout``
        after each hidden activation when positive).
    dtype : dtype, default numpy.float32
        The parameters' dtype.
    """

    def __init__(
        self,
        sizes,
        activation="relu",
        output="identity",
        init="auto",
        rng=None,
        dropout: float = 0.0,
        dtype=np.float32,
    ):
        sizes = [int(s) for s in sizes]
        if len(sizes) < 2 or min(sizes) < 1:
            raise ValueError(
                f"MLP sizes must list at least two positive layer widths (inputs ... outputs), "
                f"got {sizes}"
            )
        rng = as_rng(rng)
        if init == "auto":
            relu_like = str(activation).lower() in ("relu", "leaky_relu", "leaky-relu")
            init = "he_normal" if relu_like else "glorot_uniform"
        self.sizes, self.activation_name, self.output_name = sizes, str(activation), str(output)
        self.init_name = init if isinstance(init, str) else getattr(init, "__name__", "custom")
        self.dropout = dropout
        layers = []
        for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
            layers.append(Linear(n_in, n_out, init=init, rng=rng, dtype=dtype))
            if i < len(sizes) - 2:
                layers.append(get_activation(activation))
                if dropout > 0:
                    layers.append(Dropout(dropout, rng=rng))
        layers.append(get_activation(output))
        super().__init__(*layers)

    @property
    def linears(self) -> list:
        """The Linear layers, input side first: ``linears[l-1]`` holds W^(l)."""
        return [m for m in self.layers if isinstance(m, Linear)]

    def get_config(self) -> dict:
        return {
            "sizes": self.sizes,
            "activation": self.activation_name,
            "output": self.output_name,
            "init": self.init_name,
            "dropout": self.dropout,
        }

    def extra_repr(self) -> str:
        return "-".join(map(str, self.sizes))
