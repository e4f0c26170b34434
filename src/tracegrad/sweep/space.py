"""The search space of a sweep, read from train's options written as lists or ranges.

``--l2 0,0.01,0.1`` is a grid axis of three values, ``--lr 1e-4:1e-1:log`` a
range sampled on a log scale, ``--epochs 5:20`` a range of whole numbers, and a
plain value is the same for every trial. ``--layers`` joins the sizes of one
network with '-', so ``16-16,32`` is two networks. Every value is checked here,
where it enters, by the same conversion ``tracegrad train`` applies to it.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass, field

from ..experiment import ConfigError


class SweepError(ConfigError):
    """A sweep option that makes no sense: one line, exit code 2."""


@dataclass(frozen=True)
class Axis:
    """One swept option: a list of ``values``, or a range ``low..high`` (``log`` scale).

    Parameters
    ----------
    name : str
        The ``train`` option's name, with underscores (``lr`` for ``--lr``).
    values : tuple, default ()
        The values of a grid axis (empty for a range).
    low, high : float or int, optional
        The ends of a range axis; ``low`` set makes it a range.
    log : bool, default False
        Sample the range on a log scale.
    integer : bool, default False
        The range holds whole numbers.
    """

    name: str
    values: tuple = ()
    low: float | None = None
    high: float | None = None
    log: bool = False
    integer: bool = False

    @property
    def option(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def is_range(self) -> bool:
        return self.low is not None

    def describe(self) -> dict:
        if self.is_range:
            return {"low": self.low, "high": self.high, "log": self.log, "int": self.integer}
        return {"values": list(self.values)}


@dataclass
class Space:
    """The fixed settings shared by every trial and the swept axes, in command-line order.

    Parameters
    ----------
    fixed : dict, optional
        Option name to value, the same in every trial.
    axes : list of Axis, optional
        The swept options.
    """

    fixed: dict = field(default_factory=dict)
    axes: list = field(default_factory=list)

    @property
    def is_grid(self) -> bool:
        return all(not a.is_range for a in self.axes)

    def grid(self) -> dict:
        return {a.name: list(a.values) for a in self.axes}

    def grid_size(self) -> int:
        return math.prod(len(a.values) for a in self.axes)


def parse_space(raw: dict, converters: dict) -> Space:
    """Split ``{name: text}`` into fixed settings and axes.

    Text with ``:`` is a range (``LOW:HIGH`` or ``LOW:HIGH:log``), text with ``,`` a
    grid (``16,32,64``), anything else one fixed value; ``data_dir`` is always fixed.

    Parameters
    ----------
    raw : dict
        Option name to its text from the command line; values that are not text
        (defaults) are fixed as they are.
    converters : dict
        ``converters[name]`` turns one text value into the option's value the way
        argparse does for ``train`` (missing or None: keep the text); it raises
        ``argparse.ArgumentTypeError`` or ``ValueError`` on a bad value. Only
        options with a numeric converter take a range.

    Returns
    -------
    Space

    Raises
    ------
    SweepError
        For a bad value, range or list, with the option's name and an example.
    """
    space = Space()
    for name, text in raw.items():
        convert = converters.get(name)
        if not isinstance(text, str):
            space.fixed[name] = text
        elif ":" in text and name != "data_dir":
            space.axes.append(_range(name, text, convert))
        elif "," in text and name != "data_dir":
            space.axes.append(_grid(name, text, convert))
        else:
            space.fixed[name] = _convert(name, text, convert)
    return space


def _option(name: str) -> str:
    return "--" + name.replace("_", "-")


def _convert(name, text, convert):
    text = text.strip()
    if name == "layers":
        _check_layers(text)
    if convert is None:
        return text
    try:
        return convert(text)
    except (argparse.ArgumentTypeError, ValueError) as exc:
        raise SweepError(f"{_option(name)} {text!r}: {exc}") from None


def _check_layers(text: str) -> None:
    from ..experiment import parse_layers

    try:  # sizes alone; whether they fit the data is checked when the data is loaded
        parse_layers(text, None, None)
    except ConfigError as exc:
        raise SweepError(str(exc)) from None


def _grid(name, text, convert) -> Axis:
    items = [t.strip() for t in text.split(",")]
    if any(t == "" for t in items):
        raise SweepError(
            f"{_option(name)} {text!r} has an empty item: separate the values with single "
            "commas, e.g. 16,32,64"
        )
    values = [_convert(name, t, convert) for t in items]
    if len(set(values)) != len(values):
        raise SweepError(f"{_option(name)} {text!r} lists a value twice: give each value once")
    return Axis(name, values=tuple(values))


def _range(name, text, convert) -> Axis:
    parts = [t.strip() for t in text.split(":")]
    log = len(parts) == 3 and parts[2].lower() == "log"
    example = f"{_option(name)} 1e-4:1e-1:log or {_option(name)} 0:1"
    if len(parts) not in (2, 3) or (len(parts) == 3 and not log) or "," in text:
        raise SweepError(
            f"{_option(name)} {text!r}: a range is LOW:HIGH or LOW:HIGH:log, e.g. {example}"
        )
    if convert is None or getattr(convert, "__name__", "") not in ("_finite", "_integer"):
        raise SweepError(
            f"{_option(name)} takes no range (its values are not numbers): list the values, "
            "e.g. a,b,c"
        )
    low, high = (_convert(name, p, convert) for p in parts[:2])
    if not low < high:
        raise SweepError(
            f"{_option(name)} {text!r}: the range's low end must be below its high end, "
            f"e.g. {_option(name)} {parts[1]}:{parts[0]}"
        )
    if log and low <= 0:
        raise SweepError(
            f"{_option(name)} {text!r}: a log range needs a positive low end (log of "
            f"{parts[0]} is undefined), e.g. {_option(name)} 1e-4:{parts[1]}:log"
        )
    integer = convert.__name__ == "_integer"
    return Axis(name, low=low, high=high, log=log, integer=integer)
