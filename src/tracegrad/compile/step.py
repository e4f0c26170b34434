"""``compile_step``: one training step (forward, loss, backward, update) as straight-line code.

The eager step builds a graph of Tensors on every call and walks it backwards. The
compiled step reads the model, the loss and the optimizer once (``plan.Program``), lays
the step out once per batch size with every buffer preallocated (``plan.Plan``), and
then runs only NumPy calls that write into those buffers: no Tensor, no graph, no
allocation of weight-sized arrays. It is the idea of ``jax.jit`` / ``torch.compile``,
for the few layers, losses and optimizers this library has.

What cannot be compiled runs eagerly, with the reason kept in ``reason`` and
``explain()`` and given once as a ``CompileWarning``; a compiled step never guesses.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from ..tensor import Tensor
from . import fpmode
from .layers import Unsupported
from .plan import Program
from .updates import initial_state

MAX_PLANS = 4  # batch sizes kept laid out at once (an epoch has at most two)


class CompileWarning(UserWarning):
    """A training step runs eagerly instead of compiled; the message says why."""


def eager_step(model, loss, optimizer, x, y):
    """The PyTorch-style step, which compiling replaces: forward, backward, update.

    Parameters
    ----------
    model : Module
        The network whose parameters ``optimizer`` updates.
    loss : callable
        ``loss(output, y)`` returning a one-element Tensor, e.g. ``losses.cross_entropy``.
    optimizer : Optimizer
        The update rule, over ``model``'s parameters.
    x : array_like
        A batch of inputs.
    y : array_like
        Its targets, as ``loss`` takes them.

    Returns
    -------
    loss : float
        The loss on the batch, before the update.
    output : numpy.ndarray
        The model's output for the batch.
    """
    out = model(Tensor(x))
    cost = loss(out, y)
    optimizer.zero_grad()
    cost.backward()
    optimizer.step()
    return float(cost.item()), out.data


class CompiledStep:
    """A training step for ``model``, ``loss`` and ``optimizer``; call it with a batch.

    ``step(X, y)`` does what ``zero_grad(); loss(model(X), y).backward(); step()``
    does and returns the loss as a float. Afterwards the parameters, their ``.grad`` and
    ``optimizer.state`` hold what the eager step would have left (``.grad`` arrays are
    buffers the next step overwrites), and ``output`` is the model's output for the batch
    (likewise overwritten). Hyperparameters are read at every call, so a schedule that
    sets ``optimizer.lr`` between steps takes effect.

    Parameters
    ----------
    model : Module
        The network whose parameters ``optimizer`` updates.
    loss : callable
        ``loss(output, y)`` returning a one-element Tensor, e.g. ``losses.cross_entropy``.
    optimizer : Optimizer
        The update rule, over ``model``'s parameters.
    warn : bool, default True
        Warn (``CompileWarning``, once per reason) when the step runs eagerly.

    Attributes
    ----------
    compiled : bool
        Whether the step compiled (otherwise every call runs eagerly).
    reason : str or None
        Why it did not compile, or why the last call ran eagerly.
    eager_calls, compiled_calls : int
        How many calls took each path.
    """

    def __init__(self, model, loss, optimizer, warn: bool = True):
        self.model, self.loss, self.optimizer = model, loss, optimizer
        self.warn, self._warned = warn, set()
        self.output, self.reason = None, None
        self.eager_calls = self.compiled_calls = 0
        self._plans = {}
        self._program = self._make_program()

    def _make_program(self):
        try:
            return Program(self.model, self.loss, self.optimizer)
        except Unsupported as why:
            self._eager_because(str(why))
            return None

    @property
    def compiled(self) -> bool:
        return self._program is not None

    def __call__(self, x, y) -> float:
        """One training step on the batch ``(x, y)``; the loss before the update.

        Parameters
        ----------
        x : array_like or Tensor
            The inputs, (n, features); other shapes or dtypes run eagerly.
        y : array_like or Tensor
            Their targets, as ``loss`` takes them.
        """
        program = self._program
        if program is not None and not program.still_valid():
            self._plans.clear()  # a layer or parameter was replaced: read the model again
            program = self._program = self._make_program()
        if program is None:
            return self._eager(x, y)
        x = x.data if isinstance(x, Tensor) else np.asarray(x)
        y = y.data if isinstance(y, Tensor) else np.asarray(y)
        if x.ndim != 2 or x.dtype.kind not in "biuf":
            return self._eager(x, y, f"inputs of shape {x.shape} and dtype {x.dtype}")
        if x.dtype.kind != "f":  # integer pixels: cast as Linear does
            x = x.astype(program.dtype)
        elif x.dtype != program.dtype:
            return self._eager(
                x, y, f"{x.dtype} inputs to a {program.dtype} model (eager promotes the result)"
            )
        plan = self._plans.get(x.shape)
        if plan is None:
            try:
                plan = self._layout(x.shape)
            except Unsupported as why:
                return self._eager(x, y, str(why))
        targets = plan.loss.targets(y)
        if targets is None:
            return self._eager(x, y, "targets the compiled loss does not take as they are")
        value = self._run(plan, x, targets)
        if value is None:  # not a limit of the compiler: recorded, not warned about
            self.reason = "a non-finite loss (the eager step decides: raise or go on)"
            return self._eager(x, y)
        self.compiled_calls += 1
        return value

    def _layout(self, shape):
        if len(self._plans) >= MAX_PLANS:
            self._plans.pop(next(iter(self._plans)))
        plan = self._plans[shape] = self._program.plan(*shape)
        return plan

    def _run(self, plan, x, targets):
        """Forward, loss, backward, update; None (and nothing changed) if the loss is not finite."""
        saved = [(layer.rng, layer.rng.bit_generator.state) for layer in plan.dropouts]
        a = x
        for kernel in plan.kernels:
            a = kernel.forward(a)
        value = plan.loss.value(a, targets)
        program = plan.program
        penalty = program.penalty
        if penalty is not None:
            value = value + _l2_value(program.weights, penalty)
        if not math.isfinite(value):
            for rng, state in saved:  # the eager rerun must draw the same dropout masks
                rng.bit_generator.state = state
            return None
        plan.output = self.output = a
        delta = plan.loss.backward()
        for kernel in plan.backward_kernels:
            delta = kernel.backward(delta)
        if penalty is not None:
            _add_l2_gradient(plan, penalty)
        self._update(plan)
        return float(value)

    def _update(self, plan):
        program = plan.program
        opt, rule, states = program.optimizer, program.update, program.optimizer.state
        flush = fpmode.begin_flush()
        try:
            for (p, g), i, (tmp, tmp2) in zip(plan.grads, program.index, plan.scratch, strict=True):
                p.grad = g
                w = p.data
                state = states.get(i)
                if state is None:
                    state = states[i] = {"step": 0, **initial_state(opt, w)}
                state["step"] += 1
                rule(opt, w, g, state, tmp, tmp2)
        finally:
            fpmode.end_flush(flush)

    def _eager(self, x, y, reason=None):
        if reason is not None:
            self._eager_because(reason)
        self.eager_calls += 1
        value, self.output = eager_step(self.model, self.loss, self.optimizer, x, y)
        return value

    def _eager_because(self, reason: str) -> None:
        self.reason = reason
        if self.warn and reason not in self._warned:
            self._warned.add(reason)
            warnings.warn(
                f"tracegrad.compile: this training step runs eagerly: {reason}",
                CompileWarning,
                stacklevel=4,
            )

    def forget(self) -> None:
        """Drop the laid-out plans: the next call reads the model again and allocates anew."""
        self._plans.clear()
        self._program = self._make_program()

    def explain(self) -> str:
        """What was compiled, for which batch sizes, and why any call ran eagerly."""
        if self._program is None:
            return f"not compiled: {self.reason}\n(every call runs the eager step)"
        lines = ["compiled", *self._program.describe()]
        shapes = sorted(rows for rows, _ in self._plans)
        lines.append(f"laid out for batch sizes: {shapes or 'none yet'}")
        lines.append(f"calls: {self.compiled_calls} compiled, {self.eager_calls} eager")
        if self.reason is not None:
            lines.append(f"last eager call because: {self.reason}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        state = "compiled" if self.compiled else f"eager: {self.reason}"
        return f"CompiledStep({type(self.model).__name__}, {state})"


def _l2_value(weights, penalty):
    """λ/(2m)·Σ‖W‖², summed as ``losses.l2_penalty`` sums it."""
    total = np.sum(weights[0].data * weights[0].data)
    for w in weights[1:]:
        total = total + np.sum(w.data * w.data)
    return total * (penalty.lam / (2 * penalty.m))


def _add_l2_gradient(plan, penalty):
    """dC/dW += λ/m·W, as c·W + c·W with c = λ/(2m) (the two factors of W·W)."""
    c = plan.program.dtype.type(penalty.lam / (2 * penalty.m))
    weights = {id(w) for w in plan.program.weights}
    for (p, g), (tmp, _) in zip(plan.grads, plan.scratch, strict=True):
        if id(p) in weights:
            np.multiply(p.data, c, out=tmp)
            tmp += tmp
            g += tmp


def compile_step(model, loss, optimizer, warn: bool = True) -> CompiledStep:
    """Compile the training step of ``model`` under ``loss`` and ``optimizer``.

    What the model, loss or optimizer uses that the compiled path does not handle runs
    eagerly instead (same results); ``step.reason`` says why.

    Parameters
    ----------
    model : Module
        The network whose parameters ``optimizer`` updates.
    loss : callable
        ``loss(output, y)`` returning a one-element Tensor, e.g. ``losses.cross_entropy``.
    optimizer : Optimizer
        The update rule, over ``model``'s parameters.
    warn : bool, default True
        Warn (``CompileWarning``, once per reason) when the step runs eagerly.

    Returns
    -------
    CompiledStep
        Call it with a batch: ``step(X, y)`` returns the loss as a float.

    Examples
    --------
    >>> step = compile_step(model, losses.cross_entropy, optim.SGD(model.parameters(), 0.1))
    >>> for xb, yb in batches:                  # doctest: +SKIP
    ...     loss = step(xb, yb)                 # a float; model and optimizer updated
    >>> print(step.explain())                   # doctest: +SKIP
    """
    return CompiledStep(model, loss, optimizer, warn=warn)
