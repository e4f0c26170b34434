"""A whole training run from a plain configuration: data, model, optimizer, fit, files.

This is what ``tracegrad train`` calls; Python users can call ``run`` too.
Each step is a small function so the CLI, tests and benchmarks share them.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from . import datasets, losses, nn, optim
from .atomic import atomic_write
from .compile import label_loss, with_l2_penalty
from .layer_spec import MAX_WEIGHTS, ConfigError, parse_layers  # noqa: F401 (re-exported)

# Larger steps only diverge; the bound turns a typo (1e308, 1e30) into a refusal.
MAX_LR = 1e4

OPTIMIZERS = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw", "lbfgs")
LOSSES = ("cross_entropy", "mse", "quadratic")
TASKS = ("classification", "regression")  # regression: see tracegrad.regression
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


class TrainingDiverged(RuntimeError):
    """The loss or the weights became NaN or infinite; nothing was saved."""




@dataclass
class Config:
    """Everything that defines a run; the defaults train a small MLP on digits in seconds.

    The defaults (128 ReLU units, SGD with momentum 0.9 at lr 0.05, batches of 32,
    30 epochs, l2 3.0) reach scikit-learn's default ``MLPClassifier`` on the digits
    splits; ``benchmarks/defaults_vs_sklearn.py`` measures both.
    """

    dataset: str = "digits"
    task: str = "classification"
    data_dir: str | None = None
    download: bool = False
    layers: str | None = None
    activation: str = "relu"  # nn.MLP's default too
    output: str = "identity"
    loss: str = "cross_entropy"
    optimizer: str = "momentum"
    lr: float | None = None
    momentum: float = 0.9
    lr_decay: float = 0.0
    batch_size: int = 32
    epochs: int = 30
    l2: float = 3.0
    dropout: float = 0.0
    init: str = "auto"
    seed: int = 0
    val_split: float = 0.1
    early_stopping: int | None = None
    scale: str | None = None
    out: str | None = None
    resume: str | None = None
    overwrite: bool = False
    quiet: bool = False
    plots: bool = True
    # The names of the settings the user chose (the CLI fills it); None: those that differ
    # from the defaults. A resume refuses a chosen setting that contradicts its checkpoint.
    given: frozenset | None = field(default=None, repr=False, compare=False)

    def validate(self) -> None:
        """Raise ``ConfigError`` naming the first bad option and how to fix it."""
        floats = ("lr", "momentum", "lr_decay", "l2", "dropout", "val_split")
        for name in floats:  # NaN passes no comparison below, inf some: refuse both first
            value = getattr(self, name)
            if value is not None and not (
                isinstance(value, (int, float, np.floating, np.integer)) and np.isfinite(value)
            ):
                option = "--" + name.replace("_", "-")
                raise ConfigError(f"{option} must be a finite number, got {value!r}")
        checks = [
            (self.epochs >= 1, f"--epochs must be at least 1, got {self.epochs}"),
            (self.seed >= 0, f"--seed must be a whole number >= 0, got {self.seed}"),
            (self.batch_size >= 1, f"--batch-size must be at least 1, got {self.batch_size}"),
            (
                self.lr is None or 0 < self.lr <= MAX_LR,
                f"--lr must be positive and at most {MAX_LR:g}, got {self.lr}",
            ),
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
                self.task in TASKS,
                f"unknown --task {self.task!r}; choose one of {', '.join(TASKS)}",
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
        for option, name in (("--activation", self.activation), ("--output", self.output)):
            try:
                nn.activation(name)
            except ValueError as exc:
                raise ConfigError(f"{option}: {exc}") from None
        if self.init != "auto":
            try:
                nn.init.get(self.init)
            except ValueError as exc:
                raise ConfigError(f"--init: {exc}") from None


def make_loss(name: str, n_classes: int, task: str = "classification"):
    """A ``loss(output, labels)`` for integer labels; mse/quadratic compare with one-hot rows
    (``compile.label_loss``: the eager sum when called, and readable by the compiled step).

    For ``task="regression"`` the targets are real-valued rows, compared as they are.
    """
    if task == "regression":
        if name == "mse":
            return losses.mse
        if name == "quadratic":  # Nielsen's C = 1/(2n) Σ ‖y − a‖² (runs eagerly)
            return lambda out, t: 0.5 * losses.mse(out, t, "sum") / len(t)
        raise ValueError(f"--loss {name} does not fit --task regression: use mse or quadratic")
    if name == "cross_entropy":
        return losses.cross_entropy
    if name in ("mse", "quadratic"):  # quadratic is Nielsen's C = 1/(2n) Σ ‖y − a‖²
        return label_loss(name, n_classes)
    raise ValueError(f"unknown loss {name!r}; choose one of {', '.join(LOSSES)}")


def layer_sizes(config: Config, n_features: int, n_outputs: int) -> list[int]:
    """Every layer size of the run's network (``--layers`` read against the data)."""
    default = (128,) if n_features > 2 else (32, 32)
    return parse_layers(config.layers, n_features, n_outputs, default=default)


def make_model(config: Config, sizes, rng) -> nn.MLP:
    """The run's MLP, initialized from ``rng`` (the run's seeded generator)."""
    return nn.MLP(
        sizes,
        activation=config.activation,
        output=config.output,
        init=config.init,
        rng=rng,
        dropout=config.dropout,
    )


def penalized(config: Config, base_loss, model, m: int):
    """``base_loss`` plus the notes' λ/(2m)·Σ‖W‖² when ``--l2`` is set (m training samples),
    in the form the compiled step reads (``compile.with_l2_penalty``)."""
    if config.l2 > 0:
        return with_l2_penalty(base_loss, model, config.l2, m)
    return base_loss


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
    """(train, val or None, test) Datasets and a Scaler fitted on the training part only.

    For ``task="regression"`` they are ``datasets.Targets`` (continuous targets).
    """
    if config.task == "regression":
        train, test = datasets.load_targets(config.dataset, seed=config.seed)
        val = None
        if config.val_split > 0:
            train, val = datasets.targets.split(train, config.val_split, seed=config.seed)
        return train, val, test, datasets.Scaler(config.scale or "standard").fit(train.X)
    train, test = datasets.load(
        config.dataset, data_dir=config.data_dir, download=config.download, seed=config.seed
    )
    present = np.unique(train.y)
    if len(present) < 2:  # refused before any file is written
        only = train.class_names[present[0]] if len(present) else "none"
        raise ValueError(
            f"{config.dataset} holds a single class ({only!r}): a classifier needs at least "
            "two; check the label column"
        )
    _refuse_numeric_targets_as_classes(config.dataset, train)
    val = None
    if config.val_split > 0:
        train, val = datasets.train_test_split(train, config.val_split, seed=config.seed)
    # 8-bit images keep their pixels comparable (x / 255, as the books do); other
    # features, the 8x8 digits' 0..16 counts included, are standardized per feature.
    kind = config.scale or ("max" if train.X.max() > 16 and train.image_shape else "standard")
    scaler = datasets.Scaler(kind).fit(train.X)
    return train, val, test, scaler


def _refuse_numeric_targets_as_classes(name, train) -> None:
    """Whole-number targets (prices, counts) with a class for most samples are not classes."""
    k, n = train.n_classes, train.n_samples
    numeric = all(c.lstrip("-").isdigit() for c in train.class_names)
    if numeric and k > 20 and k > n / 2:
        raise ValueError(
            f"{name} has {k} distinct numeric labels among {n} training samples: they look "
            "like continuous targets; train with --task regression, or bin them into classes"
        )


@dataclass
class RunResult:
    """What a run produced; ``model`` takes raw inputs (its scaler is its first layer)."""

    model: object
    history: dict
    metrics: dict
    out_dir: Path | None
    files: dict


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C during a run; ``str()`` says how to resume it (or why it cannot be)."""


def run(config: Config, callbacks=(), progress=True) -> RunResult:
    """Train, evaluate on the test set, and write the model, history and plots to ``config.out``.

    The run folder (``config.out``, else a new ``runs/<date>-<time>-<n>``) is locked
    while the run lasts; see ``rundir``. With ``config.resume`` (a run folder or its
    checkpoint) the checkpoint's settings are used and contradicting ones refused
    (see ``run_settings``), and the run continues in its own folder unless ``out`` is given.
    Ctrl-C raises :class:`RunInterrupted`, whose message is the command that resumes.
    """
    from . import regression
    from . import run_settings as settings
    from .rundir import RunFolder, RunFolderError

    config.validate()
    given = settings.given_options(config)
    try:  # regression's defaults, and the options that contradict it
        config = regression.resolve(config, given, DEFAULT_LR)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    if config.optimizer == "lbfgs":
        settings.check_lbfgs(config, given)
    checkpoint = None
    if config.resume:
        from .training import load_checkpoint

        path = settings.checkpoint_path(config.resume)
        saved = load_checkpoint(path)
        shapes = {name: a.shape for name, a in saved["model"].items()}
        epochs_done = saved["header"]["epoch"]
        config = settings.merge(config, given, path, saved["metadata"], epochs_done, shapes)
        config.validate()
        if config.optimizer == "lbfgs":
            settings.check_lbfgs(config, {"resume"})
        checkpoint = (path, saved["metadata"].get("data"))
    try:
        folder = RunFolder.for_run(
            config.out, checkpoint[0].parent if checkpoint else None, config.overwrite
        )
    except RunFolderError as exc:
        raise ConfigError(str(exc)) from None
    try:
        with folder:
            return _run_in(folder.path, config, checkpoint, callbacks, progress)
    except KeyboardInterrupt:
        if config.optimizer == "lbfgs":
            hint = "L-BFGS runs cannot be resumed: run it again"
        elif (folder.path / "checkpoint.npz").exists():
            hint = f"resume with: {settings.command(folder.path)}"
        else:
            hint = "no epoch had finished, so there is nothing to resume"
        raise RunInterrupted(f"interrupted; {hint}") from None


def _run_in(out_dir: Path, config: Config, checkpoint, callbacks, progress) -> RunResult:
    from . import io, training
    from . import run_settings as settings

    train, val, test, scaler = load_data(config)
    regression = config.task == "regression"
    n_outputs = train.n_outputs if regression else train.n_classes
    sizes = layer_sizes(config, train.n_features, n_outputs)
    data = settings.fingerprint(train, val)
    if checkpoint is not None and checkpoint[1] != data:
        raise ConfigError(
            f"the training data differs from the data {checkpoint[0]} was trained on "
            f"(--dataset {config.dataset}): resume with the same data"
        )
    rng = np.random.default_rng(config.seed)
    model = make_model(config, sizes, rng)
    base_loss = make_loss(config.loss, train.n_classes if not regression else 0, config.task)
    y_train, y_val, y_test = train.y, val.y if val is not None else None, test.y
    if regression:  # the network learns standardized targets; the saved model undoes it
        from .regression import TargetScaling

        target = TargetScaling(train.y)
        y_train, y_test = target.transform(y_train), target.transform(y_test)
        y_val = target.transform(y_val) if val is not None else None
    loss = penalized(config, base_loss, model, train.n_samples)

    X_train = scaler.transform(train.X)
    X_val = scaler.transform(val.X) if val is not None else None
    X_test = scaler.transform(test.X)
    lr = config.lr if config.lr is not None else DEFAULT_LR[config.optimizer]
    files = {"history": out_dir / "history.csv"}
    cbs = [*callbacks, training.CSVLogger(files["history"])]
    started = time.perf_counter()
    if config.optimizer == "lbfgs":
        if progress and not config.quiet:
            cbs.insert(0, training.IterationProgress())
        hist = training.fit_lbfgs(
            model,
            loss,
            (X_train, y_train),
            val=(X_val, y_val) if val is not None else None,
            iterations=config.epochs,
            callbacks=cbs,
        )
    else:
        optimizer = make_optimizer(config.optimizer, model.parameters(), lr, config.momentum)
        if progress and not config.quiet:
            cbs.insert(0, training.ProgressBar())
        if config.lr_decay > 0:
            cbs.append(training.LearningRateScheduler(optim.InverseTimeDecay(lr, config.lr_decay)))
        if config.early_stopping:
            cbs.append(training.EarlyStopping(patience=config.early_stopping))
        files["checkpoint"] = out_dir / "checkpoint.npz"
        recorded = settings.recorded(config, sizes, scaler.kind, lr)
        guard = training.TerminateOnNonFinite()
        cbs += [
            guard,
            training.Checkpoint(files["checkpoint"], metadata={"config": recorded, "data": data}),
        ]
        hist = training.fit(
            model,
            loss,
            optimizer,
            (X_train, y_train),
            val=(X_val, y_val) if val is not None else None,
            epochs=config.epochs,
            batch_size=config.batch_size,
            callbacks=cbs,
            rng=rng,
            resume_from=checkpoint[0] if checkpoint else None,
        )
        if guard.reason:  # one line, also under --quiet/--json, and no model of a diverged run
            raise TrainingDiverged(
                f"training diverged ({guard.reason}), no model written: lower the "
                f"learning rate (it was {lr:g}) or scale the inputs"
            )
    history = hist.as_dict()
    train_seconds = time.perf_counter() - started
    report = training.evaluate(model, X_test, y_test, loss=base_loss)
    # The scaler is the saved model's first layer: loaded, it takes raw inputs on every path;
    # a regression model's last layer gives its outputs in the targets' units.
    saved = nn.Sequential(nn.Normalization.from_scaler(scaler), model)
    if regression:
        from . import regression as task

        saved = nn.Sequential(*saved.layers, target.layer())
        scores = task.metrics(saved, test, report["loss"])
    else:
        scores = {"test_accuracy": float(report["accuracy"]), "test_loss": float(report["loss"])}
    metrics = {
        "task": config.task,
        **scores,
        "train_seconds": round(train_seconds, 3),
        "epochs_run": len(history.get("loss", [])),
        "layers": "-".join(map(str, sizes)),
        "dataset": config.dataset,
        "n_train": int(train.n_samples),
        "n_test": int(test.n_samples),
    }
    files["model"] = out_dir / "model.npz"
    io.save(
        saved,
        files["model"],
        class_names=None if regression else list(train.class_names),
        trained_on=io.describe_data(train, source=_data_source(config.dataset)),
        metadata={"metrics": metrics, "config": _jsonable(asdict(config))},
    )
    if config.plots and regression:
        from . import regression as task

        files.update(task.plots(saved, history, train, test, out_dir))
    elif config.plots:  # matplotlib is a good part of a short run's time: --no-plots skips it
        files.update(_plots(model, history, report, train, X_train, scaler, out_dir))
    with atomic_write(out_dir / "metrics.json", "w", encoding="utf-8") as f:
        f.write(json.dumps(metrics, indent=2) + "\n")
    return RunResult(saved, history, metrics, out_dir, files)


def _data_source(name: str) -> str:
    """What ``datasets.load`` reloads the data from: a registered name, or a file's full path."""
    key = str(name).strip().lower().replace("_", "-")
    if key in datasets.available():
        return key
    return str(Path(name).expanduser().resolve())


def _plots(model, history, report, train, X_train, scaler, out_dir) -> dict:
    from . import plots, training

    files = {
        "confusion_matrix": plots.confusion_matrix(
            report["confusion_matrix"], train.class_names, out_dir / "confusion_matrix.png"
        ),
    }
    if history.get("loss"):  # L-BFGS may converge before its first iteration ends
        files["learning_curves"] = plots.learning_curves(history, out_dir / "learning_curves.png")
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
