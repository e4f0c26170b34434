"""The parts of a model as ``tracegrad train`` and the playground save it.

A saved model is ``Sequential(Normalization, MLP)``: the input scaling is its
first layer. Tests that recompute its numbers by hand (with PyTorch, say) take
the two apart here.
"""

import numpy as np

from tracegrad import nn


def mlp_of(model):
    """The network behind the model's Normalization layer."""
    first, rest = model.layers
    assert isinstance(first, nn.Normalization), type(first)
    return rest


def scale_inputs(model, X):
    """Raw rows scaled by the model's own first layer, as a NumPy array."""
    first = model.layers[0]
    assert isinstance(first, nn.Normalization), type(first)
    return first(np.asarray(X, dtype=first.offset.dtype)).data
