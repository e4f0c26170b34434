"""A whole training run from a plain configuration: data, model, optimizer, fit, files.

This is what ``tracegrad train`` calls; Python users can call ``run`` too.
Each step is a small function so the CLI, tests and benchmarks share them.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from . import datasets, losses, nn, optim
from .atomic import atomic_write
from .compile import label_loss, with_l2_penalty

OPTIMIZERS = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw", "lbfgs")
LOSSES = ("cross_entropy", "mse", "quadratic")
DEFAULT_LR = {
    "sgd": 0.1,
    "momentum": 0.05,
    "nesterov": 0.05,
    "adagrad": 0.05,
    "rmsprop": 1e-3,
    "adam": 1e-3,
    "adamw": 1e-3,
    "lbfgs": 1.0,
}


class ConfigError(ValueError):
    """A bad option value: the CLI reports it as a usage error (exit code 2)."""


@dataclass
class Config:
    """Everything that defines a run; the defaults train a small MLP on digits in seconds."""

    dataset: str = "digits"
    data_dir: str | None = None
    download: bool = False
    layers: str | None = None
    activation: str = "relu"
    output: str = "identity"
    loss: str = "cross_entropy"
    optimizer: str = "momentum"
    lr: float | None = None
    momentum: float = 0.9
    lr_decay: float = 0.0
    batch_size: int = 32
    epochs: int = 20
    l2: float = 0.0
    dropout: float = 0.0
    init: str = "auto"
    seed: int = 0
    val_split: float = 0.1
    early_stopping: int | None = None
    scale: str | None = None
    out: str | None = None
    resume: str | None = None
    quiet: bool = False

    def validate(self) -> None:
        """Raise ``ValueError`` naming the first bad option and how to fix it."""
        checks = [
            (self.epochs >= 1, f"--epochs must be at least 1, got {self.epochs}"),
            (self.batch_size >= 1, f"--batch-size must be at least 1, got {self.batch_size}"),
            (self.lr is None or self.lr > 0, f"--lr must be positive, got {self.lr}"),
            (0 <= self.momentum < 1, f"--momentum must be in [0, 1), got {self.momentum}"),
            (self.lr_decay >= 0, f"--lr-decay must be >= 0, got {self.lr_decay}"),
            (self.l2 >= 0, f"--l2 must be >= 0, got {self.l2}"),
            (0 <= self.dropout < 1, f"--dropout must be in [0, 1), got {self.dropout}"),
            (0 <= self.val_split < 1, f"--val-split must be in [0, 1), got {self.val_split}"),
            (
                self.optimizer in OPTIMIZERS,
                f"unknown --optimizer {self.optimizer!r}; choose one of {', '.join(OPTIMIZERS)}",
            ),
            (
                self.loss in LOSSES,
                f"unknown --loss {self.loss!r}; choose one of {', '.join(LOSSES)}",
            ),
            (
                self.early_stopping is None or self.early_stopping >= 1,
                f"--early-stopping is a patience in epochs (>= 1), got {self.early_stopping}",
            ),
        ]
        for ok, message in checks:
            if not ok:
                raise ConfigError(message)
        try:
            nn.activation(self.activation)
            nn.activation(self.output)
            if self.init != "auto":
                nn.init.get(self.init)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None


def parse_layers(spec: str | None, n_features: int, n_classes: int, default=(64,)) -> list[int]:
    """Turn ``"784-256-128-10"`` (full) or ``"256-128"`` (hidden only) into layer sizes.

    A spec is taken as complete when it starts with the number of features and
    ends with the number of classes; otherwise its numbers are the hidden layers.
    """
    if spec is None or str(spec).strip() == "":
        hidden = list(default)
    else:
        parts = str(spec).replace(",", "-").split("-")
        try:
            sizes = [int(p) for p in parts]
        except ValueError:
            raise ConfigError(
                f"malformed --layers {spec!r}: use sizes joined by '-', e.g. "
                f"{n_features}-128-{n_classes} or just the hidden sizes, e.g. 128-64"
            ) from None
        if min(sizes) < 1:
            raise ConfigError(f"malformed --layers {spec!r}: every size must be a positive integer")
        if len(sizes) >= 2 and sizes[0] == n_features and sizes[-1] == n_classes:
            return sizes
        hidden = sizes
    return [n_features, *hidden, n_classes]


def make_loss(name: str, n_classes: int):
    """A ``loss(output, labels)`` for integer labels; mse/quadratic compare with one-hot rows
    (``compile.label_loss``: the eager sum when called, and readable by the compiled step)."""
    if name == "cross_entropy":
        return losses.cross_entropy
    if name in ("mse", "quadratic"):  # quadratic is Nielsen's C = 1/(2n) Σ ‖y − a‖²
        return label_loss(name, n_classes)
    raise ValueError(f"unknown loss {name!r}; choose one of {', '.join(LOSSES)}")


def make_optimizer(name: str, params, lr: float, momentum: float = 0.9):
    if name == "sgd":
        return optim.SGD(params, lr=lr)
    if name in ("momentum", "nesterov"):
        return optim.SGD(params, lr=lr, momentum=momentum, nesterov=name == "nesterov")
    if name == "adagrad":
        return optim.Adagrad(params, lr=lr)
    if name == "rmsprop":
        return optim.RMSProp(params, lr=lr)
    if name == "adam":
        return optim.Adam(params, lr=lr)
    if name == "adamw":
        return optim.AdamW(params, lr=lr)
    raise ValueError(f"unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZERS)}")


def load_data(config: Config):
    """(train, val or None, test) Datasets and a Scaler fitted on the training part only."""
    train, test = datasets.load(
        config.dataset, data_dir=config.data_dir, download=config.download, seed=config.seed
    )
    val = None
    if config.val_split > 0:
        train, val = datasets.train_test_split(train, config.val_split, seed=config.seed)
    # 8-bit images keep their pixels comparable (x / 255, as the books do); other
    # features, the 8x8 digits' 0..16 counts included, are standardized per feature.
    kind = config.scale or ("max" if train.X.max() > 16 and train.image_shape else "standard")
    scaler = datasets.Scaler(kind).fit(train.X)
    return train, val, test, scaler


@dataclass
class RunResult:
    model: object
    history: dict
    metrics: dict
    out_dir: Path | None
    files: dict


def default_out_dir() -> Path:
    return Path("runs") / time.strftime("%Y%m%d-%H%M%S")


def run(config: Config, callbacks=(), progress=True) -> RunResult:
    """Train, evaluate on the test set, and write the model, history and plots to ``config.out``."""
    from . import io, training

    config.validate()
    train, val, test, scaler = load_data(config)
    sizes = parse_layers(
        config.layers,
        train.n_features,
        train.n_classes,
        default=(128,) if train.n_features > 2 else (32, 32),
    )
    rng = np.random.default_rng(config.seed)
    model = nn.MLP(
        sizes,
        activation=config.activation,
        output=config.output,
        init=config.init,
        rng=rng,
        dropout=config.dropout,
    )
    base_loss = make_loss(config.loss, train.n_classes)
    m = train.n_samples
    loss = base_loss
    if config.l2 > 0:  # the notes' λ/(2m)·Σ‖W‖², m = the number of training examples
        # base_loss + losses.l2_penalty(model, l2, m), in a form the compiled step reads
        loss = with_l2_penalty(base_loss, model, config.l2, m)

    X_train = scaler.transform(train.X)
    X_val = scaler.transform(val.X) if val is not None else None
    X_test = scaler.transform(test.X)
    lr = config.lr if config.lr is not None else DEFAULT_LR[config.optimizer]
    out_dir = Path(config.out) if config.out else default_out_dir()
    out_dir.mkdir(parents=True, exist_ok=True)
    files = {}
    started = time.perf_counter()
    if config.optimizer == "lbfgs":
        result = optim.minimize(
            model, lambda: loss(model(X_train), train.y), method="L-BFGS-B", maxiter=config.epochs
        )
        history = {"loss": [float(result.fun)]}
    else:
        optimizer = make_optimizer(config.optimizer, model.parameters(), lr, config.momentum)
        cbs = list(callbacks)
        if progress and not config.quiet:
            cbs.append(training.ProgressBar())
        if config.lr_decay > 0:
            cbs.append(training.LearningRateScheduler(optim.InverseTimeDecay(lr, config.lr_decay)))
        if config.early_stopping:
            cbs.append(training.EarlyStopping(patience=config.early_stopping))
        files["history"] = out_dir / "history.csv"
        files["checkpoint"] = out_dir / "checkpoint.npz"
        cbs += [
            training.TerminateOnNonFinite(),
            training.CSVLogger(files["history"]),
            training.Checkpoint(files["checkpoint"]),
        ]
        hist = training.fit(
            model,
            loss,
            optimizer,
            (X_train, train.y),
            val=(X_val, val.y) if val is not None else None,
            epochs=config.epochs,
            batch_size=config.batch_size,
            callbacks=cbs,
            rng=rng,
            resume_from=config.resume,
        )
        history = hist.as_dict()
    train_seconds = time.perf_counter() - started
    report = training.evaluate(model, X_test, test.y, loss=base_loss)
    metrics = {
        "test_accuracy": float(report["accuracy"]),
        "test_loss": float(report["loss"]),
        "train_seconds": round(train_seconds, 3),
        "epochs_run": len(history.get("loss", [])),
        "layers": "-".join(map(str, sizes)),
        "dataset": config.dataset,
        "n_train": int(train.n_samples),
        "n_test": int(test.n_samples),
    }
    files["model"] = out_dir / "model.npz"
    io.save(
        model,
        files["model"],
        scaler=scaler,
        class_names=list(train.class_names),
        metadata={"metrics": metrics, "config": _jsonable(asdict(config))},
    )
    files.update(_plots(model, history, report, train, X_train, scaler, out_dir))
    with atomic_write(out_dir / "metrics.json", "w", encoding="utf-8") as f:
        f.write(json.dumps(metrics, indent=2) + "\n")
    return RunResult(model, history, metrics, out_dir, files)


def _plots(model, history, report, train, X_train, scaler, out_dir) -> dict:
    from . import plots, training

    files = {
        "learning_curves": plots.learning_curves(history, out_dir / "learning_curves.png"),
        "confusion_matrix": plots.confusion_matrix(
            report["confusion_matrix"], train.class_names, out_dir / "confusion_matrix.png"
        ),
    }
    if train.n_features == 2:
        files["decision_boundary"] = plots.decision_boundary(
            lambda pts: training.predict(model, scaler.transform(pts.astype(np.float32))),
            train.X,
            train.y,
            out_dir / "decision_boundary.png",
            class_names=train.class_names,
        )
    elif train.image_shape is not None:
        files["weights"] = plots.first_layer_weights(
            model.linears[0].weight.data, train.image_shape, out_dir / "first_layer_weights.png"
        )
    return files


def _jsonable(d: dict) -> dict:
    return {k: v for k, v in d.items() if isinstance(v, (str, int, float, bool, type(None)))}
