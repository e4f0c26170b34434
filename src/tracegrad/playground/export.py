"""What a run leaves behind: the trained model as a tracegrad file, and a script that repeats it."""

from __future__ import annotations

import tempfile
from pathlib import Path

from .. import io
from .settings import UPLOAD

MODEL_NAME = "tracegrad-playground.npz"
SCRIPT_NAME = "tracegrad_playground_run.py"


def model_bytes(session) -> bytes:
    """The network, its input scaler and class names, written by ``io.save``."""
    with session.lock, tempfile.TemporaryDirectory(prefix="tracegrad-export-") as folder:
        session.check_usable()
        metadata = {
            "playground": {**session.settings.to_dict(), "upload": session.upload_name},
            "epochs": session.epoch,
            "train_loss": session.history["train"][-1],
            "test_loss": session.history["test"][-1],
        }
        path = io.save(
            session.model,
            Path(folder) / MODEL_NAME,
            scaler=session.scaler,
            class_names=list(session.train.class_names),
            metadata=metadata,
        )
        return path.read_bytes()


_SCRIPT = '''"""Repeats a tracegrad playground run: {title}.

Run it with `python {script}`{where}. It rebuilds the data, the {sizes} network
and its optimizer from the seed, then trains the same epochs with the same settings,
so its final weights and losses are the playground's.
"""

import numpy as np

from tracegrad import datasets, io, losses, nn, training
from tracegrad.experiment import make_optimizer
from tracegrad.tensor import Tensor, no_grad

seed = {seed}
train, test = datasets.load({source!r}, seed=seed, test_size={test_size!r}{options})
scaler = datasets.Scaler("standard").fit(train.X)
X_train, X_test = scaler.transform(train.X), scaler.transform(test.X)

rng = np.random.default_rng(seed)  # draws the initial weights, then every epoch's shuffle
model = nn.MLP({sizes_list}, activation={activation!r}, rng=rng)
optimizer = make_optimizer({optimizer!r}, model.parameters(), {lr!r})
m = len(X_train)


def cost(out, y, l2):
    """Cross-entropy plus the notes' L2 term lambda/(2m) * sum of W^2."""
    c = losses.cross_entropy(out, y)
    return c + losses.l2_penalty(model, l2, m) if l2 > 0 else c


# (epochs, learning rate, batch size, L2) for each stretch of the run, in order.
segments = {segments!r}
for epochs, lr, batch_size, l2 in segments:
    optimizer.lr = lr
    training.fit(
        model,
        lambda out, y, l2=l2: cost(out, y, l2),
        optimizer,
        (X_train, train.y),
        epochs=epochs,
        batch_size=batch_size,
        rng=rng,
    )

with no_grad():
    train_loss = float(losses.cross_entropy(model(Tensor(X_train)), train.y).item())
    test_loss = float(losses.cross_entropy(model(Tensor(X_test)), test.y).item())
print(f"epoch {epochs_total}: train loss {{train_loss:.6f}}, test loss {{test_loss:.6f}}")
io.save(model, "{model}", scaler=scaler, class_names=list(train.class_names))
'''


def script(session) -> str:
    """Python source that reproduces the run (data, network, every epoch's settings)."""
    with session.lock:
        s = session.settings
        sizes = session.model.sizes
        options = "".join(f", {k}={v!r}" for k, v in s.data_options().items())
        upload = s.dataset == UPLOAD
        source = session.upload_name if upload else s.dataset
        return _SCRIPT.format(
            title=f"{source}, {'-'.join(map(str, sizes))} {s.activation}, {session.epoch} epochs",
            script=SCRIPT_NAME,
            where=f" beside {source}" if upload else "",
            sizes="-".join(map(str, sizes)),
            seed=s.seed,
            source=source,
            test_size=round(1 - s.train_ratio, 6),
            options=options,
            sizes_list=list(sizes),
            activation=s.activation,
            optimizer=s.optimizer,
            lr=s.lr if not session.segments else session.segments[0][1],
            segments=[tuple(seg) for seg in session.segments],
            epochs_total=session.epoch,
            model=MODEL_NAME,
        )
