"""Gradient checking by two-sided differences, as in the course notes.

This is a debugging tool, not a training method: it evaluates the function
twice per input element, so it is thousands of times slower than backprop.
Check once on a small network, then switch it off.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .tensor import Tensor, _raw, no_grad


@dataclass
class GradcheckResult:
    """Outcome of a gradient check.

    True (``bool(result)``) when it passed.

    Parameters
    ----------
    relative_difference : float
        ‖num − ana‖ / ‖num + ana‖ over everything checked (numerical against
        analytical gradients).
    tolerance : float
        The check passed (``passed``) when ``relative_difference < tolerance``.
    details : dict, optional
        Each input (or parameter) name mapped to its own relative difference, the
        number of entries checked and the two gradients.
    """

    relative_difference: float
    tolerance: float
    details: dict = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.relative_difference < self.tolerance

    def __bool__(self) -> bool:
        return self.passed

    def summary(self) -> str:
        lines = [
            f"relative difference {self.relative_difference:.3e} "
            f"({'ok' if self.passed else 'FAILED'}, tolerance {self.tolerance:g})"
        ]
        for name, d in self.details.items():
            lines.append(f"  {name:<24} {d['relative_difference']:.3e}  ({d['checked']} entries)")
        return "\n".join(lines)


def relative_difference(numerical, analytic) -> float:
    """‖num − ana‖ / ‖num + ana‖ (0 when both are zero)."""
    numerical, analytic = np.ravel(numerical), np.ravel(analytic)
    denom = np.linalg.norm(numerical + analytic)
    num = np.linalg.norm(numerical - analytic)
    if denom == 0:
        return 0.0 if num == 0 else float("inf")
    return float(num / denom)


def _scalar(out: Tensor, weights: np.ndarray | None) -> float:
    data = out.data.astype(np.float64)
    return float(data.sum() if weights is None else (data * weights).sum())


def _check(evaluate, leaves, names, eps, tol, max_per_input, rng) -> GradcheckResult:
    """Compare ``leaf.grad`` (already computed) with two-sided differences of ``evaluate``."""
    if max_per_input is not None and (isinstance(max_per_input, bool) or max_per_input < 1):
        # Zero entries would compare nothing and still report a pass.
        raise ValueError(f"the number of entries to check must be at least 1, got {max_per_input}")
    if not any(leaf.data.size for leaf in leaves):
        raise ValueError("nothing to check: every input (or parameter) is empty")
    all_num, all_ana, details = [], [], {}
    for name, leaf in zip(names, leaves, strict=True):
        data = leaf.data  # perturbed in place, element j in row-major order, whatever the
        size = data.size  # memory layout (reshape(-1) of a column-major weight is a copy)
        idx = np.arange(size)
        if max_per_input is not None and size > max_per_input:
            idx = np.sort(rng.choice(size, max_per_input, replace=False))
        ana = np.zeros(size) if leaf.grad is None else leaf.grad.reshape(-1).astype(np.float64)
        num = np.empty(len(idx))
        for k, j in enumerate(idx):
            at = np.unravel_index(j, data.shape)
            saved = data[at]
            data[at] = saved + eps
            plus = evaluate()
            data[at] = saved - eps
            minus = evaluate()
            data[at] = saved
            num[k] = (plus - minus) / (2 * eps)
        details[name] = {
            "relative_difference": relative_difference(num, ana[idx]),
            "numerical": num,
            "analytic": ana[idx],
            "checked": len(idx),
        }
        all_num.append(num)
        all_ana.append(ana[idx])
    total = relative_difference(np.concatenate(all_num), np.concatenate(all_ana))
    return GradcheckResult(total, tol, details)


def gradcheck(fn, inputs, eps: float = 1e-4, tol: float = 1e-7, max_per_input=None, seed: int = 0):
    """Check the gradients of ``fn(*inputs)`` against two-sided differences in float64.

    Parameters
    ----------
    fn : callable
        Takes the inputs as Tensors and returns a Tensor. A non-scalar output
        is reduced with fixed random weights (a random direction), which
        checks the full vector-Jacobian product.
    inputs : sequence of array_like or Tensor
        Points at which to check; copied to float64, never modified.
    eps : float, default 1e-4
        Step of the differences (f(x+eps) − f(x−eps)) / 2eps.
    tol : float, default 1e-7
        ``result.passed`` is relative_difference < tol.
    max_per_input : int, optional
        Check only this many randomly chosen entries of each input (at least 1,
        ValueError otherwise); by default all of them.
    seed : int, default 0
        Seed of the random direction and of the entries chosen.

    Returns
    -------
    GradcheckResult
    """
    leaves = [Tensor(np.array(_raw(x), dtype=np.float64), requires_grad=True) for x in inputs]
    out = fn(*leaves)
    rng = np.random.default_rng(seed)
    weights = None if out.size == 1 else rng.standard_normal(out.shape)
    (out * weights if weights is not None else out).sum().backward()

    def evaluate():
        with no_grad():
            return _scalar(fn(*leaves), weights)

    names = [f"input {i}" for i in range(len(leaves))]
    return _check(evaluate, leaves, names, eps, tol, max_per_input, rng)


def check_model_gradients(
    model, loss_fn, eps: float = 1e-4, tol: float = 1e-7, max_per_parameter=None, seed: int = 0
) -> GradcheckResult:
    """Check every parameter of ``model`` against a scalar loss ``loss_fn()``.

    The parameters are switched to float64 for the check and restored (values,
    dtypes and gradients) afterwards. Dropout must be off (``model.eval()``), or the
    loss changes from one evaluation to the next.

    Parameters
    ----------
    model : Module
        The network; every parameter of ``model.named_parameters()`` is checked.
    loss_fn : callable
        Takes no arguments and returns the scalar loss as a Tensor, computed with
        ``model`` (a closure over the data).
    eps : float, default 1e-4
        Step of the two-sided differences.
    tol : float, default 1e-7
        ``result.passed`` is relative_difference < tol.
    max_per_parameter : int, optional
        Check only this many randomly chosen entries of each parameter; by default all.
    seed : int, default 0
        Seed of the entries chosen.

    Returns
    -------
    GradcheckResult
        Its ``details`` are keyed by the parameters' dotted names.
    """
    named = list(model.named_parameters())
    saved = [(p, p.data, p.grad) for _, p in named]
    try:
        for p, data, _ in saved:
            p.data = data.astype(np.float64)
            p.grad = None
        loss_fn().backward()

        def evaluate():
            with no_grad():
                return float(loss_fn().item())

        leaves = [p for _, p in named]
        rng = np.random.default_rng(seed)
        return _check(evaluate, leaves, [n for n, _ in named], eps, tol, max_per_parameter, rng)
    finally:
        for p, data, grad in saved:
            p.data, p.grad = data, grad


def numerical_jacobian(fn, inputs, eps: float = 1e-6) -> list:
    """Full Jacobians d out / d input_i by two-sided differences, shape (out.size, input.size)."""
    # Row-major copies, so that reshape(-1) below is a view that perturbs the input.
    arrays = [np.array(_raw(x), dtype=np.float64, order="C") for x in inputs]
    jacobians = []
    for a in arrays:
        flat = a.reshape(-1)
        columns = []
        for j in range(flat.size):
            saved = flat[j]
            flat[j] = saved + eps
            with no_grad():
                plus = fn(*[Tensor(x) for x in arrays]).data.astype(np.float64).ravel()
            flat[j] = saved - eps
            with no_grad():
                minus = fn(*[Tensor(x) for x in arrays]).data.astype(np.float64).ravel()
            flat[j] = saved
            columns.append((plus - minus) / (2 * eps))
        jacobians.append(np.stack(columns, axis=1) if columns else np.zeros((0, 0)))
    return jacobians


def analytic_jacobian(fn, inputs) -> list:
    """Full Jacobians from backprop, one backward pass per output element."""
    leaves = [Tensor(np.array(_raw(x), dtype=np.float64), requires_grad=True) for x in inputs]
    out = fn(*leaves)
    rows = [[] for _ in leaves]
    for k in range(out.size):
        for leaf in leaves:
            leaf.grad = None
        seed = np.zeros(out.shape)
        seed.reshape(-1)[k] = 1.0
        out.backward(seed)
        for i, leaf in enumerate(leaves):
            g = np.zeros(leaf.size) if leaf.grad is None else leaf.grad.ravel()
            rows[i].append(g.copy())
    return [np.stack(r) for r in rows]
