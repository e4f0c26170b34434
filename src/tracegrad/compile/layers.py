"""Layer kernels: the forward and backward pass of each known layer as in-place NumPy calls.

Each kernel is built once per batch shape with every array it writes preallocated; a
step calls ``forward(a)`` layer by layer, then ``backward(delta)`` in reverse. A kernel
performs the same NumPy operations, in the same order and on the same operand layouts,
as the eager primitive it replaces, so its numbers are the eager numbers (the tests in
``tests/test_compile.py`` hold every kernel to that, or to a stated tolerance where the
eager engine composes the op from several primitives).

Kernels read the layer's parameters (``layer.weight.data``) on every call instead of
keeping them, so a parameter restored in place (``load_state_dict``) or reassigned is
always the one used.
"""

from __future__ import annotations

import numpy as np


class Linear:
    """z = a Wᵀ + b; backward gives dC/dW, dC/db and (unless first) dC/da."""

    def __init__(self, layer, n, dtype, needs_input_grad):
        self.layer = layer
        self.z = np.empty((n, layer.out_features), dtype)
        self.delta_in = np.empty((n, layer.in_features), dtype) if needs_input_grad else None
        w = layer.weight.data
        # The gradient takes the weight's memory order, as the eager primitive's does, so
        # that the product runs with the same operand layouts (and gives the same bits).
        self.grad_w = np.empty(w.shape, dtype, order="F" if _fortran(w) else "C")
        self.grad_b = np.empty(layer.out_features, dtype) if layer.bias is not None else None
        self.a = None

    def forward(self, a):
        self.a = a
        np.matmul(a, self.layer.weight.data.T, out=self.z)
        if self.grad_b is not None:
            self.z += self.layer.bias.data
        return self.z

    def backward(self, delta):
        w = self.layer.weight.data
        if _fortran(w) != _fortran(self.grad_w):  # the weight was replaced by one of another order
            self.grad_w = np.empty(w.shape, w.dtype, order="F" if _fortran(w) else "C")
        if _fortran(w):
            np.matmul(self.a.T, delta, out=self.grad_w.T)
        else:
            np.matmul(delta.T, self.a, out=self.grad_w)
        if self.grad_b is not None:
            np.add.reduce(delta, axis=0, out=self.grad_b)
        if self.delta_in is None:
            return None
        return np.matmul(delta, w, out=self.delta_in)

    def gradients(self):
        """(parameter, gradient buffer) pairs, weight first."""
        pairs = [(self.layer.weight, self.grad_w)]
        if self.grad_b is not None:
            pairs.append((self.layer.bias, self.grad_b))
        return pairs


def _fortran(w) -> bool:
    return w.ndim == 2 and w.flags.f_contiguous and not w.flags.c_contiguous


class Identity:
    def __init__(self, layer, n, width, dtype):
        pass

    def forward(self, a):
        return a

    def backward(self, delta):
        return delta


class ReLU:
    """max(z, 0) in place; the mask is taken from the output (z > 0 exactly where a > 0)."""

    def __init__(self, layer, n, width, dtype):
        self.mask = np.empty((n, width), bool)
        self.a = None

    def forward(self, z):
        self.a = np.maximum(z, 0, out=z)
        return self.a

    def backward(self, delta):
        np.greater(self.a, 0, out=self.mask)
        return np.multiply(delta, self.mask, out=delta)


class LeakyReLU:
    """z where positive, slope·z elsewhere: z times a factor of 1 or slope (as eager)."""

    def __init__(self, layer, n, width, dtype):
        self.layer, self.dtype = layer, dtype
        self.factor = np.empty((n, width), dtype)
        self.mask = np.empty((n, width), bool)
        self.a = np.empty((n, width), dtype)

    def forward(self, z):
        one, slope = self.dtype.type(1.0), self.dtype.type(self.layer.negative_slope)
        np.greater(z, 0, out=self.mask)
        np.copyto(self.factor, slope)
        np.copyto(self.factor, one, where=self.mask)
        return np.multiply(z, self.factor, out=self.a)

    def backward(self, delta):
        return np.multiply(delta, self.factor, out=delta)


class Sigmoid:
    """1 / (1 + e^-|z|) where z >= 0 and e^-|z| / (1 + e^-|z|) elsewhere, as the eager op."""

    def __init__(self, layer, n, width, dtype):
        self.a = np.empty((n, width), dtype)
        self.denominator = np.empty((n, width), dtype)
        self.mask = np.empty((n, width), bool)

    def forward(self, z):
        e = np.abs(z, out=self.a)
        np.negative(e, out=e)
        np.exp(e, out=e)
        np.add(e, 1, out=self.denominator)
        np.greater_equal(z, 0, out=self.mask)
        out = np.maximum(e, self.mask, out=e)
        return np.divide(out, self.denominator, out=out)

    def backward(self, delta):
        delta *= self.a
        one_minus = np.subtract(1, self.a, out=self.denominator)
        return np.multiply(delta, one_minus, out=delta)


class Tanh:
    def __init__(self, layer, n, width, dtype):
        self.a = np.empty((n, width), dtype)
        self.tmp = np.empty((n, width), dtype)

    def forward(self, z):
        return np.tanh(z, out=self.a)

    def backward(self, delta):
        np.multiply(self.a, self.a, out=self.tmp)
        np.subtract(1, self.tmp, out=self.tmp)
        return np.multiply(delta, self.tmp, out=delta)


class Softplus:
    """max(z, 0) + log1p(e^-|z|); the gradient is taken as the sigmoid of z.

    The eager engine composes softplus from five primitives and differentiates each, so
    its gradient sums the pieces in another order: equal up to rounding (tested).
    """

    def __init__(self, layer, n, width, dtype):
        self.a = np.empty((n, width), dtype)
        self.tmp = np.empty((n, width), dtype)
        self.sigmoid = Sigmoid(layer, n, width, dtype)
        self.z = None

    def forward(self, z):
        self.z = z
        np.abs(z, out=self.tmp)
        np.negative(self.tmp, out=self.tmp)
        np.exp(self.tmp, out=self.tmp)
        np.log1p(self.tmp, out=self.tmp)
        np.maximum(z, 0.0, out=self.a)
        return np.add(self.a, self.tmp, out=self.a)

    def backward(self, delta):
        return np.multiply(delta, self.sigmoid.forward(self.z), out=delta)


class Softmax:
    """Row-wise softmax over the last axis, with the eager op's shift and reduction."""

    def __init__(self, layer, n, width, dtype):
        if layer.axis not in (-1, 1):
            raise Unsupported(f"{type(layer).__name__}(axis={layer.axis}): only the last axis")
        self.a = np.empty((n, width), dtype)
        self.tmp = np.empty((n, width), dtype)
        self.row = np.empty((n, 1), dtype)

    def forward(self, z):
        np.subtract(z, _row_max(z), out=self.a)
        np.exp(self.a, out=self.a)
        self.a /= np.add.reduce(self.a, axis=-1, keepdims=True, out=self.row)
        return self.a

    def backward(self, delta):
        np.multiply(delta, self.a, out=self.tmp)
        np.add.reduce(self.tmp, axis=-1, keepdims=True, out=self.row)
        np.subtract(delta, self.row, out=delta)
        delta *= self.a
        return delta


class LogSoftmax(Softmax):
    def forward(self, z):
        np.subtract(z, _row_max(z), out=self.a)
        np.exp(self.a, out=self.tmp)
        np.add.reduce(self.tmp, axis=-1, keepdims=True, out=self.row)
        np.log(self.row, out=self.row)
        return np.subtract(self.a, self.row, out=self.a)

    def backward(self, delta):
        np.exp(self.a, out=self.tmp)
        self.tmp *= np.add.reduce(delta, axis=-1, keepdims=True, out=self.row)
        return np.subtract(delta, self.tmp, out=delta)


def _row_max(z):
    # The maxima are exact whatever the order of the comparisons; a column-major copy
    # makes them one elementwise pass over long rows (the eager op does the same).
    if z.shape[0] >= 16 and 0 < z.shape[1] <= 64:
        return np.maximum.reduce(z.T.copy(), axis=0)[:, None]
    return np.maximum.reduce(z, axis=-1, keepdims=True)


class Dropout:
    """Inverted dropout drawing its mask from the layer's own generator, as eager does.

    ``rng.random(shape)`` is called with the same shape in the same order as the eager
    forward pass, so a compiled and an eager run consume the same random stream.
    """

    def __init__(self, layer, n, width, dtype):
        self.layer, self.dtype = layer, dtype
        self.uniform = np.empty((n, width), np.float64)
        self.mask = np.empty((n, width), bool)
        self.scale = np.empty((n, width), dtype)
        self.a = np.empty((n, width), dtype)
        self.active = False

    def forward(self, a):
        p = self.layer.p
        self.active = self.layer.training and p != 0
        if not self.active:
            return a
        self.layer.rng.random(out=self.uniform)
        np.greater_equal(self.uniform, p, out=self.mask)
        # bool * (1/(1-p)) in float64, then rounded: the eager mask's exact values
        np.multiply(self.mask, self.dtype.type(1.0 / (1.0 - p)), out=self.scale)
        return np.multiply(a, self.scale, out=self.a)

    def backward(self, delta):
        if not self.active:
            return delta
        return np.multiply(delta, self.scale, out=delta)


class Unsupported(Exception):
    """Raised while planning: the model, loss or optimizer cannot be compiled (says why)."""
