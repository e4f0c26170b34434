"""What a playground run is made of, checked where it enters: one line per mistake.

The names offered (data sets, activations, optimizers) come from tracegrad's own
registries, and the options the command line shares with ``tracegrad train`` are
checked by ``experiment.Config.validate``, so the page and the CLI refuse a bad
value with the same message. Only the playground's own bounds (it draws every
unit, so networks stay small) are checked here.
"""

from __future__ import annotations

import inspect
from dataclasses import asdict, dataclass, field

from .. import datasets
from ..experiment import OPTIMIZERS, Config
from ..nn.layers import ACTIVATIONS, Softmax

MAX_HIDDEN_LAYERS = 6
MAX_UNITS = 8
MAX_SAMPLES = 2000
MAX_NOISE = 3.0
MAX_BATCH = 1024
UPLOAD = "upload"  # the data set name of the session's uploaded CSV


class SettingsError(ValueError):
    """A bad setting: the page shows this one line and keeps the run it had."""


def generated_sets() -> dict:
    """Data set name -> (default n_samples, default noise), for the 2-D generators.

    Taken from ``datasets.available()``: a generated set is one whose function takes
    a ``noise`` argument, and its defaults are read from the function itself; the
    regression sets (``sine``) are left out, since the page draws class boundaries.
    """
    from ..datasets.targets import REGRESSION_SETS  # the playground classifies

    sets = {}
    for name in datasets.available():
        if name in REGRESSION_SETS:
            continue
        fn = getattr(datasets, name.replace("-", "_"), None)
        params = inspect.signature(fn).parameters if callable(fn) else {}
        if "noise" in params and "n_samples" in params:
            sets[name] = (params["n_samples"].default, params["noise"].default)
    return sets


def hidden_activations() -> list:
    """Each hidden activation once (aliases such as linear/none dropped; no softmax)."""
    seen, names = set(), []
    for name, cls in ACTIVATIONS.items():
        if cls in seen or issubclass(cls, Softmax):
            continue
        seen.add(cls)
        names.append(name)
    return names


def minibatch_optimizers() -> list:
    # L-BFGS minimizes the whole-batch loss in one call: it has no epochs to watch.
    return [name for name in OPTIMIZERS if name != "lbfgs"]


@dataclass
class Settings:
    dataset: str = "spirals"
    noise: float | None = None  # None: the generator's default
    n_samples: int | None = None
    train_ratio: float = 0.5  # TensorFlow Playground's default split
    seed: int = 0
    hidden: list = field(default_factory=lambda: [8, 8])
    activation: str = "tanh"
    optimizer: str = "sgd"
    lr: float = 0.03
    batch_size: int = 10
    l2: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)

    def data_options(self) -> dict:
        """Keyword arguments for ``datasets.load`` besides the name, seed and split."""
        if self.dataset == UPLOAD:
            return {}
        default_n, default_noise = generated_sets()[self.dataset]
        return {
            "n_samples": default_n if self.n_samples is None else self.n_samples,
            "noise": default_noise if self.noise is None else self.noise,
        }


def _number(raw, name, kind):
    if isinstance(raw, bool) or not isinstance(raw, (int, float)):
        raise SettingsError(f"{name} must be a number, got {raw!r}")
    if kind is int:
        if float(raw) != int(raw):
            raise SettingsError(f"{name} must be a whole number, got {raw!r}")
        return int(raw)
    value = float(raw)
    if value != value or value in (float("inf"), float("-inf")):
        raise SettingsError(f"{name} must be a finite number, got {raw!r}")
    return value


def _within(value, low, high, name):
    if not low <= value <= high:
        raise SettingsError(f"{name} must be between {low} and {high}, got {value}")


def parse(raw: dict, base: Settings, has_upload: bool = False) -> Settings:
    """``base`` updated with the fields of ``raw`` (JSON from the page), all checked."""
    if not isinstance(raw, dict):
        raise SettingsError("settings must be a JSON object")
    fields = Settings.__dataclass_fields__
    unknown = sorted(set(raw) - set(fields))
    if unknown:
        raise SettingsError(f"unknown setting {unknown[0]!r}; known: {', '.join(fields)}")
    s = Settings(**{**base.to_dict(), **raw})
    sets = generated_sets()
    if s.dataset not in sets and not (s.dataset == UPLOAD and has_upload):
        extra = ", or upload a CSV file" if not has_upload else f", {UPLOAD}"
        raise SettingsError(
            f"unknown data set {s.dataset!r}; choose one of {', '.join(sets)}{extra}"
        )
    if s.noise is not None:
        s.noise = _number(s.noise, "noise", float)
        _within(s.noise, 0, MAX_NOISE, "noise")
    if s.n_samples is not None:
        s.n_samples = _number(s.n_samples, "n_samples", int)
        _within(s.n_samples, 20, MAX_SAMPLES, "n_samples")
    s.train_ratio = _number(s.train_ratio, "train_ratio", float)
    _within(s.train_ratio, 0.1, 0.9, "train_ratio")
    s.seed = _number(s.seed, "seed", int)
    _within(s.seed, 0, 2**31 - 1, "seed")
    if not isinstance(s.hidden, list):
        raise SettingsError("hidden must be a list of layer widths, e.g. [8, 8]")
    if len(s.hidden) > MAX_HIDDEN_LAYERS:
        raise SettingsError(f"at most {MAX_HIDDEN_LAYERS} hidden layers, got {len(s.hidden)}")
    s.hidden = [_number(n, "a hidden layer width", int) for n in s.hidden]
    for n in s.hidden:
        _within(n, 1, MAX_UNITS, "a hidden layer width")
    s.lr = _number(s.lr, "lr", float)
    s.batch_size = _number(s.batch_size, "batch_size", int)
    s.l2 = _number(s.l2, "l2", float)
    for name in ("activation", "optimizer"):
        if not isinstance(getattr(s, name), str):
            raise SettingsError(f"{name} must be a name, got {getattr(s, name)!r}")
    if s.optimizer == "lbfgs":
        raise SettingsError(
            "lbfgs minimizes the whole-batch loss in one call and has no epochs to watch; "
            f"choose one of {', '.join(minibatch_optimizers())}"
        )
    if s.activation not in hidden_activations() and s.activation in ACTIVATIONS:
        raise SettingsError(
            f"{s.activation} is an output activation; choose one of "
            f"{', '.join(hidden_activations())}"
        )
    config = Config(
        activation=s.activation, optimizer=s.optimizer, lr=s.lr, batch_size=s.batch_size, l2=s.l2
    )
    try:  # the checks and messages of `tracegrad train`
        config.validate()
    except ValueError as exc:
        raise SettingsError(str(exc)) from None
    _within(s.batch_size, 1, MAX_BATCH, "--batch-size")
    return s


def choices() -> dict:
    """What the page offers in its menus, and its bounds."""
    return {
        "datasets": {
            name: {"n_samples": n, "noise": z} for name, (n, z) in generated_sets().items()
        },
        "activations": hidden_activations(),
        "optimizers": minibatch_optimizers(),
        "max_hidden_layers": MAX_HIDDEN_LAYERS,
        "max_units": MAX_UNITS,
        "max_samples": MAX_SAMPLES,
        "max_noise": MAX_NOISE,
        "defaults": Settings().to_dict(),
    }
