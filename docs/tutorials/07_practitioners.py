"""
For practitioners: real data, checkpoints, model files, scikit-learn, sweeps and ONNX
=====================================================================================

The earlier tutorials opened backpropagation up: every :math:`z`, :math:`a` and
:math:`\\delta` of a small network, checked against the textbooks. This one closes it
again and trains the way a practitioner does, on real images, with the tools around
the training loop that the course notes mention only in passing: a validation set to
watch, a learning rate that decays, a run that survives being stopped, a model file
another program can read, a search over :math:`\\lambda` and the hidden sizes, and an
export that leaves Python altogether.

None of it is new mathematics. :func:`tracegrad.training.fit` runs the loop the notes
describe (minibatches, a forward pass, the cost, backpropagation, an update, epoch
after epoch); everything else is a *callback* that the loop calls at the end of each
batch or epoch, so that the loop itself stays the few lines you saw before.

Every command-line run of ``tracegrad train`` does what this page does by hand; the
equivalent commands are given along the way. To keep the page fast, the networks
train on subsets for a few epochs: the numbers are a few points below what the full
sets give (``benchmarks/accuracy.py`` has those).
"""

import csv
import os
import tempfile
import warnings
from pathlib import Path
from types import SimpleNamespace

import matplotlib.pyplot as plt
import numpy as np

import tracegrad as tg
import tracegrad.sweep
from tracegrad import datasets, losses, nn, optim, training

workdir = tempfile.TemporaryDirectory()  # every file of this page goes here, never the docs
WORK = Path(workdir.name)

# %%
# MNIST: a validation set, a decaying learning rate, early stopping
# -----------------------------------------------------------------
#
# ``datasets.load`` returns the official split, 60,000 training and 10,000 test images
# (``download=True`` fetches missing files and checks their checksums). We keep a
# stratified subset of 20,000 training images and hold 10% of them out as a validation
# set. The test set is not looked at until the very end: choosing the epochs or the
# learning rate by the test score would make the test score an optimistic estimate.
#
# The pixels run from 0 to 255. ``Scaler("max")`` divides them by the largest value of
# the *training* part, so that the inputs :math:`a^{(1)}` sit in :math:`[0, 1]`, the range
# the initial weights were sized for; its statistics come from training rows only, for the
# same reason as above.
#
# The callbacks:
#
# * ``LearningRateScheduler(InverseTimeDecay(lr0, 0.3))`` sets the learning rate of epoch
#   :math:`k` to :math:`\mu_k = \mu_0 / (1 + 0.3\,k)`: big steps while the cost is far from
#   its minimum, smaller ones near it (the notes' learning-rate decay);
# * ``EarlyStopping`` watches the validation cost and ends the run when it has not
#   improved for ``patience`` epochs, putting back the best epoch's weights;
# * ``CSVLogger`` writes the history, one row per epoch, to a file that is complete after
#   every epoch (open it while a long run goes on).
#
# ``History`` is always there: ``fit`` returns it.


def train_mlp(name, n_train=20_000, epochs=4, seed=0, hidden=(128,)):
    """Train a 784-128-10 ReLU network (784-10, linear, with ``hidden=()``) on a subset of
    ``name``; return what we need later."""
    full_train, test = datasets.load(name, download=True)
    subset, _ = datasets.train_test_split(full_train, 1 - n_train / len(full_train), seed=seed)
    train, val = datasets.train_test_split(subset, 0.1, seed=seed)
    scaler = datasets.Scaler("max").fit(train.X)  # statistics of the training rows only
    model = nn.MLP([784, *hidden, 10], activation="relu", rng=seed)
    lr0 = 3e-3
    history = training.fit(
        model,
        losses.cross_entropy,
        optim.Adam(model.parameters(), lr=lr0),
        (scaler.transform(train.X), train.y),
        val=(scaler.transform(val.X), val.y),
        epochs=epochs,
        batch_size=128,
        rng=seed,
        callbacks=[
            training.LearningRateScheduler(optim.InverseTimeDecay(lr0, 0.3)),
            training.EarlyStopping(monitor="val_loss", patience=2),
            training.CSVLogger(WORK / f"{name}{'' if hidden else '-linear'}-history.csv"),
        ],
    )
    scores = training.evaluate(model, scaler.transform(test.X), test.y)
    return SimpleNamespace(
        model=model, scaler=scaler, train=train, test=test, history=history, scores=scores
    )


mnist = train_mlp("mnist")
print(f"MNIST: {len(mnist.history)} epochs, test accuracy {mnist.scores['accuracy']:.4f}")

# %%
# The CSV file holds the same numbers as the ``History``: the training cost and
# accuracy (averaged over the epoch's minibatches, while the weights were still moving),
# the validation ones (measured once, after the epoch) and the learning rate used.

with open(WORK / "mnist-history.csv", newline="") as f:
    rows = list(csv.DictReader(f))
print(f"{'epoch':>5} {'loss':>7} {'accuracy':>8} {'val_loss':>8} {'val_acc':>7} {'lr':>8}")
for r in rows:
    print(
        f"{r['epoch']:>5} {float(r['loss']):7.4f} {float(r['accuracy']):8.4f} "
        f"{float(r['val_loss']):8.4f} {float(r['val_accuracy']):7.4f} {float(r['lr']):8.5f}"
    )

losses_per_epoch = mnist.history["loss"]
assert [float(r["loss"]) for r in rows] == losses_per_epoch  # the file is the history
assert losses_per_epoch[-1] < 0.5 * losses_per_epoch[0]  # the cost falls, and by a lot
assert np.allclose(mnist.history["lr"], [3e-3 / (1 + 0.3 * k) for k in range(len(rows))])
# A floor below the 95.6% measured with these seeds, with a margin for other BLAS builds
# (which add the same products in other orders) and NumPy versions.
assert mnist.scores["accuracy"] >= 0.945, mnist.scores["accuracy"]

# %%
# The validation cost fell in every one of the four epochs, so ``EarlyStopping`` had
# nothing to do here. To see it act, train on the small digits set with a patience of
# one epoch and a learning rate large enough that the network starts to overfit within a
# few epochs: the run ends at the first epoch whose validation cost rises, and the model
# left in our hands is the best epoch's, not the last one's.

digits, _ = datasets.load("digits")
small_train, small_val = datasets.train_test_split(digits, 0.3, seed=0)
small_scaler = datasets.Scaler("max").fit(small_train.X)
X_small, X_small_val = small_scaler.transform(small_train.X), small_scaler.transform(small_val.X)
overfit = nn.MLP([64, 128, 10], activation="relu", rng=0)
stopper = training.EarlyStopping(monitor="val_loss", patience=1)
short_run = training.fit(
    overfit,
    losses.cross_entropy,
    optim.Adam(overfit.parameters(), lr=0.01),
    (X_small, small_train.y),
    val=(X_small_val, small_val.y),
    epochs=30,
    batch_size=32,
    rng=0,
    callbacks=[stopper],
)
kept = training.evaluate(overfit, X_small_val, small_val.y, loss=losses.cross_entropy)["loss"]
print("validation cost per epoch:", np.round(short_run["val_loss"], 4))
print(f"stopped after {len(short_run)} of 30 epochs; the model kept has validation cost {kept:.4f}")
assert len(short_run) < 30  # stopped early...
assert short_run["val_loss"][-1] > min(short_run["val_loss"])  # ...because the cost rose
assert np.isclose(kept, min(short_run["val_loss"]), rtol=1e-5)  # and the best epoch is back

# %%
# Fashion-MNIST: the same recipe on a harder set
# ----------------------------------------------
#
# Fashion-MNIST was made as a drop-in replacement for MNIST: the same 28x28 grey images,
# the same 60,000 / 10,000 split, ten classes, but of clothes. A linear model already
# gets about 92% of the digits right, and about 84% of the clothes: several classes
# (shirts, T-shirts, pullovers, coats) differ in details a few pixels wide.
#
# Below, the same recipe trains our 784-128-10 network and, as a baseline, a linear
# model (784-10, the same softmax and cost, no hidden layer). Four epochs on 20,000
# images are too little for the hidden layer to show much: the network is only a point
# or two ahead. Trained longer, on all 60,000 images and with wider layers, it pulls
# away: the benchmark recipe (784-256-128-10, 20 epochs, see the benchmarks page)
# reaches 89.5%, where linear models stay near 84%.

fashion = train_mlp("fashion-mnist")
accuracy = fashion.scores["accuracy"]
linear = train_mlp("fashion-mnist", hidden=())
linear_accuracy = linear.scores["accuracy"]
print(f"Fashion-MNIST: {len(fashion.history)} epochs, test accuracy {accuracy:.4f}")
print(f"linear baseline, trained the same way: test accuracy {linear_accuracy:.4f}")
assert accuracy >= 0.83, accuracy  # measured: 84.3%
assert 0.80 <= linear_accuracy <= 0.86, linear_accuracy  # about the published 84%
assert accuracy > linear_accuracy + 0.005  # measured: 1.3 points ahead

# %%
# The learning curves
# ~~~~~~~~~~~~~~~~~~~
#
# Training against validation cost per epoch. While the two curves fall together the
# network is still learning things that hold beyond its training rows; a validation
# curve that turns up while the training one keeps falling is overfitting, which is
# what ``EarlyStopping`` watches for.

fig, axes = plt.subplots(1, 2, figsize=(9, 3.4), layout="constrained")
for ax, (title, history) in zip(
    axes, (("MNIST", mnist.history), ("Fashion-MNIST", fashion.history)), strict=True
):
    ax.plot(history.epoch, history["loss"], "o-", label="training")
    ax.plot(history.epoch, history["val_loss"], "s--", label="validation")
    ax.set(title=title, xlabel="epoch", ylabel="cross-entropy cost", xticks=history.epoch)
    ax.legend()
plt.show()

# %%
# Where the mistakes are: the confusion matrix
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# Row :math:`i`, column :math:`j` counts the test images of class :math:`i` that the network
# called :math:`j`; the diagonal holds the right answers. Dividing each row by its total
# gives each class's *recall*.

test = fashion.test
predicted = training.predict(fashion.model, fashion.scaler.transform(test.X))
counts = training.confusion_matrix(test.y, predicted, test.n_classes)
recall = counts.diagonal() / counts.sum(axis=1)
names = test.class_names

fig, ax = plt.subplots(figsize=(6.4, 5.4), layout="constrained")
image = ax.imshow(counts / counts.sum(axis=1, keepdims=True), cmap="Blues", vmin=0, vmax=1)
for (i, j), n in np.ndenumerate(counts):
    if n:
        ax.text(j, i, n, ha="center", va="center", fontsize=7, color="w" if i == j else "k")
ax.set_xticks(range(len(names)), names, rotation=45, ha="right")
ax.set_yticks(range(len(names)), names)
ax.set(xlabel="predicted", ylabel="true", title="Fashion-MNIST test set (colour: row share)")
fig.colorbar(image, ax=ax, label="share of the true class")
plt.show()

for name, r in sorted(zip(names, recall, strict=True), key=lambda t: t[1]):
    print(f"{name:>12}: recall {r:.3f}")

# %%
# The four weakest classes are the four tops: T-shirts, pullovers, coats and shirts, each
# a grey blob with or without sleeves, a collar, buttons. Trousers, bags and footwear are
# nearly always right. And the mistakes are not spread at random over the other nine
# classes (a third of a top's mistakes would then land on another top): most of them
# are one top taken for another.

tops = [names.index(n) for n in ("T-shirt/top", "Pullover", "Coat", "Shirt")]
mistakes = counts - np.diag(counts.diagonal())
within_tops = mistakes[np.ix_(tops, tops)].sum() / mistakes[tops].sum()
print(f"share of the tops' mistakes that are another top: {within_tops:.2f}")

assert counts.sum() == len(test.y) == 10_000
assert set(np.argsort(recall)[:4]) == set(tops)
assert min(recall[names.index(n)] for n in ("Trouser", "Bag")) > 0.9
assert within_tops > 0.6

# %%
# Checkpoints: stop, resume, and land on the same weights
# -------------------------------------------------------
#
# A long run gets interrupted: a laptop lid, a time limit on a shared machine, a Ctrl-C.
# ``Checkpoint(path)`` writes, after every epoch, everything the run needs to continue:
# the weights, the optimizer's state (Adam's moment estimates :math:`m` and :math:`v` and
# its step count), the state of every random number generator (the one that shuffles
# the minibatches and the one that draws the dropout masks), the epoch and step counts,
# and the history. ``fit(..., resume_from=path)`` puts all of it back, so the resumed run
# draws the same batches and masks and takes the same steps: its weights end *bit for
# bit* equal to those of a run that never stopped.
#
# We check that claim on the bundled 8x8 digits (fast), with dropout and a step-decay
# schedule so that every piece of state matters.

digits_train, digits_test = datasets.load("digits", seed=0)
digits_scaler = datasets.Scaler("standard").fit(digits_train.X)
Xd, yd = digits_scaler.transform(digits_train.X), digits_train.y
EPOCHS = 8


def digits_run(callbacks=(), resume_from=None, model=None, epochs=EPOCHS):
    """A fresh (or the given) network, Adam, the lr halved every 3 epochs, shuffling seed 0."""
    model = model or nn.MLP([64, 64, 10], activation="relu", dropout=0.2, rng=0)
    schedule = training.LearningRateScheduler(optim.StepDecay(3e-3, 3, 0.5))
    training.fit(
        model,
        losses.cross_entropy,
        optim.Adam(model.parameters(), lr=3e-3),
        (Xd, yd),
        epochs=epochs,
        batch_size=32,
        rng=0,
        callbacks=[schedule, *callbacks],
        resume_from=resume_from,
    )
    return model


class PowerCut(training.Callback):
    """Interrupt the run after ``k`` epochs, as a Ctrl-C or a killed job would."""

    def __init__(self, k):
        self.k = k

    def on_epoch_end(self, trainer, epoch, logs):
        if trainer.epoch == self.k:
            raise KeyboardInterrupt


checkpoint = WORK / "digits-checkpoint.npz"
uninterrupted = digits_run()
try:
    # Checkpoint comes first, so that epoch 3 is saved before the cut.
    digits_run([training.Checkpoint(checkpoint), PowerCut(3)])
except KeyboardInterrupt:
    print(
        "stopped after 3 epochs; the checkpoint holds epoch",
        training.load_checkpoint(checkpoint)["header"]["epoch"],
    )
resumed = digits_run([training.Checkpoint(checkpoint)], resume_from=checkpoint)


def same_weights(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(np.array_equal(sa[k], sb[k]) for k in sa)


print("resumed == uninterrupted, bit for bit:", same_weights(resumed, uninterrupted))
assert same_weights(resumed, uninterrupted)

# %%
# Why does the checkpoint hold more than the weights? Load the epoch-3 weights alone
# and train the 5 remaining epochs, and the run goes elsewhere: Adam's moment estimates
# start from zero again (so its first steps are full-size steps again), the batches come
# in the order of a fresh shuffle, the dropout masks differ, and the schedule starts
# from its first learning rate.

weights_only = nn.MLP([64, 64, 10], activation="relu", dropout=0.2, rng=0)
weights_only.load_state_dict(training.load_checkpoint(checkpoint)["model"])
restarted = digits_run(model=weights_only, epochs=EPOCHS - 3)
gap = max(
    np.abs(restarted.state_dict()[k] - uninterrupted.state_dict()[k]).max()
    for k in uninterrupted.state_dict()
)
print(f"weights-only restart: largest weight difference {gap:.3f}")
assert not same_weights(restarted, uninterrupted) and gap > 1e-3

# %%
# From the command line, every ``tracegrad train`` run writes its checkpoint into its own
# run folder, and Ctrl-C prints the command that continues it::
#
#     tracegrad train --dataset fashion-mnist --layers 128 --optimizer adam --lr 3e-3 \
#         --lr-decay 0.3 --early-stopping 2 --epochs 20 --out runs/fashion
#     tracegrad train --resume runs/fashion            # bit for bit as if never stopped
#     tracegrad train --resume runs/fashion --epochs 30   # only --epochs may grow
#
# A resume with a different ``--seed``, ``--lr`` or ``--layers`` is refused: it would
# be another run under the old one's name.

# %%
# Saving and loading a model
# --------------------------
#
# ``tg.save`` writes one ``.npz`` file: the weights, bit for bit in their dtype, the
# layers as JSON, the class names, what the model was trained on and the input scaling,
# stored as the network's first layer (``nn.Normalization``). So the loaded model takes
# *raw* pixels: nobody has to remember which scaler went with which model.
#
# ``tg.load`` reads it without pickle (a pickle can run any code when it is opened;
# this file holds only arrays and JSON) and checks every entry before it builds a model.

model_file = tg.save(mnist.model, WORK / "mnist.npz", scaler=mnist.scaler, trained_on=mnist.train)
loaded = tg.load(model_file)
print(loaded.class_names, loaded.trained_on["name"], f"{model_file.stat().st_size:,} bytes")

raw_test_images = mnist.test.X
before = training.predict_proba(mnist.model, mnist.scaler.transform(raw_test_images))
after = training.predict_proba(loaded, raw_test_images)  # raw pixels: the scaling is a layer
print(f"largest difference in probability: {np.abs(before - after).max():.2e}")
assert np.array_equal(before, after)  # the Normalization layer computes what the scaler did
assert np.array_equal(training.predict(loaded, raw_test_images), before.argmax(axis=1))

# %%
# scikit-learn: the same network as an estimator
# ----------------------------------------------
#
# ``tg.sklearn.MLPClassifier`` takes the parameters of scikit-learn's own
# ``MLPClassifier`` and has its fitted attributes, so it goes wherever an estimator goes:
# into a ``Pipeline`` after a scaler (fitted, again, on each training fold only), and into
# ``GridSearchCV``, which scores each setting by cross-validation on the training data.
#
# ``alpha`` is the notes' :math:`\lambda`: scikit-learn adds
# :math:`\frac{\alpha}{2m}\sum \|W\|^2` to the cost of each minibatch of :math:`m` rows,
# Ng's :math:`\frac{\lambda}{2m}\sum\Theta^2` (biases excluded) with the batch in place of
# the whole training set. Choosing it on held-out folds is the notes' model selection,
# automated. And since the parameters mean the same, scikit-learn's own
# ``MLPClassifier`` with the same settings should score about the same: it runs the same
# algorithm, from other random initial weights.

from sklearn.model_selection import GridSearchCV  # noqa: E402
from sklearn.neural_network import MLPClassifier as ScikitLearnMLP  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from tracegrad.sklearn import MLPClassifier  # noqa: E402

settings = {"hidden_layer_sizes": (32,), "learning_rate_init": 0.01, "max_iter": 60}
grid = {"mlpclassifier__alpha": [1e-4, 1.0, 30.0]}
searches = {}
with warnings.catch_warnings():  # 60 epochs stop short of tol: we asked for few
    warnings.simplefilter("ignore")
    for estimator in (MLPClassifier, ScikitLearnMLP):
        pipeline = make_pipeline(StandardScaler(), estimator(**settings, random_state=0))
        searches[estimator] = GridSearchCV(pipeline, grid, cv=3)
        searches[estimator].fit(digits_train.X, digits_train.y)
search, reference = searches[MLPClassifier], searches[ScikitLearnMLP]
print("alpha   tracegrad  scikit-learn  (mean accuracy over 3 folds)")
for alpha, ours, theirs in zip(
    grid["mlpclassifier__alpha"],
    search.cv_results_["mean_test_score"],
    reference.cv_results_["mean_test_score"],
    strict=True,
):
    print(f"{alpha:<7} {ours:9.4f} {theirs:13.4f}")
test_score = search.score(digits_test.X, digits_test.y)
print("best:", search.best_params_, f"test accuracy {test_score:.4f}")

cv_scores = search.cv_results_["mean_test_score"]
assert cv_scores[2] < cv_scores.max() - 0.02  # a huge lambda underfits: it loses
assert np.abs(cv_scores - reference.cv_results_["mean_test_score"]).max() < 0.02
assert test_score >= 0.95, test_score  # measured: 96.7%

# %%
# A sweep on Dask
# ---------------
#
# ``tracegrad sweep`` takes every option of ``tracegrad train``, with lists for the
# values to try, and scores each trial on the validation split (never the test set)::
#
#     tracegrad sweep --dataset digits --layers 8,64 --lr 0.002,0.05 --epochs 5 --workers 2
#
# The same from Python: a :class:`tracegrad.sweep.Space` of fixed settings and swept
# axes, and :func:`tracegrad.sweep.run_sweep`, which hands the trials to a runner.
# :func:`tracegrad.sweep.dask_runner` starts a Dask ``LocalCluster`` of worker processes
# (each on one thread, so a trial's numbers do not depend on the machine it ran on) and
# closes it when the ``with`` block ends. Each trial's randomness comes from its settings
# alone, so the cluster's table must equal the one computed here, serially.
#
# Five epochs are few for momentum SGD at the small learning rate: whatever the size,
# the larger rate should win this race.

space = tg.sweep.Space(
    fixed={"dataset": "digits", "optimizer": "momentum", "epochs": 5, "seed": 0},
    axes=[
        tg.sweep.Axis("layers", values=("8", "64")),
        tg.sweep.Axis("lr", values=(0.002, 0.05)),
    ],
)
with tg.sweep.dask_runner(workers=2) as runner:
    client = runner.client
    worker_pids = list(client.run(os.getpid).values())  # each worker is its own process
    print(f"{len(worker_pids)} worker processes, {sum(client.nthreads().values())} threads")
    on_dask = tg.sweep.run_sweep(space, runner=runner)


def alive(pid):
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    return True


workers_alive = any(map(alive, worker_pids))
print(f"after the with block: the client is {client.status}, workers alive: {workers_alive}")
serial = tg.sweep.run_sweep(space)


def table(study):
    rows = [(t.params["layers"], t.params["lr"], t.value) for t in study.trials]
    return sorted(rows, key=lambda row: (int(row[0]), row[1]))


for layers, lr, score in table(on_dask):
    print(f"--layers {layers:>2} --lr {lr:<5}: validation accuracy {score:.4f}")
print("best:", on_dask.best_params)

assert client.status == "closed" and not workers_alive  # everything shut down
assert table(on_dask) == table(serial)  # the same numbers, wherever the trials ran
scores = {(layers, lr): score for layers, lr, score in table(on_dask)}
assert all(scores[size, 0.05] > scores[size, 0.002] for size in ("8", "64"))

# %%
# Exporting to ONNX
# -----------------
#
# ``tg.export(model, "model.onnx")`` writes the whole model as an ONNX graph: the input
# scaling, every layer as a ``Gemm`` (:math:`z = a W^T + b`, the weight as stored) and its
# activation, and the softmax that turns the outputs into probabilities. Any ONNX runtime
# (C++, C#, JavaScript, a phone) can then run it without Python or tracegrad; the
# command-line equivalent is ``tracegrad export runs/RUN --format onnx --output model.onnx``.
#
# The check that matters: onnxruntime's probabilities equal tracegrad's on the raw test
# images, up to float32 rounding (the two add the same products in different orders).

import onnxruntime  # noqa: E402

onnx_file = tg.export(loaded, WORK / "mnist.onnx")
session = onnxruntime.InferenceSession(str(onnx_file), providers=["CPUExecutionProvider"])
print(
    [(i.name, i.shape) for i in session.get_inputs()],
    [(o.name, o.shape) for o in session.get_outputs()],
)
onnx_probabilities, onnx_labels = session.run(
    ["probabilities", "label"], {"input": raw_test_images}
)
difference = np.abs(onnx_probabilities - training.predict_proba(loaded, raw_test_images)).max()
print(f"largest difference over {len(raw_test_images):,} test images: {difference:.1e}")
assert difference < 1e-5
assert np.array_equal(onnx_labels, training.predict(loaded, raw_test_images))

# %%
# What this page ran
# ------------------
#
# Two trainings on MNIST-sized images, a checkpointed run and its resume, a saved and
# loaded model, two grid searches with cross-validation, a sweep on a two-process
# cluster and an export, in seconds. The full-size versions are the same calls with more
# data and more epochs; the files went to a temporary folder, removed here.

workdir.cleanup()
