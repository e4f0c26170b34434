"""
Why the improvements work
=========================

The last part of the MLP chapter in the course notes lists the tricks that make a
network train well: a cross-entropy cost instead of the squared error, tanh or ReLU
instead of the logistic sigmoid, dropout, minibatches, a decaying learning rate and
momentum. The notes state each in one line. This tutorial takes them one at a time,
shows the effect on a small problem with tracegrad, and checks the claim with a number:

1. cross-entropy removes the learning slowdown of a saturated output neuron;
2. sigmoid gradients vanish through depth, ReLU's (with He initialization) do not;
3. dropout is on in training and off in evaluation, and keeps the expected activation;
4. a minibatch gradient is a noisy, unbiased estimate of the full gradient;
5. a decaying learning rate removes the noise floor that a constant one leaves;
6. momentum, Nesterov, Adagrad, RMSProp and Adam, as paths on a 2-D surface.

A word on notation. Like Nielsen (and tracegrad's own names) this page writes
:math:`z = w x + b` for a neuron's weighted input and :math:`a = h(z)` for its
activation. The MLP chapter of the notes uses the two letters the other way round
(:math:`a` for the sum, :math:`z` for the output); only the names differ.
"""

import math

import matplotlib.pyplot as plt
import numpy as np

import tracegrad as tg

# %%
# 1. Cross-entropy versus the quadratic cost: the learning slowdown
# -----------------------------------------------------------------
#
# Take the smallest network there is: one sigmoid neuron with one input,
# :math:`a = \sigma(z)`, :math:`z = w x + b`. Nielsen (*Neural Networks and Deep
# Learning*, chapter 3) starts it badly wrong: :math:`w = b = 2`, input :math:`x = 1`,
# target :math:`y = 0`. The output is :math:`a = \sigma(4) \approx 0.98`, almost the
# opposite of what we want, so we would hope it learns fastest now.
#
# With the quadratic cost :math:`C = \tfrac12 (a - y)^2` the chain rule gives
#
# .. math::
#
#    \frac{\partial C}{\partial w} = (a - y)\,\sigma'(z)\,x ,
#
# and :math:`\sigma'(4) = \sigma(4)(1 - \sigma(4)) \approx 0.018`: the neuron is
# saturated, the sigmoid is flat there, and the gradient is tiny *because* the
# neuron is so wrong. The cross-entropy cost
#
# .. math::
#
#    C = -\left[\, y \ln a + (1 - y) \ln (1 - a) \,\right]
#
# has :math:`\partial C / \partial a = (a - y) / (a(1 - a))`, which is exactly
# :math:`(a-y)/\sigma'(z)`: the :math:`\sigma'(z)` cancels and
# :math:`\partial C / \partial w = (a - y)\,x`. The neuron learns at a rate set by its
# error alone. (The notes write the cross-entropy without the minus sign: that is the
# log-likelihood, which is maximized; the cost is its negative.)
#
# Train both neurons with tracegrad's own SGD, Nielsen's learning rate
# :math:`\eta = 0.15`, and record the output and the gradient at every step.

x, y = np.array([1.0]), np.array([0.0])


def quadratic(a, y):
    return 0.5 * tg.losses.mse(a, y, reduction="sum")


def train_neuron(cost, steps=300, eta=0.15):
    """Train a = sigmoid(w x + b) from w = b = 2; return outputs and dC/dw per step."""
    w = tg.nn.Parameter(np.array([2.0]))
    b = tg.nn.Parameter(np.array([2.0]))
    opt = tg.optim.SGD([w, b], lr=eta)
    outputs, grads = [], []
    for _ in range(steps):
        a = tg.sigmoid(w * x + b)
        C = cost(a, y)
        opt.zero_grad()
        C.backward()
        outputs.append(a.item())
        grads.append(w.grad.item())
        opt.step()
    return np.array(outputs), np.array(grads)


a_quad, g_quad = train_neuron(quadratic)
a_ce, g_ce = train_neuron(tg.losses.binary_cross_entropy)

sigma4 = 1 / (1 + math.exp(-4))  # computed apart from tracegrad, from the definition
print(f"start: a = sigma(4) = {sigma4:.5f}, sigma'(4) = {sigma4 * (1 - sigma4):.5f}")
print(f"dC/dw at the start: quadratic {g_quad[0]:.5f}, cross-entropy {g_ce[0]:.5f}")
print(f"their ratio: {g_quad[0] / g_ce[0]:.5f}")
for n in (50, 100, 200, 300):
    print(
        f"after {n:3d} steps: a = {a_quad[n - 1]:.3f} (quadratic), "
        f"{a_ce[n - 1]:.3f} (cross-entropy)"
    )

# The gradients are exactly the formulas above: (a - y) sigma'(z) x and (a - y) x.
assert abs(g_ce[0] - sigma4) < 1e-12
assert abs(g_quad[0] / g_ce[0] - sigma4 * (1 - sigma4)) < 1e-12
# Judged by the same yardstick, the error (a - y)^2 / 2, cross-entropy is far ahead
# after 100 steps: the quadratic neuron has hardly left its saturated start.
n_steps = 100
err_quad, err_ce = 0.5 * a_quad[n_steps - 1] ** 2, 0.5 * a_ce[n_steps - 1] ** 2
print(f"(a - y)^2 / 2 after {n_steps} steps: quadratic {err_quad:.4f}, cross-entropy {err_ce:.6f}")
assert a_quad[n_steps - 1] > 0.9 and err_ce < err_quad / 100

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.8))
steps = np.arange(1, len(a_quad) + 1)
ax1.plot(steps, a_quad, label="quadratic cost")
ax1.plot(steps, a_ce, label="cross-entropy")
ax1.set(xlabel="step", ylabel="output a (target 0)", title="Starting badly wrong: w = b = 2")
ax1.legend()
ax2.plot(steps, g_quad, label=r"quadratic: $(a-y)\,\sigma'(z)\,x$")
ax2.plot(steps, g_ce, label=r"cross-entropy: $(a-y)\,x$")
ax2.set(xlabel="step", ylabel=r"$\partial C/\partial w$", title="The gradient that drives it")
ax2.legend()
fig.tight_layout()

# %%
# The right panel is the whole story. The quadratic neuron's gradient starts near 0.017
# and only grows once :math:`a` has crept off the flat part of the sigmoid; the
# cross-entropy gradient is largest at the start, where the error is largest. In a
# network the same cancellation happens for the output error
# :math:`\delta^{(L)} = a^{(L)} - y` of sigmoid outputs with cross-entropy (and of
# softmax outputs with the multi-class cross-entropy, which is why
# ``tg.losses.cross_entropy`` takes the logits :math:`z^{(L)}` and applies the softmax
# itself).

# %%
# 2. Sigmoid, tanh and ReLU: gradients through depth
# --------------------------------------------------
#
# Backpropagation multiplies by :math:`h'(z)` once per layer,
# :math:`\delta^{(l-1)} = h'(z^{(l-1)}) \odot (W^{(l)})^T \delta^{(l)}`. The sigmoid's
# derivative is at most :math:`\sigma'(0) = 1/4`, so each layer can shrink
# :math:`\delta` by four or more; tanh, :math:`\tanh z = 2\sigma(2z) - 1`, has a
# derivative four times larger, :math:`\tanh'(0) = 1`; ReLU's derivative is exactly 1
# wherever the unit is on, however large :math:`z` is. First the derivatives
# themselves, taken by tracegrad's autograd:

zs = np.linspace(-5, 5, 201)
derivative = {}
for name, h in (("sigmoid", tg.sigmoid), ("tanh", tg.tanh), ("relu", tg.relu)):
    z = tg.Tensor(zs, requires_grad=True)
    h(z).sum().backward()  # each output depends on its own z only, so z.grad is h'(z)
    derivative[name] = z.grad.copy()
at0 = {name: d[100] for name, d in derivative.items()}  # zs[100] == 0
print(f"h'(0): sigmoid {at0['sigmoid']}, tanh {at0['tanh']}")
assert at0["sigmoid"] == 0.25 and at0["tanh"] == 1.0  # the notes' "four times"
assert derivative["sigmoid"].max() == 0.25 and derivative["relu"][zs > 0].min() == 1.0
assert np.allclose(np.tanh(zs), 2 / (1 + np.exp(-2 * zs)) - 1)  # tanh z = 2 sigma(2z) - 1

# %%
# Now a deep network: ten Linear layers of 32 units (nine hidden layers), at
# initialization, on a batch of random inputs with random labels. For each layer we
# measure :math:`\lVert \partial C / \partial W^{(l)} \rVert`, the size of the step
# SGD would take there. ``tg.nn.MLP`` initializes sigmoid and tanh layers with Glorot's
# scheme and ReLU layers with He's (``init="auto"``); a fourth network gives ReLU the
# PyTorch default initialization, :math:`U(\pm 1/\sqrt{n_{in}})`, instead.

rng = np.random.default_rng(0)
X_deep = rng.normal(size=(128, 32))
y_deep = rng.integers(0, 10, size=128)
sizes = [32] + [32] * 9 + [10]


def layer_gradient_norms(activation, init="auto"):
    model = tg.nn.MLP(sizes, activation, init=init, rng=0, dtype=np.float64)
    tg.losses.cross_entropy(model(X_deep), y_deep).backward()
    return np.array([np.linalg.norm(layer.weight.grad) for layer in model.linears])


norms = {
    "sigmoid (Glorot)": layer_gradient_norms("sigmoid"),
    "tanh (Glorot)": layer_gradient_norms("tanh"),
    "ReLU (He)": layer_gradient_norms("relu"),
    "ReLU (PyTorch default)": layer_gradient_norms("relu", init="torch"),
}
ratio = {name: n[0] / n[-1] for name, n in norms.items()}
for name, r in ratio.items():
    print(f"{name:24s} first layer / last layer = {r:.1e}")

# %%
# Nine sigmoid layers lie between the first weight matrix and the output, each
# scaling the backward signal by roughly :math:`\sigma' \approx 1/4` (Glorot's weights
# keep :math:`W^T` itself from growing or shrinking it), so we expect a ratio near
# :math:`(1/4)^9 \approx 4 \times 10^{-6}`: six orders of magnitude.

expected = 0.25**9
assert expected / 10 < ratio["sigmoid (Glorot)"] < expected * 10
assert ratio["ReLU (He)"] > 0.1  # the first layer learns about as fast as the last
assert ratio["tanh (Glorot)"] > 0.1
# ReLU alone is not the cure: with weights too small for it the gradient fades too.
assert ratio["ReLU (PyTorch default)"] < 0.1

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.8))
for name, d in derivative.items():
    ax1.plot(zs, d, label=name)
ax1.set(xlabel="z", ylabel="h'(z)", title="Derivatives of the activations")
ax1.legend()
layers = np.arange(1, len(sizes))
for name, n in norms.items():
    ax2.semilogy(layers, n, marker="o", label=name, ls="--" if "default" in name else "-")
ax2.set(xlabel="layer l", ylabel=r"$\|\partial C/\partial W^{(l)}\|$", xticks=layers)
ax2.set_title("Gradient size per layer, at initialization")
ax2.legend(fontsize=8)
fig.tight_layout()

# %%
# He initialization draws :math:`W` with variance :math:`2/n_{in}`: ReLU zeroes about
# half of its inputs, and the factor 2 makes up for that, so the signal keeps its size
# forward and backward. The PyTorch default has variance :math:`1/(3 n_{in})`, six
# times smaller, and every ReLU layer shrinks the gradient again.

# %%
# 3. Dropout: on in training, off in evaluation
# ---------------------------------------------
#
# Dropout zeroes each hidden activation with probability :math:`p` while training,
# with a fresh random mask at every forward pass, so no unit can rely on a particular
# other unit being there. (The notes draw the mask once per epoch; tracegrad, like
# PyTorch and Keras, draws a new one for every minibatch.) tracegrad, like PyTorch, uses *inverted*
# dropout: the surviving activations are multiplied by :math:`1/(1-p)`, so the expected
# activation is unchanged,
#
# .. math::
#
#    \mathbb{E}[\tilde a] = (1 - p) \cdot \frac{a}{1 - p} + p \cdot 0 = a ,
#
# and at evaluation time dropout is simply the identity: nothing has to be rescaled.

drop = tg.nn.Dropout(p=0.5, rng=0)
a_hidden = tg.Tensor(np.ones((1000, 100)), requires_grad=True)
out = drop(a_hidden)  # a Module starts in training mode
kept = out.data != 0
dropped, survivors = 1 - kept.mean(), np.unique(out.data[kept])
print(
    f"training: {dropped:.3f} of the units dropped, survivors = {survivors}, "
    f"mean activation {out.data.mean():.3f}"
)
assert abs(dropped - 0.5) < 0.01  # 100 000 coin flips: the std is 0.0016
assert np.all(out.data[kept] == 2.0)  # 1 / (1 - p)
assert abs(out.data.mean() - 1.0) < 0.02  # the expected activation is preserved
out.sum().backward()
assert np.array_equal(a_hidden.grad, out.data)  # backprop passes through the same mask
assert not np.array_equal(drop(a_hidden).data, out.data)  # a new mask every call

drop.eval()
assert np.array_equal(drop(a_hidden).data, a_hidden.data)  # evaluation: the identity
print("evaluation: the input comes out unchanged")

# %%
# Does it help? Give a network far more capacity than 80 noisy points need and it
# starts to fit their noise. Train the same network (two hidden layers of 64 ReLU units) with and
# without dropout on 80 points of the two-moons data set, and test it on 1000 fresh
# points. ``model.eval()`` switches dropout off before measuring.

moons_train = tg.datasets.moons(80, noise=0.3, seed=1)
moons_test = tg.datasets.moons(1000, noise=0.3, seed=2)
scores = {}
for p in (0.0, 0.5):
    model = tg.nn.MLP([2, 64, 64, 2], "relu", dropout=p, rng=0)
    opt = tg.optim.Adam(model.parameters(), lr=0.01)
    tg.training.fit(
        model, tg.losses.cross_entropy, opt, moons_train, epochs=300, batch_size=20, rng=0
    )
    model.eval()
    train_acc = tg.training.evaluate(model, moons_train.X, moons_train.y)["accuracy"]
    test_acc = tg.training.evaluate(model, moons_test.X, moons_test.y)["accuracy"]
    scores[p] = (train_acc, test_acc)
    print(
        f"dropout p = {p}: train accuracy {train_acc:.3f}, test accuracy {test_acc:.3f}, "
        f"gap {train_acc - test_acc:.3f}"
    )

(train0, test0), (train5, test5) = scores[0.0], scores[0.5]
assert train0 > test0 + 0.05  # without dropout it overfits
assert train5 - test5 < train0 - test0  # dropout narrows the gap ...
assert test5 >= test0  # ... without costing accuracy on new data

# %%
# The gain is a few points of test accuracy, and dropout trains a little worse on the
# training set itself: that is the point, it trades memorization for generalization.

# %%
# 4. Minibatches and epochs
# -------------------------
#
# The full gradient of a cost averaged over :math:`N` samples is the average of
# :math:`N` per-sample gradients, one backward pass per sample (or one big pass over
# all of them). Stochastic gradient descent steps after each *minibatch* of :math:`B`
# samples instead; one *epoch* is one pass through the whole training set, so it takes
# :math:`\lceil N/B \rceil` steps, and ``tg.datasets.Batches`` visits every sample
# exactly once per epoch, in a fresh order each time.

moons = tg.datasets.moons(1024, noise=0.2, seed=0)
X, y = moons.X.astype(np.float64), moons.y
N = len(X)
batches = tg.datasets.Batches(X, y, batch_size=32, rng=np.random.default_rng(0))
print(f"{N} samples in batches of 32: {len(batches)} steps per epoch")
assert len(batches) == math.ceil(N / 32) == 32
assert len(tg.datasets.Batches(X[:1000], y[:1000], batch_size=32)) == 32  # 31 x 32 + 8

net = tg.nn.MLP([2, 16, 2], "tanh", rng=0, dtype=np.float64)
trainer = tg.training.Trainer(net, tg.losses.cross_entropy, tg.optim.SGD(net.parameters(), lr=0.1))
trainer.fit((X, y), epochs=3, batch_size=32)
print(f"3 epochs of training took {trainer.step} steps")
assert trainer.step == 3 * len(batches)

# %%
# How good is a minibatch gradient? Freeze the network, compute the full gradient
# :math:`g` once, and compare it with minibatch gradients :math:`g_B`. The cost is a
# mean, so over one epoch of equal-sized batches the minibatch gradients average to
# *exactly* :math:`g`: each is an unbiased estimate. Its mean squared error (the
# variance of the estimate) falls like :math:`1/B`, so its typical error, the standard
# deviation, falls like :math:`1/\sqrt{B}`: for a batch drawn without replacement,
#
# .. math::
#
#    \mathbb{E}\,\lVert g_B - g \rVert^2 = \frac{s^2}{B}\,\frac{N - B}{N},
#    \qquad s^2 = \frac{1}{N-1}\sum_{i=1}^N \lVert g_i - g \rVert^2 ,
#
# the textbook variance of a sample mean, with :math:`s^2` measured from the
# per-sample gradients :math:`g_i`.


def gradient(xb, yb):
    """dC/dtheta of the mean cross-entropy on a batch, all parameters in one vector."""
    net.zero_grad()
    tg.losses.cross_entropy(net(xb), yb).backward()
    return np.concatenate([p.grad.ravel() for p in net.parameters()])


g = gradient(X, y)
epoch_grads = [gradient(xb, yb) for xb, yb in batches]
print(
    f"|mean of one epoch's minibatch gradients - full gradient| = "
    f"{np.abs(np.mean(epoch_grads, axis=0) - g).max():.1e}"
)
assert np.allclose(np.mean(epoch_grads, axis=0), g, rtol=0, atol=1e-12)

per_sample = np.array([gradient(X[i : i + 1], y[i : i + 1]) for i in range(N)])
s2 = np.sum((per_sample - g) ** 2) / (N - 1)
draws = np.random.default_rng(1)
print(f"|g|^2 = {g @ g:.3f}, s^2 = {s2:.3f}")
print("   B   measured E|g_B - g|^2   theory")
for B in (1, 4, 16, 64, 256):
    noise = np.mean(
        [
            np.sum((gradient(X[idx], y[idx]) - g) ** 2)
            for idx in (draws.choice(N, B, replace=False) for _ in range(500))
        ]
    )
    theory = s2 / B * (N - B) / N
    print(f"{B:4d}   {noise:20.4f}   {theory:.4f}")
    assert 0.7 < noise / theory < 1.3  # 500 draws: the estimate is good to ~10 %

# %%
# The network has trained for three epochs, so it is close to a minimum: the full
# gradient is small, and the noise of a single-sample gradient is hundreds of times
# larger than :math:`\lVert g \rVert^2`. Near a minimum a minibatch gradient is mostly
# noise, and only the average over many steps points the right way; a larger batch
# divides the mean squared error by :math:`B` (and then some, by the factor
# :math:`(N-B)/N`), so the typical error only by :math:`\sqrt{B}`: 64 times the batch
# for 8 times less noise.
# A minibatch costs :math:`B/N` of a full pass, so one epoch of minibatch steps costs
# what one full-batch step costs and takes :math:`N/B` steps instead of one. That is
# the bargain of SGD; its price is the noise, which the next section deals with.

assert s2 > 100 * (g @ g)  # near the minimum, noise dominates a single-sample gradient

# %%
# 5. Learning-rate decay
# ----------------------
#
# Because each step follows a noisy :math:`g_B`, SGD with a constant learning rate
# :math:`\mu` never settles: near the minimum the steps are dominated by the noise, and
# the parameters keep jittering in a region whose size grows with :math:`\mu`. A
# large rate gets there fast and jitters widely; a small one jitters little but takes
# long to get there. Decaying the rate gives both. The notes' recurrence
# :math:`\mu_{k+1} = \mu_k / (1 + \text{decay})` multiplies the rate by the same factor
# every step, which is ``tg.optim.ExponentialDecay(mu0, 1 / (1 + decay))``;
# ``tg.optim.InverseTimeDecay(mu0, decay)`` is
# :math:`\mu_k = \mu_0 / (1 + \text{decay}\cdot k)`, the ``decay`` argument of Keras's
# classic optimizers (and of ``tracegrad train --lr-decay``, per epoch), which halves
# the rate at :math:`k = 1/\text{decay}` and then falls more and more slowly.
# ``StepDecay`` and ``CosineDecay`` are the other two schedules.

mu0, decay = 0.1, 0.01
mu = mu0
for _ in range(500):
    mu = mu / (1 + decay)  # the notes' recurrence, step by step
assert math.isclose(tg.optim.ExponentialDecay(mu0, 1 / (1 + decay))(500), mu, rel_tol=1e-12)
assert tg.optim.InverseTimeDecay(mu0, decay)(100) == mu0 / 2

# %%
# A linear regression shows the effect cleanly, because its best possible fit is
# known in closed form (least squares, computed here with NumPy, apart from tracegrad).
# Train ``tg.nn.Linear`` with minibatches of 4 under three learning-rate plans, and
# after each epoch record the *excess* cost: how far the mean squared error is above
# the least-squares minimum. A ``LearningRateScheduler`` callback sets the rate before
# every step from the schedule.

rng = np.random.default_rng(0)
n, d = 256, 5
X_lin = rng.normal(size=(n, d))
y_lin = X_lin @ rng.normal(size=(d, 1)) + 0.5 * rng.normal(size=(n, 1))
A = np.hstack([X_lin, np.ones((n, 1))])
best_cost = np.mean((A @ np.linalg.lstsq(A, y_lin, rcond=None)[0] - y_lin) ** 2)


class ExcessCost(tg.training.Callback):
    """After each epoch, the full-data MSE minus the least-squares minimum."""

    def __init__(self):
        self.values = []

    def on_epoch_end(self, trainer, epoch, logs):
        layer = trainer.model
        predictions = X_lin @ layer.weight.data.T + layer.bias.data
        self.values.append(np.mean((predictions - y_lin) ** 2) - best_cost)


epochs = 40
steps_per_epoch = n // 4
plans = {
    "constant 0.1": (0.1, None),
    "constant 0.01": (0.01, None),
    "InverseTimeDecay(0.1, 0.01)": (0.1, tg.optim.InverseTimeDecay(0.1, 0.01)),
    "CosineDecay(0.1, all steps)": (0.1, tg.optim.CosineDecay(0.1, epochs * steps_per_epoch)),
}
excess = {}
for name, (lr, schedule) in plans.items():
    layer = tg.nn.Linear(d, 1, rng=0, dtype=np.float64)
    record = ExcessCost()
    callbacks = [record]
    if schedule is not None:
        callbacks.append(tg.training.LearningRateScheduler(schedule, per="batch"))
    opt = tg.optim.SGD(layer.parameters(), lr=lr)
    tg.training.fit(
        layer,
        tg.losses.mse,
        opt,
        (X_lin, y_lin),
        epochs=epochs,
        batch_size=4,
        callbacks=callbacks,
        rng=0,
    )
    excess[name] = np.array(record.values)
    print(
        f"{name:28s} excess cost after epoch 1: {excess[name][0]:.1e}, "
        f"over the last 5 epochs: {excess[name][-5:].mean():.1e}"
    )

final = {name: v[-5:].mean() for name, v in excess.items()}
inv = "InverseTimeDecay(0.1, 0.01)"
assert final[inv] < final["constant 0.1"] / 100  # a much lower floor than the large rate
assert final[inv] < final["constant 0.01"] / 5  # ... and than the small rate
assert excess[inv][0] < excess["constant 0.01"][0] / 5  # while starting far faster than 0.01
assert excess[inv][0] < 10 * excess["constant 0.1"][0]  # ... and within a few times of 0.1
assert final["CosineDecay(0.1, all steps)"] < final["constant 0.01"]

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.8))
k = np.arange(epochs * steps_per_epoch)
shown = {
    "InverseTimeDecay(0.1, 0.01)": tg.optim.InverseTimeDecay(0.1, 0.01),
    "ExponentialDecay(0.1, 0.999)": tg.optim.ExponentialDecay(0.1, 0.999),
    "StepDecay(0.1, 640, 0.5)": tg.optim.StepDecay(0.1, 640, 0.5),
    "CosineDecay(0.1, 2560)": tg.optim.CosineDecay(0.1, epochs * steps_per_epoch),
}
for name, schedule in shown.items():
    ax1.plot(k, [schedule(int(i)) for i in k], label=name)
ax1.set(xlabel="step k", ylabel=r"learning rate $\mu_k$", title="tg.optim's schedules")
ax1.legend(fontsize=8)
for name, v in excess.items():
    ax2.semilogy(np.arange(1, epochs + 1), v, label=name)
ax2.set(xlabel="epoch", ylabel="MSE - least-squares minimum", title="Effect on an SGD run")
ax2.legend(fontsize=8)
fig.tight_layout()

# %%
# The constant rate 0.1 is close after one epoch and then wanders; 0.01 is slow to
# arrive and then stuck at its own, lower, floor; the decaying rates start close to
# 0.1 and keep improving. CosineDecay, whose rate is still almost 0.1 during the first
# epoch, is exactly as far after it as the constant 0.1; InverseTimeDecay, whose rate
# has already fallen to :math:`0.1/(1 + 0.01 \cdot 64) \approx 0.06` by the end of
# that epoch, a few times further, and still far ahead of 0.01. Theory agrees: SGD
# converges when the rates satisfy
# :math:`\sum_k \mu_k = \infty` (it can travel any distance) and
# :math:`\sum_k \mu_k^2 < \infty` (the noise it accumulates stays finite), which a
# :math:`1/k` decay satisfies and a constant rate does not.

# %%
# 6. Momentum, Nesterov, Adagrad, RMSProp and Adam on a 2-D surface
# -----------------------------------------------------------------
#
# The optimizers in ``tg.optim`` change the step, not the gradient. To *see* what they
# do, let them minimize a function of two numbers, Rosenbrock's banana
#
# .. math::
#
#    f(x, y) = (1 - x)^2 + 100\,(y - x^2)^2 ,
#
# whose minimum :math:`f = 0` at :math:`(1, 1)` lies at the end of a long, curved,
# nearly flat valley with steep walls: the shape that makes plain gradient descent
# slow, since a step that is safe across the valley is tiny along it. The two numbers
# are one ``tg.nn.Parameter`` of two elements, and each optimizer is used exactly as it
# would be for a network.


def rosenbrock(p):
    x, y = p[0], p[1]
    return (1 - x) ** 2 + 100 * (y - x * x) ** 2


def path(make_optimizer, steps=2000, start=(-1.5, 2.0)):
    p = tg.nn.Parameter(np.array(start))
    opt = make_optimizer([p])
    points = [p.data.copy()]
    for _ in range(steps):
        opt.zero_grad()
        rosenbrock(p).backward()
        opt.step()
        points.append(p.data.copy())
    return np.array(points)


optimizers = {
    "SGD, lr 1e-3": lambda ps: tg.optim.SGD(ps, lr=1e-3),
    "momentum 0.9": lambda ps: tg.optim.SGD(ps, lr=1e-3, momentum=0.9),
    "Nesterov 0.9": lambda ps: tg.optim.SGD(ps, lr=1e-3, momentum=0.9, nesterov=True),
    "Adagrad, lr 1": lambda ps: tg.optim.Adagrad(ps, lr=1.0),
    "RMSProp, lr 3e-3": lambda ps: tg.optim.RMSProp(ps, lr=3e-3),
    "Adam, lr 0.1": lambda ps: tg.optim.Adam(ps, lr=0.1),
}
paths = {name: path(make) for name, make in optimizers.items()}
minimum = np.array([1.0, 1.0])
distance = {name: np.linalg.norm(pts - minimum, axis=1) for name, pts in paths.items()}


def steps_to_reach(name, radius=0.05):
    """The first step at which the path is within `radius` of the minimum, or None."""
    inside = np.flatnonzero(distance[name] < radius)
    return int(inside[0]) if inside.size else None


print("optimizer         first step |dx|, |dy|   within 0.05 of (1, 1)   f after 2000 steps")
for name in optimizers:
    dx, dy = np.abs(paths[name][1] - paths[name][0])
    reached = steps_to_reach(name)
    when = "never" if reached is None else f"at step {reached}"
    f_end = rosenbrock(paths[name][-1])
    print(f"{name:17s} {dx:8.4f}, {dy:.4f}       {when:>14s}          {f_end:.1e}")

# %%
# **Momentum** keeps a velocity, :math:`v_{k+1} = \beta v_k - \mu\, g(w_k)`,
# :math:`w_{k+1} = w_k + v_{k+1}` (the notes' formula), so steps along the valley, where
# successive gradients agree, add up to :math:`1/(1-\beta) = 10` times the plain step,
# while the zigzag across it cancels out. ``tg.optim.SGD(momentum=...)`` stores the
# velocity in the units of the gradient (PyTorch's form, :math:`b = \beta b + g`,
# :math:`w \leftarrow w - \mu b`), which for a constant :math:`\mu` is the same
# update, as the notes' recurrence written out by hand confirms. **Nesterov** takes the
# gradient where the velocity is about to carry it, a look-ahead that corrects the
# velocity before it overshoots. On this surface that does not make its start calmer:
# its first steps are larger than momentum's (below) and zigzag widely across the
# valley, as the figure shows; once on the valley floor it follows it as closely as
# momentum does, and reaches the minimum a little sooner.

w_notes, v = np.array([-1.5, 2.0]), np.zeros(2)
for _ in range(50):
    p = tg.nn.Parameter(w_notes.copy())
    rosenbrock(p).backward()
    v = 0.9 * v - 1e-3 * p.grad
    w_notes = w_notes + v
assert np.allclose(w_notes, paths["momentum 0.9"][50], rtol=0, atol=1e-12)

sgd_steps = steps_to_reach("SGD, lr 1e-3")
momentum_steps = steps_to_reach("momentum 0.9")
nesterov_steps = steps_to_reach("Nesterov 0.9")
assert momentum_steps is not None and (sgd_steps is None or momentum_steps < sgd_steps)
assert nesterov_steps is not None and nesterov_steps <= momentum_steps

# %%
# **Adagrad**, **RMSProp** and **Adam** divide each coordinate's step by the root of
# its squared gradients: Adagrad by their running *sum*, RMSProp by a running *mean*
# :math:`v \leftarrow \alpha v + (1-\alpha) g^2`, Adam by a running mean too, with a
# running mean :math:`m` of the gradient on top and both corrected for starting at
# zero. Dividing by the gradient's own size makes the first step independent of it:
# Adagrad's and Adam's first steps are :math:`\mu` in every coordinate, whatever the
# gradient, the steep :math:`x` and the gentle :math:`y` alike. RMSProp, which has no
# bias correction, starts with :math:`v = (1-\alpha) g^2` and so takes a first step of
# :math:`\mu/\sqrt{1-\alpha} = 10\mu` with the default :math:`\alpha = 0.99`: one
# reason Adam's correction exists.


def first_step(name):
    return np.abs(paths[name][1] - paths[name][0])


assert np.allclose(first_step("Adam, lr 0.1"), 0.1, rtol=1e-6)
assert np.allclose(first_step("Adagrad, lr 1"), 1.0, rtol=1e-6)
assert np.allclose(first_step("RMSProp, lr 3e-3"), 3e-3 / math.sqrt(1 - 0.99), rtol=1e-6)
grad0 = tg.nn.Parameter(np.array([-1.5, 2.0]))
rosenbrock(grad0).backward()
assert np.allclose(first_step("SGD, lr 1e-3"), 1e-3 * np.abs(grad0.grad))  # plain: lr * g
assert np.allclose(first_step("momentum 0.9"), first_step("SGD, lr 1e-3"))  # no velocity yet
# Nesterov steps along g + beta * b, and b = g after the first gradient: 1.9 g.
assert np.allclose(first_step("Nesterov 0.9"), 1.9 * first_step("SGD, lr 1e-3"))

fig, axes = plt.subplots(1, 3, figsize=(15, 4.6))
gx, gy = np.meshgrid(np.linspace(-2, 2, 300), np.linspace(-1, 3.2, 300))
f_grid = (1 - gx) ** 2 + 100 * (gy - gx**2) ** 2
families = {
    "gradient and velocity": ["SGD, lr 1e-3", "momentum 0.9", "Nesterov 0.9"],
    "per-coordinate scaling": ["Adagrad, lr 1", "RMSProp, lr 3e-3", "Adam, lr 0.1"],
}
colors = dict(zip(optimizers, plt.rcParams["axes.prop_cycle"].by_key()["color"], strict=False))
for ax, (family, names) in zip(axes[:2], families.items(), strict=True):
    ax.contour(gx, gy, f_grid, levels=np.logspace(-1, 3.5, 14), colors="0.8", linewidths=0.7)
    # Wide first, the last one dashed and on top: all stay visible where paths coincide.
    styles = ((4.0, "-", 0.8, 2), (2.2, "-", 0.8, 2), (1.8, "--", 1.0, 3))
    for name, (width, line, opacity, z) in zip(names, styles, strict=True):
        pts = paths[name]
        ax.plot(
            pts[:, 0],
            pts[:, 1],
            lw=width,
            ls=line,
            color=colors[name],
            alpha=opacity,
            zorder=z,
            label=name,
        )
        # A dot every 100 steps (close dots: slow progress) and a square where it ends.
        ax.plot(
            pts[::100, 0], pts[::100, 1], "o", color=colors[name], markersize=width + 2, zorder=z
        )
        ax.plot(*pts[-1], "s", color=colors[name], markeredgecolor="k", markersize=7)
    ax.plot(-1.5, 2.0, "ko")
    ax.plot(1, 1, "k*", markersize=12)
    ax.set(xlim=(-2, 2), ylim=(-1, 3.2), xlabel="x", ylabel="y", title=family)
    ax.legend(fontsize=8, loc="lower right")
for name in optimizers:
    axes[2].semilogy(distance[name], color=colors[name], label=name)
axes[2].axhline(0.05, color="0.5", ls=":")
axes[2].set(xlabel="step", ylabel="distance to the minimum (1, 1)", title="How fast they get there")
axes[2].legend(fontsize=8)
fig.suptitle("2000 steps on Rosenbrock's function from (-1.5, 2), a dot every 100 steps")
fig.tight_layout()

# %%
# Plain SGD crawls along the valley floor and is still far from :math:`(1, 1)` after
# 2000 steps; momentum and Nesterov get there in a few hundred, Nesterov a little
# sooner (its very first steps jump further across the valley: it steps along
# :math:`g + \beta b`, which is :math:`1.9\,g` at the start). Adam's per-coordinate
# scaling takes it down the valley quickly too. Adagrad's sum only grows, so its
# steps keep shrinking and it stalls in the valley: good for sparse gradients that
# need large steps late, poor for a long walk. RMSProp's running mean forgets, so its
# step does not die out, but without momentum it creeps along the valley.
#
# None of these numbers transfer to a network unchanged (each optimizer has its own
# good learning rate), but the mechanisms do: momentum accumulates consistent
# directions, the adaptive methods equalize the scales of the coordinates, and Adam
# does both.
