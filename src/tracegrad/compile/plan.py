"""Planning: read a model, a loss and an optimizer once, and lay out a step for one batch size.

``Program`` is what does not depend on the batch: the chain of layers, the loss kernel,
the update rule and where each parameter sits in the optimizer. ``Plan`` is a program
for one number of rows, with every buffer allocated. Anything the compiler does not
know raises ``Unsupported`` with the reason; the step then runs eagerly and says why.
"""

from __future__ import annotations

import numpy as np

from .. import nn
from . import layers as K
from . import updates
from .layers import Unsupported
from .losses import kernel_for

# Exact types only: a subclass may override forward().
LAYER_KERNELS = {
    nn.Linear: K.Linear,
    nn.Identity: K.Identity,
    nn.ReLU: K.ReLU,
    nn.LeakyReLU: K.LeakyReLU,
    nn.Sigmoid: K.Sigmoid,
    nn.Tanh: K.Tanh,
    nn.Softplus: K.Softplus,
    nn.Softmax: K.Softmax,
    nn.LogSoftmax: K.LogSoftmax,
    nn.Dropout: K.Dropout,
}
CONTAINERS = (nn.Sequential, nn.MLP)


def _chain(model, containers) -> list:
    """The model's layers in call order, nested Sequentials flattened."""
    if type(model) in CONTAINERS:
        containers.append((model, model.layers))
        return [leaf for layer in model.layers for leaf in _chain(layer, containers)]
    if type(model) not in LAYER_KERNELS:
        raise Unsupported(
            f"the model contains a {type(model).__name__}, which the compiler does not know "
            f"(it compiles Sequential/MLP chains of {', '.join(t.__name__ for t in LAYER_KERNELS)})"
        )
    return [model]


class Program:
    """The batch-independent part of a compiled step (raises ``Unsupported``)."""

    def __init__(self, model, loss, optimizer):
        self.model, self.optimizer = model, optimizer
        self.containers = []
        self.layers = _chain(model, self.containers)
        self.linears = [layer for layer in self.layers if type(layer) is nn.Linear]
        if not self.linears:
            raise Unsupported("the model has no Linear layer: nothing to train")
        self.loss_kernel, self.penalty = kernel_for(loss)
        if self.penalty is not None and self.penalty.model is not model:
            raise Unsupported("with_l2_penalty was given another model than the one trained")
        rule = updates.RULES.get(type(optimizer))
        if rule is None:
            raise Unsupported(
                f"the optimizer {type(optimizer).__name__} has no compiled update "
                f"(compiled: {', '.join(t.__name__ for t in updates.RULES)})"
            )
        self.update, known = rule
        extra = set(optimizer.hyperparameters()) - known
        if extra:
            raise Unsupported(f"optimizer options {sorted(extra)} have no compiled update")
        self._map_parameters()
        self.dtype = self.params[0].data.dtype
        if any(p.data.dtype != self.dtype for p in self.params):
            raise Unsupported("the parameters have different dtypes")
        self.weights = []  # what the L2 penalty sums, in the eager function's order
        if self.penalty is not None:
            self.weights = [
                p for name, p in model.named_parameters() if name.split(".")[-1] == "weight"
            ]

    def _map_parameters(self):
        opt_params = self.optimizer.params
        where = {id(p): i for i, p in enumerate(opt_params)}
        params = [p for layer in self.linears for p in (layer.weight, layer.bias) if p is not None]
        if len({id(p) for p in params}) != len(params):  # gradients would have to add up
            raise Unsupported("a parameter is used by two layers (shared weights run eagerly)")
        if {id(p) for p in self.model.parameters()} != {id(p) for p in params}:
            raise Unsupported("the model has parameters outside its Linear layers")
        if set(where) != {id(p) for p in params}:
            raise Unsupported("the optimizer's parameters are not exactly the model's")
        if not all(p.requires_grad for p in params):
            raise Unsupported("a parameter has requires_grad=False (frozen layers run eagerly)")
        self.params = params
        self.linear_params = [(layer, layer.weight, layer.bias) for layer in self.linears]
        self.index = [where[id(p)] for p in params]
        self.opt_params = opt_params

    def still_valid(self) -> bool:
        """Whether the model and optimizer still have the structure planned for (cheap)."""
        if self.optimizer.params is not self.opt_params:
            return False
        for container, layers in self.containers:
            if container.layers is not layers:
                return False
        for p, i in zip(self.params, self.index, strict=True):
            if self.opt_params[i] is not p or not p.requires_grad:
                return False
        return all(
            layer.weight is w and layer.bias is b for layer, w, b in self.linear_params
        )

    def plan(self, n: int, width: int) -> Plan:
        return Plan(self, n, width)

    def describe(self) -> list:
        names = [type(layer).__name__ for layer in self.layers]
        loss = self.loss_kernel.__name__
        extra = " + L2 penalty" if self.penalty is not None else ""
        return [
            f"layers: {' -> '.join(names)}",
            f"loss: {loss}{extra}; update: {type(self.optimizer).__name__} ({self.dtype})",
        ]


class Plan:
    """A program laid out for ``n`` rows of ``width`` features: kernels and buffers."""

    def __init__(self, program: Program, n: int, width: int):
        self.program = program
        dtype = program.dtype
        self.kernels, self.first_linear = [], None
        for i, layer in enumerate(program.layers):
            if type(layer) is nn.Linear:
                if layer.in_features != width:
                    raise Unsupported(f"inputs of {width} features for {layer!r}")
                needs = self.first_linear is not None
                self.first_linear = i if self.first_linear is None else self.first_linear
                kernel = K.Linear(layer, n, dtype, needs_input_grad=needs)
                width = layer.out_features
            else:
                kernel = LAYER_KERNELS[type(layer)](layer, n, width, dtype)
            self.kernels.append(kernel)
        self.backward_kernels = self.kernels[self.first_linear :][::-1]
        self.loss = program.loss_kernel(n, width, dtype)
        self.grads = [g for k in self.kernels if type(k) is K.Linear for g in k.gradients()]
        self.scratch = [(np.empty_like(p.data), np.empty_like(p.data)) for p in program.params]
        self.dropouts = [layer for layer in program.layers if type(layer) is nn.Dropout]
        self.output = None
