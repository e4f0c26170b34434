"""The training loop, its callbacks, checkpoints and scores."""

import csv
import io as text_io

import numpy as np
import pytest

from tracegrad import losses, nn, optim
from tracegrad.datasets import Dataset
from tracegrad.training import (
    Callback,
    Checkpoint,
    CheckpointError,
    CSVLogger,
    EarlyStopping,
    LearningRateScheduler,
    ProgressBar,
    TerminateOnNonFinite,
    Trainer,
    confusion_matrix,
    evaluate,
    fit,
    predict,
    predict_proba,
)


def blobs(n=90, seed=0):
    """Three well separated Gaussian blobs in the plane, labels 0, 1, 2."""
    rng = np.random.default_rng(seed)
    centers = np.array([[0.0, 3.0], [-3.0, -2.0], [3.0, -2.0]])
    y = np.arange(n) % 3
    X = centers[y] + rng.normal(scale=0.6, size=(n, 2))
    return X.astype(np.float32), y.astype(np.int64)


def xor(n=200, seed=1):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, size=(n, 2)).astype(np.float32)
    return X, (X[:, 0] * X[:, 1] > 0).astype(np.int64)


def setup(momentum=0.9, lr=0.1, dropout=0.0, seed=0):
    model = nn.MLP([2, 16, 3], "tanh", rng=seed, dropout=dropout)
    return model, optim.SGD(model.parameters(), lr=lr, momentum=momentum)


def weights(model):
    return {k: v.copy() for k, v in model.state_dict().items()}


def assert_same_weights(a, b):
    assert list(a) == list(b)
    for name in a:
        assert a[name].tobytes() == b[name].tobytes(), name


class Spy(Callback):
    """Records the weights at the end of every epoch."""

    def __init__(self):
        self.weights = []

    def on_epoch_end(self, trainer, epoch, logs):
        self.weights.append(weights(trainer.model))


# -- the loop --------------------------------------------------------------------------------


def test_fit_learns_separable_blobs():
    X, y = blobs()
    Xv, yv = blobs(seed=5)
    model, opt = setup()
    history = fit(model, losses.cross_entropy, opt, (X, y), (Xv, yv), epochs=15, rng=0)
    assert len(history) == 15 and history.epoch == list(range(1, 16))
    assert set(history.as_dict()) == {
        "epoch",
        "loss",
        "accuracy",
        "val_loss",
        "val_accuracy",
        "lr",
        "epoch_time",
    }
    assert history["accuracy"][-1] >= 0.95 and history["val_accuracy"][-1] >= 0.95
    assert history["loss"][-1] < history["loss"][0]
    assert evaluate(model, Xv, yv)["accuracy"] >= 0.95


def test_fit_learns_xor_from_a_dataset_with_a_single_logit():
    X, y = xor()
    model = nn.MLP([2, 16, 1], "tanh", rng=3)
    opt = optim.Adam(model.parameters(), lr=0.05)

    def bce(out, yb):
        return losses.binary_cross_entropy_with_logits(out, yb[:, None].astype(np.float32))

    history = fit(model, bce, opt, Dataset(X, y), epochs=60, batch_size=20, rng=0)
    assert history["accuracy"][-1] >= 0.9
    assert np.mean(predict(model, X) == y) >= 0.9


def test_regression_targets_have_no_accuracy():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 3)).astype(np.float32)
    y = (X @ np.array([1.0, -2.0, 0.5]))[:, None].astype(np.float32)
    model = nn.MLP([3, 1], rng=0)
    history = fit(model, losses.mse, optim.SGD(model.parameters(), lr=0.05), (X, y), epochs=20)
    assert "accuracy" not in history and history["loss"][-1] < 0.01 * history["loss"][0]


class Recorder(nn.Module):
    """Wraps a model and records the sample ids (column 0 of the input) it is shown."""

    def __init__(self, inner):
        self.inner, self.seen = inner, []

    def forward(self, x):
        self.seen.extend(x.data[:, 0].astype(int).tolist())
        return self.inner(x[:, 1:])


def test_each_sample_is_seen_once_per_epoch_in_a_new_order():
    X, y = blobs(n=50)
    ids = np.arange(50, dtype=np.float32)[:, None]
    model, _ = setup()
    recorder = Recorder(model)
    orders = []

    class Collect(Callback):
        def on_epoch_end(self, trainer, epoch, logs):
            orders.append(list(recorder.seen))
            recorder.seen.clear()

    opt = optim.SGD(recorder.parameters(), lr=0.1)
    fit(
        recorder,
        losses.cross_entropy,
        opt,
        (np.hstack([ids, X]), y),
        epochs=3,
        batch_size=7,
        callbacks=[Collect()],
    )
    assert len(orders) == 3
    for order in orders:
        assert sorted(order) == list(range(50))
    assert orders[0] != orders[1] != orders[2]


def test_the_trainer_prints_nothing(capsys):
    X, y = blobs()
    model, opt = setup()
    fit(model, losses.cross_entropy, opt, (X, y), (X, y), epochs=2)
    assert capsys.readouterr() == ("", "")


# -- callbacks -------------------------------------------------------------------------------


class Inject(Callback):
    """Puts a made-up score into the epoch logs, to drive EarlyStopping exactly."""

    def __init__(self, scores):
        self.scores = scores

    def on_epoch_end(self, trainer, epoch, logs):
        logs["score"] = self.scores[epoch]


def test_early_stopping_stops_and_restores_the_best_weights():
    X, y = blobs()
    model, opt = setup()
    spy = Spy()
    scores = [5.0, 4.0, 3.0, 3.5, 3.2, 1.0, 0.5]  # best at epoch index 2, then 2 without gain
    stop = EarlyStopping(monitor="score", patience=2)
    trainer = Trainer(model, losses.cross_entropy, opt, [Inject(scores), spy, stop])
    history = trainer.fit((X, y), epochs=7)
    assert len(history) == 5 and trainer.stop_training
    assert "score" in trainer.stop_reason and "epoch 3" in trainer.stop_reason
    assert_same_weights(weights(model), spy.weights[2])


def test_early_stopping_needs_the_monitored_value():
    X, y = blobs()
    model, opt = setup()
    with pytest.raises(KeyError, match="pass val="):
        fit(model, losses.cross_entropy, opt, (X, y), epochs=2, callbacks=[EarlyStopping()])


def test_scheduler_sets_the_learning_rate_per_epoch():
    X, y = blobs()
    model, opt = setup()
    schedule = optim.StepDecay(0.1, step_size=2, gamma=0.5)
    history = fit(
        model,
        losses.cross_entropy,
        opt,
        (X, y),
        epochs=5,
        callbacks=[LearningRateScheduler(schedule)],
    )
    assert history["lr"] == [0.1, 0.1, 0.05, 0.05, 0.025]
    assert opt.lr == 0.025


def test_scheduler_sets_the_learning_rate_per_batch():
    X, y = blobs(n=30)
    model, opt = setup()
    used = []

    def loss(out, yb):  # the step after this loss uses the current rate
        used.append(opt.lr)
        return losses.cross_entropy(out, yb)

    fit(
        model,
        loss,
        opt,
        (X, y),
        epochs=2,
        batch_size=8,
        callbacks=[LearningRateScheduler(lambda k: 1.0 / (k + 1), per="batch")],
    )
    assert used == [1.0 / (k + 1) for k in range(8)]  # 4 batches per epoch, 2 epochs


def test_csv_logger_writes_one_row_per_epoch(tmp_path):
    X, y = blobs()
    model, opt = setup()
    path = tmp_path / "logs" / "run.csv"
    history = fit(
        model, losses.cross_entropy, opt, (X, y), (X, y), epochs=4, callbacks=[CSVLogger(path)]
    )
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3, 4]
    assert [float(r["val_loss"]) for r in rows] == history["val_loss"]  # every digit
    assert sorted(p.name for p in path.parent.iterdir()) == ["run.csv"]  # no temporary files


def test_non_finite_loss_stops_and_keeps_the_last_good_weights():
    X, y = blobs()
    model, opt = setup()
    calls = []

    def loss(out, yb):
        calls.append(1)
        value = losses.cross_entropy(out, yb)
        return value * np.float32("nan") if len(calls) == 5 else value  # epoch 2, batch 2

    spy = Spy()
    trainer = Trainer(model, loss, opt, [spy, TerminateOnNonFinite()])
    history = trainer.fit((X, y), epochs=4, batch_size=30)  # 3 batches per epoch
    assert trainer.stop_training and len(history) == 1
    assert "loss was nan" in trainer.stop_reason and "epoch 2, batch 2" in trainer.stop_reason
    assert_same_weights(weights(model), spy.weights[0])


def test_a_huge_learning_rate_is_caught_before_the_weights_overflow():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 3)).astype(np.float32)
    y = (X @ np.array([1.0, 2.0, 3.0]))[:, None].astype(np.float32)
    model = nn.MLP([3, 8, 1], "tanh", rng=0)
    start = weights(model)
    trainer = Trainer(
        model, losses.mse, optim.SGD(model.parameters(), lr=1e6), [TerminateOnNonFinite()]
    )
    with np.errstate(all="ignore"):
        trainer.fit((X, y), epochs=5, batch_size=8)
    assert trainer.stop_training and "Lower the learning rate" in trainer.stop_reason
    assert all(np.isfinite(p.data).all() for p in model.parameters())
    assert_same_weights(weights(model), start)  # it diverged within the first epoch


class StopAfter(Callback):
    """Ends the run after ``k`` epochs, as if the process had been killed."""

    def __init__(self, k):
        self.k = k

    def on_epoch_end(self, trainer, epoch, logs):
        if trainer.epoch == self.k:
            trainer.stop_training = True


def _run(path=None, resume=False, stop_after=None, seed=0, rng=1):
    X, y = blobs(n=70)
    model, opt = setup(momentum=0.9, dropout=0.2, seed=seed)
    callbacks = [] if path is None else [Checkpoint(path)]
    callbacks += [] if stop_after is None else [StopAfter(stop_after)]
    history = fit(
        model,
        losses.cross_entropy,
        opt,
        (X, y),
        (X, y),
        epochs=6,
        batch_size=16,
        callbacks=callbacks,
        rng=rng,
        resume_from=path if resume else None,
    )
    return model, history


def test_resuming_from_a_checkpoint_is_bit_identical(tmp_path):
    path = tmp_path / "ckpt.npz"
    straight, history = _run()
    _run(path, stop_after=3)
    # Another initial model and another seed: everything must come from the checkpoint.
    resumed, resumed_history = _run(path, resume=True, seed=7, rng=99)
    assert_same_weights(weights(resumed), weights(straight))
    assert resumed_history.epoch == list(range(1, 7))
    assert resumed_history["loss"] == history["loss"]


def test_resuming_checks_the_file_and_the_run(tmp_path):
    path = tmp_path / "ckpt.npz"
    _run(path, stop_after=2)
    X, y = blobs(n=70)
    model, opt = setup(momentum=0.9, dropout=0.2)
    before = weights(model)
    with pytest.raises(CheckpointError, match="batch_size=16"):
        fit(model, losses.cross_entropy, opt, (X, y), batch_size=10, resume_from=path)
    assert_same_weights(weights(model), before)  # nothing half-restored
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(CheckpointError, match="ckpt.npz"):
        fit(model, losses.cross_entropy, opt, (X, y), batch_size=16, resume_from=path)


def test_progress_bar_writes_one_line_per_epoch_to_a_file():
    X, y = blobs()
    model, opt = setup()
    stream = text_io.StringIO()
    fit(model, losses.cross_entropy, opt, (X, y), epochs=3, callbacks=[ProgressBar(stream)])
    lines = stream.getvalue().splitlines()
    assert len(lines) == 3 and lines[2].startswith("epoch 3/3  loss ")


class Terminal(text_io.StringIO):
    def isatty(self):
        return True


@pytest.mark.parametrize("quiet", [False, True])
def test_progress_bar_on_a_terminal(quiet):
    X, y = blobs()
    model, opt = setup()
    stream = Terminal()
    fit(
        model,
        losses.cross_entropy,
        opt,
        (X, y),
        epochs=2,
        callbacks=[ProgressBar(stream, quiet=quiet)],
    )
    text = stream.getvalue()
    assert ("sample/s" in text) != quiet and "epoch 2/2" in text and "acc " in text


# -- scores ----------------------------------------------------------------------------------


def test_evaluate_on_a_hand_made_confusion():
    # The model passes its input through, so each row of X is the logits it "predicts".
    model = nn.Sequential(nn.Identity())
    y = np.array([0, 0, 0, 1, 1, 2, 2, 2, 2])
    predicted = np.array([0, 0, 1, 1, 2, 2, 2, 0, 0])
    X = np.eye(3, dtype=np.float32)[predicted]
    result = evaluate(model, X, y)
    # rows: true class; columns: predicted class
    expected = np.array([[2, 1, 0], [0, 1, 1], [2, 0, 2]])
    np.testing.assert_array_equal(result["confusion_matrix"], expected)
    assert result["accuracy"] == pytest.approx(5 / 9)
    np.testing.assert_allclose(result["precision"], [2 / 4, 1 / 2, 2 / 3])  # per column
    np.testing.assert_allclose(result["recall"], [2 / 3, 1 / 2, 2 / 4])  # per row
    zeros = evaluate(model, np.zeros((4, 3), np.float32), y[:4], loss=losses.cross_entropy)
    assert zeros["loss"] == pytest.approx(np.log(3))  # uniform logits over 3 classes


def test_confusion_matrix_counts_pairs_and_accepts_whole_floats():
    cm = confusion_matrix(np.array([0, 2, 2, 1.0]), [2, 2, 0, 1], 3)
    np.testing.assert_array_equal(cm, [[0, 0, 1], [0, 1, 0], [1, 0, 1]])


@pytest.mark.parametrize(
    ("true", "predicted", "error", "message"),
    [
        ([0, -1, 1], [0, 0, 1], ValueError, "true labels must lie in 0..2 .* from -1 to 1"),
        ([0, 3, 1], [0, 0, 1], ValueError, "true labels must lie in 0..2 .* from 0 to 3"),
        ([0, 1, 1], [0, 1, 7], ValueError, "predicted labels must lie in 0..2 .* from 0 to 7"),
        ([0, 1.5, 1], [0, 1, 1], TypeError, "true labels must be integers"),
        ([0, 1], [0, 1, 1], ValueError, "2 true labels but 3 predicted"),
        # one-hot rows: flattened, they would be counted as 3x as many labels 0 and 1
        (np.eye(3)[[0, 1, 2]], [0, 1, 2], ValueError, "true labels have shape \\(3, 3\\)"),
    ],
)
def test_confusion_matrix_refuses_labels_outside_its_classes(true, predicted, error, message):
    # -1 * 3 + 0 would land in row 0's last cell, 3 * 3 + 0 past the end: counted silently
    with pytest.raises(error, match=message):
        confusion_matrix(np.array(true), np.array(predicted), 3)


def test_confusion_matrix_counts_bool_predictions_as_classes_0_and_1():
    cm = confusion_matrix(np.array([0, 1, 1]), np.array([False, True, False]), 2)
    np.testing.assert_array_equal(cm, [[1, 0], [1, 1]])


def test_a_class_never_predicted_has_zero_precision():
    model = nn.Sequential(nn.Identity())
    result = evaluate(model, np.eye(3, dtype=np.float32)[[0, 0, 1]], np.array([0, 2, 1]))
    np.testing.assert_array_equal(result["precision"], [0.5, 1.0, 0.0])
    np.testing.assert_array_equal(result["recall"], [1.0, 1.0, 0.0])


def test_single_logit_and_probability_outputs():
    logits = np.array([[2.0], [-1.0], [0.5], [-3.0]], dtype=np.float32)
    y = np.array([1, 1, 0, 0])
    model = nn.Sequential(nn.Identity())
    np.testing.assert_array_equal(predict(model, logits), [1, 0, 1, 0])
    np.testing.assert_allclose(predict_proba(model, logits), 1 / (1 + np.exp(-logits)), 1e-6)
    np.testing.assert_array_equal(evaluate(model, logits, y)["confusion_matrix"], [[1, 1], [1, 1]])
    # Sigmoid outputs are probabilities already: thresholded at 0.5, returned as they are.
    sigmoid_model = nn.Sequential(nn.Sigmoid())
    np.testing.assert_array_equal(predict(sigmoid_model, logits), [1, 0, 1, 0])
    np.testing.assert_allclose(predict_proba(sigmoid_model, logits), 1 / (1 + np.exp(-logits)))


@pytest.mark.parametrize("output", ["identity", "softmax", "log_softmax"])
def test_predict_proba_gives_probabilities_for_every_output(output):
    X, _ = blobs(n=12)
    model = nn.MLP([2, 5, 3], output=output, rng=0)
    p = predict_proba(model, X, batch_size=5)
    np.testing.assert_allclose(p.sum(axis=1), 1, rtol=1e-5)
    reference = predict_proba(nn.MLP([2, 5, 3], output="identity", rng=0), X)
    np.testing.assert_allclose(p, reference, rtol=1e-5)
    assert model.training  # the mode is put back
