"""The base class every optimizer shares.

An optimizer sees a plain list of parameters. Each parameter has ``.data``
(a floating NumPy array, updated in place so views and buffers stay valid) and
``.grad`` (an array of the same shape, or ``None`` for "no gradient: skip me").
Subclasses write only two things: the state a parameter starts with
(``_init_state``) and the update rule (``_update``), which should read like its
equation.
"""

from __future__ import annotations

import numbers

import numpy as np

# Hyperparameter name -> (is the value valid?, what a valid value looks like).
_RULES = {
    "lr": (lambda v: v >= 0, "the learning rate must be >= 0; 1e-3 is a common start"),
    "momentum": (lambda v: 0 <= v < 1, "momentum must lie in [0, 1); 0.9 is typical, 0 is off"),
    "dampening": (lambda v: 0 <= v <= 1, "dampening must lie in [0, 1]; 0 is usual"),
    "alpha": (lambda v: 0 <= v < 1, "the smoothing constant must lie in [0, 1); try 0.99"),
    "weight_decay": (lambda v: v >= 0, "weight decay must be >= 0; 0 turns it off"),
    "lr_decay": (lambda v: v >= 0, "lr_decay must be >= 0; 0 turns it off"),
    "initial_accumulator_value": (lambda v: v >= 0, "the accumulator starts at a value >= 0"),
    "eps": (lambda v: v > 0, "eps keeps a division finite and must be > 0; try 1e-8"),
}


def check_hyperparameters(hyper: dict) -> None:
    """Raise ``ValueError`` naming the first invalid hyperparameter in ``hyper``."""
    for name, value in hyper.items():
        if name in _RULES:
            is_valid, advice = _RULES[name]
            try:
                ok = bool(is_valid(value))
            except TypeError:  # a string or None: report it like any other bad value
                ok = False
            if not ok:
                raise ValueError(f"{name}={value!r} is invalid: {advice}")
    if "betas" in hyper:
        betas = hyper["betas"]
        try:
            ok = len(betas) == 2 and all(0 <= b < 1 for b in betas)
        except TypeError:
            ok = False
        if not ok:
            raise ValueError(
                f"betas={betas!r} is invalid: pass two decay rates in [0, 1), such as (0.9, 0.999)"
            )
    if hyper.get("nesterov"):
        if not hyper.get("momentum", 0) > 0 or hyper.get("dampening", 0) != 0:
            raise ValueError(
                f"nesterov=True needs momentum > 0 and dampening == 0, got "
                f"momentum={hyper.get('momentum')!r}, dampening={hyper.get('dampening')!r}: "
                "pass momentum=0.9 or set nesterov=False"
            )


def _plain(value):
    """NumPy scalars become Python numbers: NumPy 2 keeps float32 arrays float32 when
    combined with a Python float, but a ``np.float64`` scalar would upcast them."""
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, tuple | list):
        return tuple(_plain(v) for v in value)
    return value


def _as_parameter_list(params) -> list:
    if hasattr(params, "data"):
        raise TypeError(
            "expected an iterable of parameters, got a single one: "
            "wrap it in a list, or pass model.parameters()"
        )
    params = list(params)
    if not params:
        raise ValueError(
            "the optimizer got an empty parameter list: pass model.parameters() "
            "of a model that has trainable parameters"
        )
    for i, p in enumerate(params):
        data = getattr(p, "data", None)
        if not isinstance(data, np.ndarray) or data.dtype.kind != "f":
            got = (
                f"array of dtype {data.dtype}"
                if isinstance(data, np.ndarray)
                else type(data).__name__
            )
            raise TypeError(f"parameter {i} must have a floating NumPy array as .data, got {got}")
    if len({id(p) for p in params}) != len(params):
        raise ValueError(
            "a parameter appears twice in the list: it would be updated twice per step"
        )
    return params


class Optimizer:
    """Base class: holds the parameters, their per-parameter state and the hyperparameters.

    Parameters
    ----------
    params : iterable
        Objects with ``.data`` (floating ndarray) and ``.grad`` (ndarray or None).
    defaults : dict
        Hyperparameters by name. Each becomes an attribute (``opt.lr``), which may be
        reassigned between steps, for instance by a learning-rate schedule.
    """

    def __init__(self, params, defaults: dict):
        self.params = _as_parameter_list(params)
        check_hyperparameters(defaults)
        self._hyper_names = tuple(defaults)
        for name, value in defaults.items():
            setattr(self, name, _plain(value))
        self.state: dict[int, dict] = {}  # parameter index -> {"step": int, buffers...}

    @property
    def lr(self) -> float:
        return self._lr

    @lr.setter
    def lr(self, value) -> None:
        # Checked here because schedules and users assign it long after construction;
        # stored as a Python float so float32 parameters are never upcast.
        check_hyperparameters({"lr": value})
        self._lr = float(value)

    def hyperparameters(self) -> dict:
        """The current hyperparameters, by name."""
        return {name: getattr(self, name) for name in self._hyper_names}

    def zero_grad(self) -> None:
        """Forget every gradient (``p.grad = None``) before the next backward pass."""
        for p in self.params:
            p.grad = None

    def step(self) -> None:
        """Update every parameter that has a gradient, in place."""
        for i, p in enumerate(self.params):
            if p.grad is None:
                continue
            w, g = p.data, np.asarray(p.grad, dtype=p.data.dtype)
            if g.shape != w.shape:
                raise ValueError(f"parameter {i} has shape {w.shape} but its grad has {g.shape}")
            if i not in self.state:
                self.state[i] = {"step": 0, **self._init_state(w)}
            state = self.state[i]
            state["step"] += 1
            self._update(w, g, state)

    def _init_state(self, w: np.ndarray) -> dict:
        """Buffers a parameter starts with (besides ``step``); none by default."""
        return {}

    def _update(self, w: np.ndarray, g: np.ndarray, state: dict) -> None:
        """Update ``w`` in place from gradient ``g`` (never modify ``g``: it may be ``p.grad``)."""
        raise NotImplementedError

    def state_dict(self) -> dict:
        """A snapshot of hyperparameters and state: plain numbers and copied arrays."""
        return {
            "optimizer": type(self).__name__,
            "hyperparameters": self.hyperparameters(),
            "state": {
                i: {k: v.copy() if isinstance(v, np.ndarray) else v for k, v in s.items()}
                for i, s in self.state.items()
            },
        }

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore a snapshot from :meth:`state_dict` so that training continues identically.

        Parameters
        ----------
        state_dict : dict
            ``optimizer`` (the class name), ``hyperparameters`` and per-parameter
            ``state``, as :meth:`state_dict` gives them.

        Raises
        ------
        ValueError
            If it was saved by another optimizer class, for other hyperparameter
            names, or for parameters of other number or shapes; nothing changes then.
        """
        missing = {"optimizer", "hyperparameters", "state"} - set(state_dict)
        if missing:
            raise ValueError(f"not an optimizer state_dict: missing keys {sorted(missing)}")
        if state_dict["optimizer"] != type(self).__name__:
            raise ValueError(
                f"this state_dict was saved by {state_dict['optimizer']}, "
                f"it cannot be loaded into {type(self).__name__}"
            )
        hyper = dict(state_dict["hyperparameters"])
        if set(hyper) != set(self._hyper_names):
            raise ValueError(
                f"hyperparameters {sorted(hyper)} do not match {sorted(self._hyper_names)}"
            )
        check_hyperparameters(hyper)
        previous = self.hyperparameters()
        # The expected buffers depend on the hyperparameters (momentum, amsgrad, ...),
        # so set them first and roll back if the state does not fit.
        for name, value in hyper.items():
            setattr(self, name, _plain(value))
        try:
            self.state = {int(i): self._restored(int(i), s) for i, s in state_dict["state"].items()}
        except Exception:
            for name, value in previous.items():
                setattr(self, name, value)
            raise

    def _restored(self, i: int, saved: dict) -> dict:
        if not 0 <= i < len(self.params):
            raise ValueError(f"state for parameter {i}, but this optimizer has {len(self.params)}")
        w = self.params[i].data
        expected = {"step", *self._init_state(w)}
        if set(saved) != expected:
            raise ValueError(
                f"parameter {i}: saved state has keys {sorted(saved)}, expected {sorted(expected)}"
            )
        state = {"step": int(saved["step"])}
        for key in sorted(expected - {"step"}):
            value = np.asarray(saved[key])
            if value.shape != w.shape:
                raise ValueError(
                    f"parameter {i}: saved {key!r} has shape {value.shape}, parameter has {w.shape}"
                )
            state[key] = value.astype(w.dtype)  # a copy, in the parameter's dtype
        return state

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.hyperparameters().items())
        return f"{type(self).__name__}({args})"
