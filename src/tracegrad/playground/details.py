"""The numbers behind a click: a unit's z, a and δ, a weight's gradient, a gradient check.

Every value is tracegrad's: ``tracing.trace`` records z^(l), a^(l) and
δ^(l) = ∂C/∂z^(l) for the selected sample (cost C = cross-entropy of that one
sample), f'(z) comes from backpropagating through the model's own activation,
and the gradient check is ``checking.check_model_gradients``. Layers are
numbered as in the notes: l = 0 is the input, L the output.
"""

from __future__ import annotations

import copy

import numpy as np

from .. import functional as F
from .. import losses
from ..checking import check_model_gradients
from ..nn import Linear
from ..tensor import Tensor
from ..tracing import trace
from .settings import SettingsError


def _activations(model) -> list:
    """The module after each Linear layer: f of layer l is ``_activations(model)[l - 1]``."""
    layers = model.layers
    return [layers[i + 1] for i, m in enumerate(layers) if isinstance(m, Linear)]


def _derivative(module, z: np.ndarray) -> np.ndarray:
    """f'(z) element by element, by backpropagating ones through tracegrad's activation."""
    zt = Tensor(np.array(z, dtype=np.float64), requires_grad=True)
    module(zt).sum().backward()
    return zt.grad


def backprop(session, part: str = "train", index: int = 0) -> dict:
    """Forward and backward pass of one sample, every layer, without changing the model."""
    with session.lock:
        session.check_usable()
        raw, x, y = session.sample(part, index)
        model = session.model
        step = trace(model, x, y, cost="cross_entropy", lr=session.settings.lr, apply=False)
        acts = _activations(model)
        layers = []
        for i, (rec, act) in enumerate(zip(step.layers, acts, strict=True)):
            # BP2's first factor, (W^(l+1))ᵀ δ^(l+1); the output layer has none.
            nxt = step.layers[i + 1] if i + 1 < len(step.layers) else None
            back = None if nxt is None else (nxt.delta[0] @ nxt.W).tolist()
            layers.append(
                {
                    "l": rec.l,
                    "z": rec.z[0].tolist(),
                    "a": rec.a[0].tolist(),
                    "delta": rec.delta[0].tolist(),
                    "fprime": _derivative(act, rec.z[0]).tolist(),
                    "back": back,
                    "dW": rec.dW.tolist(),
                    "db": rec.db.tolist(),
                    "W": rec.W.tolist(),
                }
            )
        z_out = step.layers[-1].z
        probs = F.softmax(Tensor(z_out)).data[0]
        target = np.zeros(len(probs))
        target[int(y[0])] = 1.0
        return {
            "type": "backprop",
            "part": part,
            "index": index,
            "raw": [float(v) for v in raw],
            "a0": x[0].tolist(),
            "label": int(y[0]),
            "cost": step.cost,
            "probs": probs.tolist(),
            "target": target.tolist(),
            "lr": session.settings.lr,
            "activation": session.settings.activation,
            "layers": layers,
        }


def unit(session, layer: int, j: int, part: str = "train", index: int = 0) -> dict:
    """z, a and δ of unit j of layer l for one sample, and the formula that made δ."""
    t = backprop(session, part, index)
    L = len(t["layers"])
    sizes = session.model.sizes
    if isinstance(layer, bool) or not isinstance(layer, int) or not 0 <= layer <= L:
        raise SettingsError(f"layer must be 0 (inputs) to {L} (outputs), got {layer!r}")
    if isinstance(j, bool) or not isinstance(j, int) or not 0 <= j < sizes[layer]:
        raise SettingsError(f"layer {layer} has units 0 to {sizes[layer] - 1}, got {j!r}")
    out = {"type": "unit", "layer": layer, "unit": j, "part": part, "index": index, "L": L}
    if layer == 0:
        out.update(rule="input", a=t["a0"][j], raw=t["raw"][j])
        return out
    rec = t["layers"][layer - 1]
    out.update(z=rec["z"][j], a=rec["a"][j], delta=rec["delta"][j], db=rec["db"][j])
    if layer == L:  # BP1 for softmax with cross-entropy: δ^L = softmax(z^L) − y
        out.update(rule="BP1", p=t["probs"][j], y=t["target"][j])
    else:  # BP2: δ^l = ((W^(l+1))ᵀ δ^(l+1)) ⊙ f'(z^l)
        nxt = t["layers"][layer]
        terms = [[row[j], d] for row, d in zip(nxt["W"], nxt["delta"], strict=True)]
        out.update(
            rule="BP2",
            back=rec["back"][j],
            terms=terms,
            fprime=rec["fprime"][j],
            activation=t["activation"],
        )
    return out


def weight(session, layer: int, j: int, k: int, part: str = "train", index: int = 0) -> dict:
    """w^l_jk, ∂C/∂w for the sample (BP4) and for the whole training set, and the update."""
    t = backprop(session, part, index)
    L = len(t["layers"])
    if isinstance(layer, bool) or not isinstance(layer, int) or not 1 <= layer <= L:
        raise SettingsError(f"weights belong to layers 1 to {L}, got {layer!r}")
    rec = t["layers"][layer - 1]
    rows, cols = len(rec["W"]), len(rec["W"][0])
    for name, v, n in (("j", j, rows), ("k", k, cols)):
        if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v < n:
            raise SettingsError(f"{name} must be 0 to {n - 1} in W^({layer}), got {v!r}")
    a_prev = t["a0"] if layer == 1 else t["layers"][layer - 2]["a"]
    with session.lock:
        lin = session.model.linears[layer - 1]
        session.model.zero_grad()
        session.cost(session.model(Tensor(session.X_train)), session.train.y).backward()
        full = float(lin.weight.grad[j, k])
        session.model.zero_grad()
        lr = session.settings.lr
        optimizer = session.settings.optimizer
    return {
        "type": "weight",
        "layer": layer,
        "j": j,
        "k": k,
        "part": part,
        "index": index,
        "w": rec["W"][j][k],
        "a_prev": a_prev[k],
        "delta": rec["delta"][j],
        "grad_sample": rec["dW"][j][k],
        "grad": full,
        "lr": lr,
        "update": -lr * full,
        "optimizer": optimizer,
    }


def gradcheck(session, max_samples: int = 100) -> dict:
    """Backprop against two-sided differences on a float64 copy of the network."""
    with session.lock:
        session.check_usable()
        model = copy.deepcopy(session.model)
        X = session.X_train[:max_samples].astype(np.float64)
        y = session.train.y[:max_samples]
        lam, m = session.settings.l2, len(session.X_train)

    def cost():
        c = losses.cross_entropy(model(Tensor(X)), y)
        return c + losses.l2_penalty(model, lam, m) if lam > 0 else c

    result = check_model_gradients(model, cost)
    return {
        "type": "gradcheck",
        "relative_difference": result.relative_difference,
        "tolerance": result.tolerance,
        "passed": result.passed,
        "samples": len(X),
        "parameters": [
            {
                "name": name,
                "relative_difference": d["relative_difference"],
                "checked": d["checked"],
                "backprop": d["analytic"][:3].tolist(),
                "numerical": d["numerical"][:3].tolist(),
            }
            for name, d in result.details.items()
        ],
    }
