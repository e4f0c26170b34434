"""
Andrew Ng's week 5, end to end
==============================

Week 5 of Andrew Ng's *Machine Learning* course turns the network of week 4 into
something that learns: a cost function :math:`J(\\Theta)`, backpropagation to get
its gradient, unrolling the weight matrices into one vector for an advanced
optimizer, gradient checking to catch bugs, random initialization to break the
symmetry, and finally all of it together on real handwritten digits.

This page does each step twice: once by hand in NumPy, in the course's notation
(:math:`\\Theta^{(l)}` with the bias in column 0, :math:`a^{(l)}`, :math:`z^{(l)}`,
:math:`\\delta^{(l)}`, :math:`\\Delta^{(l)}`, :math:`\\lambda`), and once with
tracegrad, and it asserts that the two agree. Keep the notes beside you: the
formulas are the same, the code is what the notes leave for you to write.
"""

# %%
# A small network to work on
# --------------------------
#
# The first sections use one small network, small enough that a per-example
# loop in plain Python is instant and a gradient check is cheap:
# :math:`L = 4` layers of :math:`s_1 = 2`, :math:`s_2 = 6`, :math:`s_3 = 4` and
# :math:`s_4 = K = 3` units, sigmoid everywhere (the course's network: each output
# is a logistic unit, one per class), trained on 60 points of three Gaussian
# blobs. Every size is different on purpose: a transposed matrix in the by-hand
# code then fails loudly instead of computing something plausible.
#
# tracegrad's :class:`~tracegrad.nn.Linear` keeps the weights
# :math:`W^{(l)}` (units out × units in) apart from the biases. The notes glue the
# bias on as column 0 of :math:`\Theta^{(l)}`, the weight of the always-one unit
# :math:`a_0^{(l)} = 1`; ``thetas`` does that gluing, so the NumPy code below
# reads like the notes.

import time

import matplotlib.pyplot as plt
import numpy as np
from sklearn.model_selection import ShuffleSplit, validation_curve

import tracegrad as tg
import tracegrad.sweep  # the sweep is a subpackage, imported on its own
from tracegrad import losses, nn
from tracegrad.sklearn import MLPClassifier

blobs = tg.datasets.blobs(n_samples=60, seed=0)
X, labels = blobs.X.astype(np.float64), blobs.y
m, K = len(X), 3
Y = np.eye(K)[labels]  # the notes' y^(i) as vectors: class k is the k-th unit vector
sizes = [2, 6, 4, K]
lam = 0.1  # lambda / m is what acts on the weights: 0.1 for 60 points is 1 for 600


def make_network(init="epsilon", seed=0):
    """The 2-6-4-3 sigmoid network, in float64 so that differences of 1e-4 are exact enough."""
    return nn.MLP(
        sizes, activation="sigmoid", output="sigmoid", init=init, rng=seed, dtype=np.float64
    )


def thetas(model):
    """The notes' Theta^(l): the bias as column 0, then the weights W^(l)."""
    return [np.column_stack([lin.bias.data, lin.weight.data]) for lin in model.linears]


model = make_network()
print(model)
print("Theta shapes:", [T.shape for T in thetas(model)])

# %%
# The regularized cost :math:`J(\Theta)`
# --------------------------------------
#
# The course's cost is the logistic-regression cost summed over the :math:`K`
# output units, averaged over the :math:`m` examples, plus a penalty on every
# weight that does not multiply a bias unit:
#
# .. math::
#
#    J(\Theta) = -\frac{1}{m} \sum_{i=1}^{m} \sum_{k=1}^{K}
#        \Big[ y_k^{(i)} \log h_\Theta(x^{(i)})_k
#              + (1 - y_k^{(i)}) \log\big(1 - h_\Theta(x^{(i)})_k\big) \Big]
#      + \frac{\lambda}{2m} \sum_{l=1}^{L-1} \sum_{i=1}^{s_l} \sum_{j=1}^{s_{l+1}}
#        \big(\Theta_{ji}^{(l)}\big)^2
#
# In the triple sum, :math:`i` counts the units of layer :math:`l` starting from
# 1, so column 0 of each :math:`\Theta^{(l)}` (the biases) is left out: a bias
# only shifts a unit's threshold, and shrinking it towards zero would not make the
# fitted function any smoother. By hand:


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def forward_by_hand(Thetas, X):
    """h_Theta(x) for every row of X: add the bias unit a_0 = 1, multiply, squash."""
    a = X
    for Theta in Thetas:
        a = sigmoid(np.column_stack([np.ones(len(a)), a]) @ Theta.T)
    return a


def cost_by_hand(Thetas, X, Y, lam):
    m = len(X)
    h = forward_by_hand(Thetas, X)
    data_term = -np.sum(Y * np.log(h) + (1 - Y) * np.log(1 - h)) / m
    penalty = lam / (2 * m) * sum(np.sum(Theta[:, 1:] ** 2) for Theta in Thetas)
    return data_term + penalty


# %%
# tracegrad has both halves: :func:`tracegrad.losses.binary_cross_entropy` for
# the bracket and :func:`tracegrad.losses.l2_penalty` for
# :math:`\frac{\lambda}{2m}\sum\Theta^2` over the weight matrices only. One detail
# matters: like PyTorch, ``binary_cross_entropy`` averages by default over all
# :math:`m \times K` numbers, while the notes sum over :math:`k` and divide by
# :math:`m` only. ``reduction="sum"`` and a division by :math:`m` give the notes'
# :math:`J`.


def cost(model, X, Y, lam):
    m = len(X)
    h = model(X)
    return losses.binary_cross_entropy(h, Y, reduction="sum") / m + losses.l2_penalty(model, lam, m)


J_hand = cost_by_hand(thetas(model), X, Y, lam)
J_tg = cost(model, X, Y, lam).item()
print(f"J by hand  {J_hand:.12f}")
print(f"J by tracegrad {J_tg:.12f}")
assert abs(J_hand - J_tg) < 1e-12 * J_hand

# %%
# Two checks that do not depend on either implementation. With every weight at
# zero, each output is :math:`g(0) = 0.5`, so each of the :math:`K` terms of the
# bracket is :math:`\log 2` whatever the labels, and the penalty is zero:
# :math:`J = K \log 2`. And moving the biases leaves the penalty alone.

zero_model = make_network(init="zeros")
J_zero = cost(zero_model, X, Y, lam).item()
print(f"J at Theta = 0: {J_zero:.6f}   K log 2 = {K * np.log(2):.6f}")
assert abs(J_zero - K * np.log(2)) < 1e-12

before = losses.l2_penalty(model, lam, m).item()
for lin in model.linears:
    lin.bias.data += 5.0
moved = losses.l2_penalty(model, lam, m).item()
for lin in model.linears:
    lin.bias.data -= 5.0
print(f"penalty {before:.6f}, with every bias moved by 5: {moved:.6f}")
assert moved == before

# %%
# For training with :func:`tracegrad.training.fit`, the same penalty comes packaged
# as ``tg.compile.with_l2_penalty(loss, model, lam, m)``: it computes
# ``loss(out, y) + l2_penalty(model, lam, m)``, but in a form the compiled training
# step can read, so the step adds :math:`\frac{\lambda}{m}W` to each weight's
# gradient itself.

# %%
# Backpropagation with :math:`\Delta` accumulators
# ------------------------------------------------
#
# The notes' algorithm, for one example at a time:
#
# 1. forward: :math:`a^{(1)} = x`, then :math:`z^{(l+1)} = \Theta^{(l)} a^{(l)}`
#    and :math:`a^{(l+1)} = g(z^{(l+1)})`, with :math:`a_0^{(l)} = 1` added at
#    each layer;
# 2. the error of the output units, :math:`\delta^{(L)} = a^{(L)} - y`;
# 3. back through the layers,
#    :math:`\delta^{(l)} = \big((\Theta^{(l)})^T \delta^{(l+1)}\big) .* g'(z^{(l)})`
#    with :math:`g'(z^{(l)}) = a^{(l)} .* (1 - a^{(l)})`, dropping the entry of the
#    bias unit (nothing flows back into a constant 1), and no :math:`\delta^{(1)}`:
#    the inputs are data, not something to adjust;
# 4. accumulate :math:`\Delta^{(l)} \mathrel{+}= \delta^{(l+1)} (a^{(l)})^T`.
#
# After all :math:`m` examples,
# :math:`D^{(l)}_{ij} = \frac{1}{m}\Delta^{(l)}_{ij} + \frac{\lambda}{m}\Theta^{(l)}_{ij}`
# for :math:`j \ge 1` and :math:`D^{(l)}_{i0} = \frac{1}{m}\Delta^{(l)}_{i0}` (no
# penalty on the bias column, as in :math:`J`). The claim is that
# :math:`D^{(l)}_{ij} = \partial J / \partial \Theta^{(l)}_{ij}`.
#
# Why is :math:`\delta^{(L)}` just :math:`a^{(L)} - y`, with no :math:`g'`? The
# derivative of the logistic cost with respect to :math:`a` is
# :math:`(a - y) / (a(1-a))`, and the sigmoid's :math:`g'(z) = a(1-a)` cancels the
# denominator. That cancellation is a property of the pair sigmoid +
# cross-entropy; with the quadratic cost the :math:`g'` stays.


def backprop_by_hand(Thetas, X, Y, lam):
    m = len(X)
    Deltas = [np.zeros_like(Theta) for Theta in Thetas]
    for x, y in zip(X, Y, strict=True):
        a_with_bias = []  # a^(1), ..., a^(L-1), each with a_0 = 1 in front
        a = x
        for Theta in Thetas:
            a = np.concatenate([[1.0], a])
            a_with_bias.append(a)
            a = sigmoid(Theta @ a)
        delta = a - y  # delta^(L)
        for l in reversed(range(len(Thetas))):
            Deltas[l] += np.outer(delta, a_with_bias[l])
            if l > 0:  # delta^(l) for the hidden layers; drop the bias unit's entry
                a_l = a_with_bias[l][1:]
                delta = (Thetas[l].T @ delta)[1:] * a_l * (1 - a_l)
    D = []
    for Theta, Delta in zip(Thetas, Deltas, strict=True):
        regularization = lam / m * Theta
        regularization[:, 0] = 0.0  # the bias column is not penalized
        D.append(Delta / m + regularization)
    return D


D_hand = backprop_by_hand(thetas(model), X, Y, lam)

model.zero_grad()
cost(model, X, Y, lam).backward()
D_tg = [np.column_stack([lin.bias.grad, lin.weight.grad]) for lin in model.linears]

for l, (Dh, Dt) in enumerate(zip(D_hand, D_tg, strict=True), start=1):
    print(f"D^({l}) {Dh.shape}: largest |hand - tracegrad| = {np.abs(Dh - Dt).max():.1e}")
    assert np.allclose(Dh, Dt, rtol=1e-10, atol=1e-14)

# %%
# tracegrad never writes :math:`\delta` rules: its ``backward()`` walks the graph
# of the forward pass and applies the chain rule op by op (see the computational
# graph tutorial). That it lands on the same numbers as the delta rule, to
# rounding, is the point: the delta rule *is* the chain rule, organized by
# layer. (The loop over examples is how the notes present it; the vectorized
# version replaces the sum of outer products by one matrix product,
# :math:`\Delta^{(l)} = (\delta^{(l+1)})^T a^{(l)}` over all rows at once.)

# %%
# Unrolling parameters for an advanced optimizer
# ----------------------------------------------
#
# Optimizers such as ``fminunc`` in the course, or SciPy's L-BFGS and conjugate
# gradient here, know nothing of layers: they minimize a function of one vector
# :math:`\theta` and want its gradient as one vector too. So the matrices are
# *unrolled* into a vector, and the cost function *rolls* the vector back into
# matrices before the forward pass. The only rule is that both directions use the
# same order. :func:`tracegrad.nn.parameters_to_vector` goes one way and
# :func:`tracegrad.nn.vector_to_parameters` the other, in the order of
# ``model.parameters()`` (each layer's weight, then its bias; each matrix row by
# row, NumPy's order, where Octave's ``Theta1(:)`` goes column by column: a
# different order, and equally good, as long as it is used both ways).

params = model.parameters()
theta_vec = nn.parameters_to_vector(params)
print("parameters:", [tuple(p.shape) for p in params])
print("unrolled:", theta_vec.shape, "=", " + ".join(str(p.size) for p in params))
assert theta_vec.size == sum((a + 1) * b for a, b in zip(sizes[:-1], sizes[1:], strict=True))

nn.vector_to_parameters(np.zeros_like(theta_vec), params)  # roll in another vector...
assert abs(cost(model, X, Y, lam).item() - K * np.log(2)) < 1e-12  # ...it is the model now
nn.vector_to_parameters(theta_vec, params)  # and back
assert np.array_equal(nn.parameters_to_vector(params), theta_vec)

# %%
# :func:`tracegrad.optim.minimize` is that wrapper: given the model and a function
# returning :math:`J`, it hands SciPy a function of the unrolled vector that rolls
# it into the parameters, runs the forward pass and ``backward()``, and returns
# :math:`J` with the unrolled gradient. Backpropagation still computes the
# gradient; the optimizer only decides where to evaluate it next, with no
# learning rate to choose. Both methods start from the same initial weights.
#
# A local minimum is where the gradient vanishes, so besides a low cost the check
# is that :math:`\|\nabla J\|` at the answer is small.


def gradient_norm(model):
    model.zero_grad()
    cost(model, X, Y, lam).backward()
    return np.linalg.norm(np.concatenate([p.grad.ravel() for p in model.parameters()]))


J_start = cost(make_network(), X, Y, lam).item()
for method in ("L-BFGS-B", "CG"):
    net = make_network()
    result = tg.optim.minimize(
        net, lambda net=net: cost(net, X, Y, lam), method=method, maxiter=500
    )
    J_end = cost(net, X, Y, lam).item()
    accuracy = np.mean(tg.training.predict(net, X) == labels)
    grad = gradient_norm(net)
    print(
        f"{method:9s} J {J_start:.4f} -> {J_end:.4f} in {result.nit} iterations, "
        f"{result.nfev} evaluations; |grad J| = {grad:.1e}; training accuracy {accuracy:.2f}"
    )
    assert J_end < 0.2 * J_start and grad < 1e-3 and accuracy >= 0.95

# %%
# Gradient checking
# -----------------
#
# Backpropagation code can be subtly wrong and still make the cost go down, so
# the course checks it once against a numerical derivative. Nudge one parameter
# :math:`\theta_j` by :math:`\pm\varepsilon` and take the two-sided difference
#
# .. math::
#
#    \frac{\partial J}{\partial \theta_j} \approx
#    \frac{J(\theta + \varepsilon e_j) - J(\theta - \varepsilon e_j)}{2\varepsilon},
#    \qquad \varepsilon = 10^{-4},
#
# for every :math:`j`, and compare with backprop by the relative difference
# :math:`\|g_{num} - g_{bp}\| / \|g_{num} + g_{bp}\|`. The two-sided difference is
# accurate to :math:`O(\varepsilon^2)`, so a correct implementation gives
# something near :math:`10^{-9}` or below; a bug gives orders of magnitude more
# (anything from :math:`10^{-4}` to 1).
# :func:`tracegrad.check_model_gradients` does this for every parameter of a
# model (in float64).
#
# Check at a generic point, not a special one: ``init="epsilon"`` starts every bias
# at zero, where a bug in the bias gradient can hide (the next cell has one).
# PyTorch's default initializer, ``init="torch"``, draws the biases at random too.

model = make_network(init="torch")
check = tg.check_model_gradients(model, lambda: cost(model, X, Y, lam), eps=1e-4)
print(check.summary())
assert check.relative_difference < 1e-9

# %%
# The same numerical gradient also judges the by-hand :math:`D`, and shows what a
# common bug looks like: regularizing the bias column as well.


def as_theta_layout(details, model):
    """The numerical gradients of each layer, bias column first, like Theta."""
    names = [name for name, _ in model.named_parameters()]
    grads = [
        details[name]["numerical"].reshape(p.shape)
        for name, p in zip(names, model.parameters(), strict=True)
    ]
    return [np.column_stack([b, W]) for W, b in zip(grads[0::2], grads[1::2], strict=True)]


def relative_difference(a, b):
    a, b = np.concatenate([x.ravel() for x in a]), np.concatenate([x.ravel() for x in b])
    return np.linalg.norm(a - b) / np.linalg.norm(a + b)


numerical = as_theta_layout(check.details, model)
D_good = backprop_by_hand(thetas(model), X, Y, lam)
D_buggy = [
    D + lam / m * np.column_stack([T[:, 0], 0 * T[:, 1:]])
    for D, T in zip(D_good, thetas(model), strict=True)
]  # penalizes the biases too
good, buggy = relative_difference(numerical, D_good), relative_difference(numerical, D_buggy)
print(f"by-hand D: {good:.1e}    with the bias regularized too: {buggy:.1e}")
assert good < 1e-9 and buggy > 1e-4

# %%
# Why the check is switched off before training: it evaluates :math:`J` twice per
# parameter, while backprop gets all the partial derivatives for the price of
# a forward and a backward pass. On the network of the last section (64 inputs, 25
# hidden units, 10 outputs: 1,885 parameters) and 100 digits:

digits_train, digits_test = tg.datasets.load("digits")
X_digits, y_digits = digits_train.X[:100] / 16.0, digits_train.y[:100]
Y_digits = np.eye(10)[y_digits]
big = nn.MLP(
    [64, 25, 10], activation="sigmoid", output="sigmoid", init="epsilon", rng=0, dtype=np.float64
)


def one_backprop_step():
    big.zero_grad()
    cost(big, X_digits, Y_digits, lam).backward()


one_backprop_step()  # warm up
times = []
for _ in range(5):
    start = time.perf_counter()
    one_backprop_step()
    times.append(time.perf_counter() - start)
backprop_seconds = min(times)
start = time.perf_counter()
big_check = tg.check_model_gradients(big, lambda: cost(big, X_digits, Y_digits, lam))
check_seconds = time.perf_counter() - start
ratio = check_seconds / backprop_seconds
print(
    f"{big.num_parameters()} parameters: backprop {backprop_seconds * 1e3:.2f} ms, "
    f"gradient check {check_seconds:.2f} s ({2 * big.num_parameters()} evaluations of J): "
    f"{ratio:.0f} times slower; relative difference {big_check.relative_difference:.1e}"
)
# Two evaluations of J per parameter, each a forward pass costing a fair fraction of
# a forward-and-backward step: the check must be slower by a factor of the order of
# the number of parameters, not by a constant.
assert ratio > 0.1 * big.num_parameters() and big_check.relative_difference < 1e-9

# %%
# Random initialization: breaking the symmetry
# --------------------------------------------
#
# Why not start from :math:`\Theta = 0`, as logistic regression can? Because then
# every hidden unit of a layer computes the same function of the inputs: the same
# :math:`z`, the same :math:`a`. Their outgoing weights are equal too, so
# backprop hands each of them the same :math:`\delta`, and each of their incoming
# weight rows gets the same update. Equal before the step means equal after it,
# for ever: 25 hidden units that behave as one. The same holds for any start in
# which all the weights are equal, zero or not.
#
# The course's fix draws each weight uniformly from
# :math:`[-\varepsilon_{init}, \varepsilon_{init}]`, with
# :math:`\varepsilon_{init} = \sqrt{6} / \sqrt{L_{in} + L_{out}}` for a layer with
# :math:`L_{in}` inputs and :math:`L_{out}` outputs: different from unit to unit,
# and small enough that the sigmoids start in their steep middle, not in their
# flat tails. That is ``init="epsilon"``
# (:func:`tracegrad.nn.init.symmetric_uniform`); its biases start at zero, which is
# harmless once the weights differ.
#
# The three networks below are trained the same way (L-BFGS, 100 iterations, on
# 500 digits): from all-zero weights, from weights that are all 0.05, and from
# :math:`\varepsilon_{init}`.

X_sym, y_sym = digits_train.X[:500] / 16.0, digits_train.y[:500]
Y_sym = np.eye(10)[y_sym]


def all_equal(shape, rng, dtype):
    return nn.init.constant(shape, rng, dtype, value=0.05)


results = {}
for init in ("zeros", all_equal, "epsilon"):
    net = nn.MLP(
        [64, 25, 10], activation="sigmoid", output="sigmoid", init=init, rng=0, dtype=np.float64
    )
    tg.optim.minimize(net, lambda net=net: cost(net, X_sym, Y_sym, 1.0), maxiter=100)
    W1 = net.linears[0].weight.data  # row j: the weights into hidden unit j
    spread = np.abs(W1 - W1[0]).max()  # how far the hidden units are from the first one
    accuracy = np.mean(tg.training.predict(net, X_sym) == y_sym)
    name = getattr(init, "__name__", init)
    results[name] = W1
    print(
        f"{name:9s} largest |W1 - W1[0]| = {spread:.2e}, largest |W1| = {np.abs(W1).max():.2f}, "
        f"training accuracy {accuracy:.3f}"
    )
    if name != "epsilon":  # the weights moved, but every hidden unit is still the same unit
        assert spread < 1e-12 and np.abs(W1).max() > 0.2 and 0.3 < accuracy < 0.55
    else:
        assert spread > 0.5 and accuracy > 0.95

# %%
# The symmetric networks did learn something: one feature of the pixels (25
# times over) and the output layer on top of it get about 40% of the training
# digits right, four times chance, where 25 different features get them all.
# The weights into each hidden unit, drawn as the 8×8 image they multiply, show
# it: from equal weights, 25 copies of one feature; from random weights, 25
# different ones.


def mosaic(W, side=8, per_row=5):
    """The rows of W as side×side tiles, per_row across, with a blank line between."""
    rows = []
    for start in range(0, len(W), per_row):
        tiles = [
            np.pad(w.reshape(side, side), 1, constant_values=np.nan)
            for w in W[start : start + per_row]
        ]
        rows.append(np.hstack(tiles))
    return np.vstack(rows)


fig, axes = plt.subplots(1, 3, figsize=(10, 3.8))
for ax, (init, W1) in zip(axes, results.items(), strict=True):
    ax.imshow(mosaic(W1), cmap="RdBu_r", vmin=-np.abs(W1).max(), vmax=np.abs(W1).max())
    ax.set_title(f"init={init}")
    ax.axis("off")
fig.suptitle("weights into the 25 hidden units after training")
fig.tight_layout()

# %%
# Putting it together on the digits
# ---------------------------------
#
# The course's recipe: pick the architecture (64 pixel inputs, one hidden layer of
# 25 units, 10 outputs), initialize randomly, forward, cost, backprop, check the
# gradients once (done above), then let an advanced optimizer minimize
# :math:`J(\Theta)`. What is left is :math:`\lambda`, and that cannot be chosen
# on the training set, whose fit only ever improves as :math:`\lambda` shrinks. It is
# chosen on examples held out from training (a validation set), and the test set
# is used once, at the very end, to report how good the chosen model is.
#
# :class:`tracegrad.sklearn.MLPClassifier` is the same network behind
# scikit-learn's estimator interface, so scikit-learn's model-selection tools can
# run the sweep: ``validation_curve`` fits one network per :math:`\lambda` on the
# training part and scores it on the held-out part. ``solver="lbfgs"`` is the
# advanced optimizer of the unrolling section on the full batch, and ``alpha``
# is the notes' :math:`\lambda`: it adds :math:`\frac{\alpha}{2m}\sum\|W\|^2`,
# biases excluded. One difference from the course: with more than two classes
# the estimator uses a softmax output (one probability distribution over the 10
# digits) rather than 10 independent logistic units.
#
# (tracegrad's own sweep, :mod:`tracegrad.sweep`, runs the same search over
# ``tracegrad train``'s options; it is done below too.)

X_train, y_train = digits_train.X / 16.0, digits_train.y  # pixels 0..16 scaled to [0, 1]
X_test, y_test = digits_test.X / 16.0, digits_test.y
lambdas = np.array([0.001, 0.01, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0])
network = MLPClassifier(
    hidden_layer_sizes=(25,), activation="logistic", solver="lbfgs", max_iter=1000, random_state=0
)
held_out = ShuffleSplit(n_splits=1, test_size=0.25, random_state=0)  # one validation set

train_scores, val_scores = validation_curve(
    network, X_train, y_train, param_name="alpha", param_range=lambdas, cv=held_out
)
train_scores, val_scores = train_scores[:, 0], val_scores[:, 0]
for lam_, tr_, va_ in zip(lambdas, train_scores, val_scores, strict=True):
    print(f"lambda {lam_:5g}: training accuracy {tr_:.3f}, validation accuracy {va_:.3f}")
best_lambda = lambdas[np.argmax(val_scores)]
print("chosen lambda:", best_lambda)

fig, ax = plt.subplots(figsize=(6, 3.8))
ax.semilogx(lambdas, train_scores, "o-", label="training set")
ax.semilogx(lambdas, val_scores, "o-", label="validation set")
ax.axvline(best_lambda, color="grey", linestyle=":", label=f"chosen $\\lambda$ = {best_lambda:g}")
ax.set_xlabel("$\\lambda$")
ax.set_ylabel("accuracy")
ax.set_title("64-25-10 network on the digits, one fit per $\\lambda$")
ax.legend()
fig.tight_layout()

# %%
# Small :math:`\lambda`: the training set is fitted perfectly, and better than
# the held-out digits (the gap is overfitting: the network has learnt some
# peculiarities of its own 1,078 training digits). Large :math:`\lambda`: the
# penalty wins, the weights shrink towards zero and both accuracies fall together
# (underfitting). In between, from about 0.01 to 1, the validation accuracy is
# flat to within a few digits, more finely than 360 validation digits can
# resolve; the :math:`\lambda` with the best validation score is taken, and any
# other in that region would have done as well.

assert val_scores.max() > 0.94
assert train_scores[0] - val_scores[0] > 0.02  # overfitting at the smallest lambda...
assert val_scores[0] < val_scores.max()  # ...which a larger lambda improves on
assert val_scores[-1] < val_scores.max() - 0.1  # underfitting at the largest
assert 0.003 < best_lambda < 3  # the chosen lambda is inside the flat region

# %%
# The same search with tracegrad's own sweep, :func:`tracegrad.sweep.run_sweep`:
# a :class:`tracegrad.sweep.Space` of fixed ``tracegrad train`` settings and one
# swept axis, ``l2`` (the notes' :math:`\lambda`, the same
# :math:`\frac{\lambda}{2m}\sum\|W\|^2`), run here one trial after another. It
# holds out its own quarter of the training digits, so the scores differ digit by
# digit from scikit-learn's, and its network keeps the course's 10 logistic output
# units. From the command line it is ``tracegrad sweep --dataset digits --layers 25
# --activation sigmoid --optimizer lbfgs --epochs 300 --val-split 0.25 --scale max
# --l2 0.001,0.01,...``, its trials stored and resumable, with ``--folds K`` for
# cross-validation.

space = tg.sweep.Space(
    {
        "dataset": "digits",
        "layers": "25",
        "activation": "sigmoid",
        "optimizer": "lbfgs",
        "epochs": 300,  # L-BFGS iterations
        "val_split": 0.25,
        "scale": "max",  # pixels divided by 16, as above
    },
    [tg.sweep.Axis("l2", values=tuple(float(v) for v in lambdas))],
)
study = tg.sweep.run_sweep(space)
sweep_scores = {t.params["l2"]: t.value for t in study.trials}
for lam_ in lambdas:
    print(f"lambda {lam_:5g}: validation accuracy {sweep_scores[lam_]:.3f}")
sweep_best = study.best_params["l2"]
print("the sweep's best lambda:", sweep_best)
assert sweep_best <= 1  # the sweep's choice is in the flat region too...
assert sweep_scores[best_lambda] > max(sweep_scores.values()) - 0.01  # ...and so is ours
assert sweep_scores[30.0] < max(sweep_scores.values()) - 0.1  # the same underfitting

# %%
# Refit with the chosen :math:`\lambda` on the whole training part, then look at
# the test set, once. The estimator's final cost ``loss_`` is the cost with the
# notes' penalty: recomputing it from the fitted weights ``coefs_`` (biases,
# ``intercepts_``, left out of the penalty) gives the same number.

final = network.set_params(alpha=best_lambda).fit(X_train, y_train)

m_train = len(X_train)
probabilities = final.predict_proba(X_train)
data_term = -np.mean(np.log(probabilities[np.arange(m_train), y_train]))
penalty = best_lambda / (2 * m_train) * sum(np.sum(W.astype(np.float64) ** 2) for W in final.coefs_)
print(
    f"loss_ {final.loss_:.6f}; recomputed: {data_term:.6f} + {penalty:.6f} = "
    f"{data_term + penalty:.6f}"
)
assert abs(final.loss_ - (data_term + penalty)) < 1e-6  # the biases would add 1e-4

test_accuracy = final.score(X_test, y_test)
print(
    f"test accuracy with lambda = {best_lambda:g}: {test_accuracy:.4f} "
    f"({round(test_accuracy * len(y_test))} of {len(y_test)} digits)"
)
assert test_accuracy >= 0.95
