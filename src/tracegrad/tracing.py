"""A step-by-step trace of one training step, in the course notes' notation.

For every layer l it records the weighted input z^(l), the activation a^(l),
the error delta^(l) = dC/dz^(l), the gradients dC/dW^(l) and dC/db^(l), and the
weights after the update, so a learner can compare each number with the notes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import losses
from .nn.layers import Linear
from .nn.module import Sequential
from .tensor import Tensor, no_grad

COSTS = {
    # Mazur's E = Σ ½ (t − o)², summed over outputs and samples.
    "half_sse": lambda o, t: 0.5 * losses.mse(o, t, reduction="sum"),
    # Nielsen's quadratic cost C = 1/(2n) Σ ‖y − a‖².
    "quadratic": lambda o, t: 0.5 * losses.mse(o, t, reduction="sum") / len(t),
    "mse": losses.mse,
    "cross_entropy": losses.cross_entropy,
    "binary_cross_entropy": losses.binary_cross_entropy,
}


@dataclass
class LayerTrace:
    """Every number of layer l during one step."""

    l: int
    W: np.ndarray
    b: np.ndarray | None
    z: np.ndarray
    a: np.ndarray
    delta: np.ndarray | None = None
    dW: np.ndarray | None = None
    db: np.ndarray | None = None
    W_new: np.ndarray | None = None
    b_new: np.ndarray | None = None


@dataclass
class StepTrace:
    """The forward pass, the cost, the backward pass and the update of one step."""

    x: np.ndarray
    targets: np.ndarray
    cost: float
    lr: float
    layers: list = field(default_factory=list)
    cost_name: str = ""  # the COSTS name, so a page can show the cost's formula

    def to_dict(self) -> dict:
        def plain(v):
            return v.tolist() if isinstance(v, np.ndarray) else v

        return {
            "a0": plain(self.x),
            "targets": plain(self.targets),
            "cost": self.cost,
            "lr": self.lr,
            "layers": [{k: plain(v) for k, v in vars(lt).items()} for lt in self.layers],
        }

    def format(self, precision: int = 9) -> str:
        """Readable tables: the forward pass, then the backward pass, then the update."""
        fmt = {"float_kind": lambda v: f"{v:.{precision}f}"}

        def show(name, value):
            text = np.array2string(np.asarray(value), formatter=fmt, separator="  ")
            pad = " " * (len(name) + 3)
            return f"  {name} = " + text.replace("\n", "\n" + pad)

        lines = ["Forward pass", show("a^(0) = x", self.x)]
        for lt in self.layers:
            lines += [f" layer {lt.l}", show(f"W^({lt.l})", lt.W)]
            if lt.b is not None:
                lines.append(show(f"b^({lt.l})", lt.b))
            lines += [
                show(f"z^({lt.l}) = a^({lt.l - 1}) W^({lt.l})T + b^({lt.l})", lt.z),
                show(f"a^({lt.l}) = f(z^({lt.l}))", lt.a),
            ]
        lines += [
            show("targets", self.targets),
            f"  cost C = {self.cost:.{precision}f}",
            "",
            "Backward pass (delta^(l) = dC/dz^(l))",
        ]
        for lt in reversed(self.layers):
            lines += [
                f" layer {lt.l}",
                show(f"delta^({lt.l})", lt.delta),
                show(f"dC/dW^({lt.l}) = delta^({lt.l})T a^({lt.l - 1})", lt.dW),
            ]
            if lt.db is not None:
                lines.append(show(f"dC/db^({lt.l}) = sum of delta^({lt.l})", lt.db))
        lines += ["", f"Update with learning rate {self.lr:g} (all gradients computed first)"]
        for lt in self.layers:
            lines.append(show(f"W^({lt.l}) - {self.lr:g} dC/dW^({lt.l})", lt.W_new))
            if lt.b_new is not None:
                lines.append(show(f"b^({lt.l}) new", lt.b_new))
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.format()

    def _repr_html_(self) -> str:
        """The page in an iframe, for Jupyter and the documentation's tutorials.

        The page keeps its own styles and script inside the frame, so it neither
        restyles the notebook around it nor is restyled by it.
        """
        from html import escape

        return (
            f'<iframe srcdoc="{escape(self.to_html(), quote=True)}" title="one training step" '
            'style="width: 100%; height: 48em; border: 1px solid #ccc"></iframe>'
        )

    def to_html(self, path=None, title: str | None = None, note: str = "") -> str:
        """This step as a self-contained HTML page (``tracegrad.viz.html_trace``).

        Writes it to ``path`` (atomically) when given; returns the HTML text.
        """
        from .viz.html_trace import trace_html

        html = trace_html(self, title=title, note=note)
        if path is not None:
            from .atomic import atomic_write

            with atomic_write(path, "w", encoding="utf-8") as f:
                f.write(html)
        return html


def _layers(model):
    """Group a Sequential into [(Linear, [modules after it]), ...], one entry per layer l."""
    if not isinstance(model, Sequential):
        raise TypeError("trace needs a Sequential or MLP model of Linear layers and activations")
    groups = []
    for module in model.layers:
        if isinstance(module, Linear):
            groups.append((module, []))
        elif not groups:
            raise TypeError(f"trace: the model must start with a Linear layer, not {module!r}")
        else:
            groups[-1][1].append(module)
    return groups


def trace(
    model,
    x,
    targets,
    cost="half_sse",
    lr: float = 0.5,
    update_biases: bool = True,
    apply: bool = True,
) -> StepTrace:
    """Run one gradient-descent step on ``model`` and record every number of it.

    Parameters
    ----------
    model : Sequential or MLP
        Linear layers, each followed by its activation.
    x, targets : array_like
        A batch of inputs (rows) and targets.
    cost : str or callable
        ``"half_sse"`` (E = Σ½(t−o)², Mazur), ``"quadratic"`` (Nielsen),
        ``"mse"``, ``"cross_entropy"``, ``"binary_cross_entropy"``, or
        ``cost(output, targets) -> Tensor``.
    lr : float
        The learning rate η of the update W ← W − η ∂C/∂W.
    update_biases : bool
        Mazur's example keeps the biases fixed.
    apply : bool
        Write the updated weights into the model (otherwise only report them).
    """
    cost_fn = COSTS[cost] if isinstance(cost, str) else cost
    groups = _layers(model)
    x = np.asarray(x, dtype=groups[0][0].weight.dtype)
    a = Tensor(np.atleast_2d(x))
    records, zs = [], []
    for l, (lin, after) in enumerate(groups, start=1):
        z = lin(a).retain_grad()
        a = z
        for module in after:
            a = module(a)
        zs.append(z)
        records.append(
            LayerTrace(
                l,
                lin.weight.data.copy(),
                None if lin.bias is None else lin.bias.data.copy(),
                z.data.copy(),
                a.data.copy(),
            )
        )
    for lin, _ in groups:
        lin.zero_grad()
    c = cost_fn(a, targets)
    c.backward()
    with no_grad():
        for rec, z, (lin, _) in zip(records, zs, groups, strict=True):
            rec.delta = z.grad
            rec.dW = lin.weight.grad.copy()
            rec.W_new = rec.W - lr * rec.dW
            if lin.bias is not None:
                rec.db = lin.bias.grad.copy()
                rec.b_new = rec.b - lr * rec.db if update_biases else rec.b.copy()
        if apply:  # only after every gradient is known, as the notes insist
            for rec, (lin, _) in zip(records, groups, strict=True):
                lin.weight.data[...] = rec.W_new
                if lin.bias is not None:
                    lin.bias.data[...] = rec.b_new
    t = targets.data if isinstance(targets, Tensor) else np.asarray(targets)
    return StepTrace(
        x=np.atleast_2d(x),
        targets=t,
        cost=float(c.item()),
        lr=lr,
        layers=records,
        cost_name=cost if isinstance(cost, str) else getattr(cost, "__name__", ""),
    )


def mazur_network():
    """Matt Mazur's worked example: a 2-2-2 sigmoid network, float64.

    Returns ``(model, x, targets)`` with w1..w8 = .15 .20 .25 .30 .40 .45 .50 .55,
    b1 = .35, b2 = .60, inputs 0.05, 0.10 and targets 0.01, 0.99. Train it with
    ``cost="half_sse"``, ``lr=0.5`` and ``update_biases=False``.
    """
    from .nn.layers import MLP

    model = MLP([2, 2, 2], activation="sigmoid", output="sigmoid", rng=0, dtype=np.float64)
    hidden, out = model.linears
    hidden.weight.data[...] = [[0.15, 0.20], [0.25, 0.30]]
    hidden.bias.data[...] = 0.35
    out.weight.data[...] = [[0.40, 0.45], [0.50, 0.55]]
    out.bias.data[...] = 0.60
    return model, np.array([[0.05, 0.10]]), np.array([[0.01, 0.99]])


def train_steps(
    model, x, targets, steps: int, cost="half_sse", lr: float = 0.5, update_biases: bool = True
) -> float:
    """Run ``steps`` plain gradient-descent steps (as ``trace`` does) and return the final cost."""
    cost_fn = COSTS[cost] if isinstance(cost, str) else cost
    params = [
        p for name, p in model.named_parameters() if update_biases or not name.endswith("bias")
    ]
    x = Tensor(np.atleast_2d(np.asarray(x, dtype=params[0].dtype)))
    for _ in range(steps):
        model.zero_grad()
        cost_fn(model(x), targets).backward()
        for p in params:
            p.data -= lr * p.grad
    with no_grad():
        return float(cost_fn(model(x), targets).item())


__all__ = ["trace", "StepTrace", "LayerTrace", "mazur_network", "train_steps"]
