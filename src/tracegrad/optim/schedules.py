"""Learning-rate schedules: small objects mapping a step (or epoch) index ``k`` to a learning rate.

A schedule is pure: ``schedule(k)`` always gives the same number, so resuming at
step ``k`` needs only ``k`` and :meth:`Schedule.get_config`. ``schedule.apply(opt, k)``
writes the value into ``opt.lr``; a training callback decides when to call it.
"""

from __future__ import annotations

import inspect
import math
import numbers


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise ValueError(message)


def _is_real(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


def _is_count(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


class Schedule:
    """Base class. Subclasses store their constructor arguments and define ``_lr(k)``."""

    def __call__(self, k: int) -> float:
        """The learning rate at step ``k`` (``k = 0, 1, 2, ...``), as a Python float.

        Parameters
        ----------
        k : int
            The step (or epoch) index, >= 0.
        """
        _check(_is_count(k) and k >= 0, f"k={k!r} is invalid: pass a step index 0, 1, 2, ...")
        return float(self._lr(int(k)))

    def _lr(self, k: int) -> float:
        raise NotImplementedError

    def apply(self, optimizer, k: int) -> float:
        """Set ``optimizer.lr`` to the learning rate at step ``k`` and return it.

        Parameters
        ----------
        optimizer : Optimizer
            Its ``lr`` is set.
        k : int
            The step (or epoch) index, >= 0.
        """
        optimizer.lr = self(k)
        return optimizer.lr

    def get_config(self) -> dict:
        """The constructor arguments as a plain dict; ``from_config`` rebuilds the schedule."""
        names = inspect.signature(type(self).__init__).parameters
        return {name: getattr(self, name) for name in names if name != "self"}

    @classmethod
    def from_config(cls, config: dict) -> Schedule:
        """Rebuild a schedule from :meth:`get_config`.

        Parameters
        ----------
        config : dict
            The constructor's arguments by name.
        """
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


def _check_lr0(lr0) -> None:
    _check(_is_real(lr0) and lr0 >= 0, f"lr0={lr0!r} is invalid: the initial rate must be >= 0")


class InverseTimeDecay(Schedule):
    """``lr_k = lr0 / (1 + decay * k)``, halved by ``k = 1/decay``: Keras's classic ``decay``.

    The course notes' recurrence ``lr_{k+1} = lr_k / (1 + decay)`` shrinks the rate by
    the same factor every step instead: that is ``ExponentialDecay(lr0, 1 / (1 + decay))``.

    Parameters
    ----------
    lr0 : float
        Learning rate at ``k = 0``.
    decay : float
        Decay rate, >= 0 (0 keeps the rate constant).
    """

    def __init__(self, lr0: float, decay: float):
        _check_lr0(lr0)
        _check(_is_real(decay) and decay >= 0, f"decay={decay!r} is invalid: it must be >= 0")
        self.lr0 = lr0
        self.decay = decay

    def _lr(self, k):
        return self.lr0 / (1 + self.decay * k)


class StepDecay(Schedule):
    """``lr_k = lr0 * gamma ** floor(k / step_size)``: times ``gamma`` every ``step_size`` steps.

    Parameters
    ----------
    lr0 : float
        Learning rate at ``k = 0``.
    step_size : int
        Number of steps between drops, >= 1.
    gamma : float, default 0.1
        Factor of each drop, in (0, 1].
    """

    def __init__(self, lr0: float, step_size: int, gamma: float = 0.1):
        _check_lr0(lr0)
        _check(
            _is_count(step_size) and step_size >= 1,
            f"step_size={step_size!r} is invalid: pass a whole number of steps >= 1",
        )
        _check(
            _is_real(gamma) and 0 < gamma <= 1, f"gamma={gamma!r} is invalid: it must be in (0, 1]"
        )
        self.lr0 = lr0
        self.step_size = step_size
        self.gamma = gamma

    def _lr(self, k):
        return self.lr0 * self.gamma ** (k // self.step_size)


class ExponentialDecay(Schedule):
    """``lr_k = lr0 * gamma ** k``; with ``gamma = 1 / (1 + decay)`` the course notes' decay.

    Parameters
    ----------
    lr0 : float
        Learning rate at ``k = 0``.
    gamma : float
        Factor per step, in (0, 1].
    """

    def __init__(self, lr0: float, gamma: float):
        _check_lr0(lr0)
        _check(
            _is_real(gamma) and 0 < gamma <= 1, f"gamma={gamma!r} is invalid: it must be in (0, 1]"
        )
        self.lr0 = lr0
        self.gamma = gamma

    def _lr(self, k):
        return self.lr0 * self.gamma**k


class CosineDecay(Schedule):
    """Half a cosine from ``lr0`` down to ``lr_min`` over ``total_steps``, then ``lr_min``::

        lr_k = lr_min + (lr0 - lr_min) * (1 + cos(pi * min(k, total_steps) / total_steps)) / 2

    Unlike ``torch.optim.lr_scheduler.CosineAnnealingLR`` it does not climb back up
    after ``total_steps``.

    Parameters
    ----------
    lr0 : float
        Learning rate at ``k = 0``.
    total_steps : int
        Step at which ``lr_min`` is reached, >= 1.
    lr_min : float, default 0.0
        Final learning rate, in [0, lr0].
    """

    def __init__(self, lr0: float, total_steps: int, lr_min: float = 0.0):
        _check_lr0(lr0)
        _check(
            _is_count(total_steps) and total_steps >= 1,
            f"total_steps={total_steps!r} is invalid: pass a whole number of steps >= 1",
        )
        _check(
            _is_real(lr_min) and 0 <= lr_min <= lr0,
            f"lr_min={lr_min!r} is invalid: it must lie between 0 and lr0={lr0!r}",
        )
        self.lr0 = lr0
        self.total_steps = total_steps
        self.lr_min = lr_min

    def _lr(self, k):
        progress = min(k, self.total_steps) / self.total_steps
        return self.lr_min + (self.lr0 - self.lr_min) * (1 + math.cos(math.pi * progress)) / 2
