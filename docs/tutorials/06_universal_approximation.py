r"""
Universal approximation and basis functions
===========================================

A single neuron computes :math:`a = h(w^T x + b)`: whatever the activation :math:`h`, its
decision boundary :math:`w^T x + b = 0` is a straight line (a plane, in more dimensions).
Classic models get around this with *basis functions*: replace the input :math:`x` by
features :math:`\phi(x)` chosen by hand (powers, kernels), then fit a linear model on
them, :math:`\hat y = h(w^T \phi(x) + b)`. The course notes describe a neural network as the
same model with one difference: the basis functions have parameters of their own,
:math:`\phi(x; \theta)`, and they are learned together with :math:`w` by
backpropagation. A hidden layer *is* a set of adaptive basis functions,

.. math::

   \hat y(x) = h\Big(\sum_{j=1}^M w_j\, \phi_j(x; \theta_j) + b\Big), \qquad
   \phi_j(x; \theta_j) = h\big(w^{(1)}_j x + b^{(1)}_j\big),

and the universal approximation theorem says that with enough of them such a network
comes as close as we like to any continuous function on a bounded region (it does not
say how many are enough).

On notation: as in the other tutorials, :math:`z` is a weighted input and :math:`a` (or
:math:`\hat y`, for the network's output) an activation. The notes' MLP chapter uses the
two letters the other way round, writing :math:`z` for a unit's output; only the names
differ. Layers are numbered as in tracegrad's trace, from :math:`a^{(0)} = x`, so
:math:`W^{(1)}` is the hidden layer's weights and :math:`w^{(2)}` the output unit's (Ng's
notes count the input as layer 1, :math:`a^{(1)} = x`).

This tutorial shows both halves: XOR, which no linear model can classify and which a
hidden layer of two units turns into a linearly separable problem; then a one-input
function fitted with 1, 2, 4, 8 and 16 hidden units, each unit's basis function drawn.
"""

import matplotlib.pyplot as plt
import numpy as np

import tracegrad as tg
from tracegrad.universal import fit_widths

# %%
# XOR is not linearly separable
# -----------------------------
#
# The four XOR points: the class is 1 where the two inputs differ. For *any* linear score
# :math:`s(x) = w_1 x_1 + w_2 x_2 + b`,
#
# .. math::
#
#    s(0, 0) + s(1, 1) = 2b + w_1 + w_2 = s(0, 1) + s(1, 0).
#
# Classifying all four right needs :math:`s(0,0) < 0` and :math:`s(1,1) < 0` (the left
# side negative) and :math:`s(0,1) > 0`, :math:`s(1,0) > 0` (the right side positive): the
# same number cannot be both. So at most three of the four points can be right. A brute
# force search over a hundred thousand random lines agrees.

X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
Y = np.array([[0.0], [1.0], [1.0], [0.0]])

rng = np.random.default_rng(0)
lines = rng.normal(size=(100_000, 3))  # (w1, w2, b) per row
scores = X @ lines[:, :2].T + lines[:, 2]  # (4 points, 100000 lines)
correct = ((scores > 0) == (Y > 0.5)).sum(axis=0)
print("points right, over 100,000 random lines:", np.bincount(correct, minlength=5))
assert np.allclose(scores[0] + scores[3], scores[1] + scores[2])  # the identity above
assert correct.max() == 3  # three are possible, four never

# %%
# Logistic regression, the best linear model by cross-entropy, cannot do better. Its cost
# is convex, and XOR is unchanged by the swap :math:`x \mapsto 1 - x` (it maps each class
# onto itself), which turns :math:`w` into :math:`-w`; averaging a solution with its mirror
# image gives one at least as good with :math:`w = 0`. The best linear model therefore
# ignores its input, answers :math:`h = 1/2` everywhere (half the labels are 1), and its
# cost is exactly :math:`\ln 2`. Gradient descent with tracegrad finds just that:


def train(model, inputs, optimizer, steps):
    """Full-batch training on the four points; returns the last cost and the outputs."""
    for _ in range(steps):
        optimizer.zero_grad()
        cost = tg.losses.binary_cross_entropy(model(inputs), Y)
        cost.backward()
        optimizer.step()
    with tg.no_grad():
        return cost, model(inputs).numpy()


logistic = tg.nn.Sequential(tg.nn.Linear(2, 1, rng=0, dtype=np.float64), tg.nn.Sigmoid())
cost, h_linear = train(logistic, X, tg.optim.SGD(logistic.parameters(), lr=1.0), 2000)
w_linear = logistic[0].weight.data.ravel()
print(f"logistic regression: cost {cost.item():.6f} (ln 2 = {np.log(2):.6f}), "
      f"w = {w_linear.round(4)}, outputs {h_linear.ravel().round(3)}")  # fmt: skip
assert cost.item() >= np.log(2) - 1e-12  # never below the theoretical minimum
assert abs(cost.item() - np.log(2)) < 1e-4  # and it gets there
# The symmetry argument predicts more than the cost: the weights themselves go to zero
# and every output to exactly 1/2 (the input is ignored).
assert np.abs(w_linear).max() < 1e-6 and np.abs(h_linear - 0.5).max() < 1e-6

# %%
# A hidden layer makes XOR separable
# ----------------------------------
#
# Now put two sigmoid units between the input and the output. The output unit is still a
# logistic regression, but on the hidden activations
# :math:`\phi(x; \theta) = \sigma(W^{(1)} x + b^{(1)})` instead of on :math:`x`: the hidden
# layer is a learned feature map. Two units are the fewest that can work, and they do not
# always: the seed below is one that trains, and the next cell shows one that does not.

net = tg.nn.MLP([2, 2, 1], activation="sigmoid", output="sigmoid", rng=1, dtype=np.float64)
cost, h_net = train(net, X, tg.optim.Adam(net.parameters(), lr=0.1), 500)
with tg.no_grad():
    phi = net[1](net[0](X)).numpy()  # Linear W^(1), then the sigmoid: the basis functions
print(f"2-2-1 network: cost {cost.item():.4f}, outputs {h_net.ravel().round(3)}")
for xi, p in zip(X, phi, strict=True):
    print(f"x = {xi} -> phi(x) = {p.round(3)}")
assert np.array_equal(h_net.round(), Y)  # all four right
assert cost.item() < 0.05 * np.log(2)

# %%
# The same network and optimizer from the starting weights of seed 0 stall: two points
# are classified with confidence, the other two are stuck at :math:`h = 1/2`, and the
# cost sits at :math:`(2 \ln 2)/4 = \ln 2 / 2` (the two confident points cost almost
# nothing, each stuck one :math:`\ln 2`); 2,000 more steps did not get it out when we
# tried. Such starts are not rare for so small a network: of seeds 0 to 39, 21 stalled
# (17 here, 4 at another point). Restarting from other weights, as with seed 1 above, is
# the simple cure.

stuck = tg.nn.MLP([2, 2, 1], activation="sigmoid", output="sigmoid", rng=0, dtype=np.float64)
cost_stuck, h_stuck = train(stuck, X, tg.optim.Adam(stuck.parameters(), lr=0.1), 500)
print(f"seed 0: cost {cost_stuck.item():.4f} (ln 2 / 2 = {np.log(2) / 2:.4f}), "
      f"outputs {h_stuck.ravel().round(3)}")  # fmt: skip
assert abs(cost_stuck.item() - np.log(2) / 2) < 2e-3
assert (np.abs(h_stuck - 0.5) < 0.01).sum() == 2  # two points stuck at 1/2

# %%
# Back to the network that trained (seed 1). In its new coordinates the identity that
# doomed the linear model no longer holds,
# :math:`\phi(0,0) + \phi(1,1) \neq \phi(0,1) + \phi(1,0)`, because :math:`\phi` is not
# linear. And the four points *are* linearly separable there: a fresh logistic regression
# trained on :math:`\phi(x)` alone, knowing nothing of the network, classifies all four.

gap = (phi[0] + phi[3]) - (phi[1] + phi[2])
print("phi(0,0) + phi(1,1) - phi(0,1) - phi(1,0) =", gap.round(3))
assert np.abs(gap).max() > 0.5

on_phi = tg.nn.Sequential(tg.nn.Linear(2, 1, rng=0, dtype=np.float64), tg.nn.Sigmoid())
cost_phi, h_phi = train(on_phi, phi, tg.optim.SGD(on_phi.parameters(), lr=1.0), 2000)
print(f"logistic regression on phi(x): cost {cost_phi.item():.4f}, "
      f"outputs {h_phi.ravel().round(3)}")  # fmt: skip
assert np.array_equal(h_phi.round(), Y)
assert cost_phi.item() < 0.5 * np.log(2)  # far below the ln 2 of any line in x

# %%
# The picture: on the left the input space, where no line separates the red points from
# the blue; on the right the same four points at their hidden activations, with the
# output unit's line :math:`w^{(2)T} \phi + b^{(2)} = 0`.

W2, b2 = net.linears[1].weight.data.ravel(), net.linears[1].bias.data[0]
fig, (left, right) = plt.subplots(1, 2, figsize=(9, 4))
for ax, points, title in ((left, X, "input space x"), (right, phi, "hidden space phi(x)")):
    ax.scatter(points[:, 0], points[:, 1], c=Y[:, 0], cmap="coolwarm", s=140, edgecolors="k")
    # (0,0) and (1,1) land almost on one spot in phi-space: label one above, one below.
    for xi, p, offset in zip(X, points, [(8, 8), (8, 8), (8, 8), (8, -16)], strict=True):
        ax.annotate(f"({xi[0]:g},{xi[1]:g})", p, textcoords="offset points", xytext=offset)
    ax.set_xlim(-0.2, 1.3)
    ax.set_ylim(-0.2, 1.3)
    ax.set_title(title)
t = np.linspace(-0.2, 1.3, 2)
right.plot(t, -(W2[0] * t + b2) / W2[1], "k--", label="output unit: w·phi + b = 0")
right.legend(loc="lower right", fontsize="small")
left.set_xlabel("$x_1$")
left.set_ylabel("$x_2$")
right.set_xlabel(r"$\phi_1$")
right.set_ylabel(r"$\phi_2$")
fig.tight_layout()

# %%
# More units, better fits
# -----------------------
#
# Now the theorem itself: with more basis functions, a network fits more complicated
# functions. :func:`tracegrad.universal.fit_widths` (the machinery behind
# ``tracegrad demo universal``) fits a 1-:math:`M`-1 network of tanh units to noisy samples of
# a sine, for each width :math:`M`, by L-BFGS on the full data from three seeded starts,
# keeping the best; so the comparison is between what each width can represent, not
# between lucky and unlucky starts. We take three periods of :math:`\sin 3x` over
# :math:`[-\pi, \pi]`, with Gaussian noise of standard deviation 0.1.

noise = 0.1
data, fits = fit_widths((1, 2, 4, 8, 16), frequency=3.0, noise=noise, seed=0)
grid = np.linspace(-np.pi, np.pi, 400)
truth = np.sin(3 * grid)
errors = {}
for fit in fits:
    errors[fit.units] = np.mean((fit(grid).ravel() - truth) ** 2)  # against the noiseless sine
    print(f"{fit.units:2d} hidden unit{'s' * (fit.units > 1)}: training MSE {fit.mse:.4f}, "
          f"MSE against sin(3x) itself {errors[fit.units]:.4f}")  # fmt: skip

mse = {fit.units: fit.mse for fit in fits}
widths = sorted(mse)
# A wider network can do all a narrower one can (zero the extra output weights), so the
# best fit's error may only fall as units are added (2% slack for the optimizer).
assert all(mse[b] <= 1.02 * mse[a] for a, b in zip(widths, widths[1:], strict=False))
assert mse[16] < 0.05 * mse[1]  # 16 units fit far better than 1
# The floor is the noise: a good fit leaves residuals of variance noise**2 = 0.01.
assert 0.5 * noise**2 < mse[16] < 1.5 * noise**2
assert mse[1] > 20 * noise**2  # one monotone tanh cannot follow three periods
assert 0.5 * noise**2 < mse[8] < 1.5 * noise**2  # 8 units already reach the floor
assert max(errors[8], errors[16]) < 0.2 * noise**2  # both recover the sine, not the noise

# %%
# One unit is a single S-shaped step, so the best it can do is a compromise through the
# middle. Two units make one bump, four already follow the three periods roughly, eight
# reach the floor the noise sets, and sixteen fit no better: both come within a fifth of
# the noise variance of the noiseless sine. (Which of the two is closer to it depends on
# the noise drawn; over a few seeds neither was reliably ahead.)

fig, ax = plt.subplots(figsize=(7, 4.2))
ax.scatter(data.X[:, 0], data.y[:, 0], s=8, color="0.6", label="data")
colors = plt.get_cmap("viridis")(np.linspace(0, 0.9, len(fits)))
for color, fit in zip(colors, fits, strict=True):
    label = f"{fit.units} unit{'s' if fit.units > 1 else ''} (MSE {fit.mse:.4f})"
    ax.plot(grid, fit(grid), color=color, linewidth=2, label=label)
ax.set_xlabel("x")
ax.set_ylabel("network output")
ax.set_title("one hidden layer of tanh units fitted to sin(3x) + noise")
ax.legend(fontsize="small", loc="lower left")
fig.tight_layout()

# %%
# The basis functions of one network
# ----------------------------------
#
# Take the 8-unit network apart. Its model is a ``Normalization`` of :math:`x` (to zero
# mean and unit variance), then ``Linear(1, 8)``, ``Tanh``, ``Linear(8, 1)``. The hidden
# activations are the eight basis functions :math:`\phi_j(x; \theta_j) = \tanh(w^{(1)}_j x'
# + b^{(1)}_j)`, each a smooth step whose position and steepness training chose; the output
# is their weighted sum :math:`\sum_j w^{(2)}_j \phi_j(x) + b^{(2)}`. Summing the weighted
# curves below gives the fit back exactly. Notice that the weighted terms are large and
# mostly cancel: training looks for a good sum, not for tidy, separate bumps, which is one
# reason a hidden unit of a trained network is rarely meaningful on its own.

eight = next(fit for fit in fits if fit.units == 8)
normalize, mlp = eight.model[0], eight.model[1]
with tg.no_grad():
    hidden = mlp[1](mlp[0](normalize(grid.reshape(-1, 1)))).numpy()  # (400, 8): phi_j(x)
v, c = mlp.linears[1].weight.data.ravel(), mlp.linears[1].bias.data[0]
weighted = hidden * v  # w_j^(2) phi_j(x)
rebuilt = weighted.sum(axis=1) + c
assert hidden.shape == (400, 8)
# "large and mostly cancel": a single weighted term reaches several times the fit's size
print(f"largest weighted term {np.abs(weighted).max():.2f}, largest |fit| "
      f"{np.abs(rebuilt).max():.2f}")  # fmt: skip
assert np.abs(weighted).max() > 3 * np.abs(rebuilt).max()
assert np.allclose(rebuilt, eight(grid).ravel(), atol=1e-10)  # the fit is the sum

fig, (top, bottom) = plt.subplots(2, 1, figsize=(7, 6), sharex=True)
top.plot(grid, hidden, linewidth=1.5)
top.set_ylabel(r"$\phi_j(x)$")
top.set_title("the 8 hidden units: adaptive basis functions")
bottom.plot(grid, weighted, linewidth=1, alpha=0.7)
bottom.plot(grid, rebuilt, "k", linewidth=2.5, label=r"$\sum_j w_j \phi_j(x) + b$")
bottom.plot(grid, truth, "r--", linewidth=1, label="sin(3x)")
bottom.set_ylabel(r"$w_j \phi_j(x)$")
bottom.set_xlabel("x")
bottom.legend(fontsize="small", loc="lower left")
fig.tight_layout()
