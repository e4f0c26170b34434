"""
The computational graph
=======================

Backpropagation is the chain rule, applied to a graph. Every formula a network computes,
however long, is a chain of small operations (a multiplication, an addition, an
exponential), and each of them knows one thing only: how its output changes when one of
its inputs changes, its *local gradient*. Running the graph backwards and multiplying
local gradients along the way gives the derivative of the output with respect to every
input at once.

This tutorial follows the course notes on backpropagation: first the smallest graph,
:math:`f = wx + b` with the notes' numbers, forward and backward; then the sigmoid drawn
as a graph of primitives; and finally the notes' two TensorFlow lines, the hypothesis and
the cross-entropy cost, written with tracegrad and trained on XOR.
"""

import matplotlib.pyplot as plt
import numpy as np

import tracegrad as tg

# %%
# Forward: f = w x + b
# --------------------
#
# The notes split :math:`f = wx + b` in two steps, :math:`g = wx` and :math:`f = g + b`,
# and evaluate it at :math:`w = -2`, :math:`x = 5`, :math:`b = 3`. A :class:`tracegrad.Tensor`
# created with ``requires_grad=True`` is a leaf of the graph: every operation on it records
# its inputs and how to send a gradient back to them.

w = tg.Tensor(-2.0, requires_grad=True, name="w")
x = tg.Tensor(5.0, requires_grad=True, name="x")
b = tg.Tensor(3.0, requires_grad=True, name="b")

g = w * x
g.retain_grad()  # an interior node: keep its gradient too, to look at it
f = g + b
print(f"g = w x = {g.item():g}, f = g + b = {f.item():g}")
assert g.item() == -10.0 and f.item() == -7.0  # the notes' forward pass

# %%
# Before ``backward()`` the drawing shows values only: the graph as the forward pass
# left it. The boxes ``mul`` and ``add`` are the notes' :math:`g` and :math:`f`.

tg.draw(f)

# %%
# Backward: local gradient times upstream gradient
# ------------------------------------------------
#
# Each node needs two numbers: its **local gradient** (how its output moves with its
# input, known from its own formula alone) and the **upstream gradient** arriving from the
# output, :math:`\partial f / \partial(\text{its output})`. Their product is the gradient
# that node passes further back:
#
# .. math::
#
#    \frac{\partial f}{\partial w}
#    = \underbrace{\frac{\partial f}{\partial g}}_{\text{upstream}}
#      \underbrace{\frac{\partial g}{\partial w}}_{\text{local}}
#    = 1 \cdot x = 5, \qquad
#    \frac{\partial f}{\partial x} = \frac{\partial f}{\partial g}\,\frac{\partial g}{\partial x}
#    = 1 \cdot w = -2, \qquad
#    \frac{\partial f}{\partial b} = 1 .
#
# An addition passes its upstream gradient unchanged to both inputs (its local gradients
# are 1); a multiplication sends each input the upstream gradient times the *other* input.
# That is why :math:`\partial f/\partial w` is the value of :math:`x`, and the other way
# round: a change of :math:`w` by one unit moves :math:`f` by five, because it is
# multiplied by :math:`x = 5`.
#
# (If you are reading the notes alongside: three small slips crept into them, easy to
# trip over. Their line for :math:`\partial f/\partial w` writes the local factor as
# :math:`\partial g/\partial x` where it must be :math:`\partial g/\partial w`, though the
# result, :math:`1 \cdot x = 5`, is right; the sentences after it then swap the two
# influences, giving :math:`w` the :math:`-2` and :math:`x` the 5, before the next paragraph
# gets :math:`w`'s 5 right again; and their sigmoid is printed as :math:`1/(1 + e^{-2})`,
# a constant, where :math:`1/(1 + e^{-z})` is meant. The asserts below hold the correct
# versions.)

f.backward()
print(f"df/dg = {g.grad:g}, df/dw = {w.grad:g}, df/dx = {x.grad:g}, df/db = {b.grad:g}")
assert g.grad == 1.0
assert w.grad == x.item() == 5.0  # local gradient of w * x with respect to w is x
assert x.grad == w.item() == -2.0  # ... and with respect to x, it is w
assert b.grad == 1.0

# %%
# The same drawing after ``backward()``: each box now also carries its gradient
# :math:`\partial f / \partial(\text{node})`, the numbers of the equations above.

tg.draw(f)

# %%
# A derivative is a prediction of what a small change does. Nudging :math:`w` by
# :math:`\varepsilon` and watching :math:`f` (a *finite difference*) must give the same
# slope, with no chain rule at all: this is how every gradient in tracegrad is tested.


def f_of(w, x, b):
    return w * x + b


eps = 1e-6
numeric = [
    (f_of(-2 + eps, 5, 3) - f_of(-2 - eps, 5, 3)) / (2 * eps),
    (f_of(-2, 5 + eps, 3) - f_of(-2, 5 - eps, 3)) / (2 * eps),
    (f_of(-2, 5, 3 + eps) - f_of(-2, 5, 3 - eps)) / (2 * eps),
]
print("finite differences:", np.round(numeric, 6))
assert np.allclose(numeric, [w.grad, x.grad, b.grad], atol=1e-6)

# %%
# The sigmoid as a graph
# ----------------------
#
# The sigmoid :math:`\sigma(z) = 1 / (1 + e^{-z})` is no primitive either: it is a
# negation, an exponential, an addition and a division. Drawn as such, backpropagation
# through it is the same local-times-upstream rule four times over. We feed it a neuron's
# weighted input :math:`z = w_0 x_0 + w_1 x_1 + w_2` at the values of the picture the
# lecture borrows from Stanford's CS231n (:math:`w = (2, -3, -3)`, :math:`x = (-1, -2)`),
# which make :math:`z = 1`.


def neuron(sigmoid):
    """Fresh leaves (their gradients start empty) and sigmoid(w0 x0 + w1 x1 + w2)."""
    values = {"w0": 2.0, "x0": -1.0, "w1": -3.0, "x1": -2.0, "w2": -3.0}
    leaves = {n: tg.Tensor(v, requires_grad=True, name=n, dtype=np.float64)
              for n, v in values.items()}  # fmt: skip
    z = leaves["w0"] * leaves["x0"] + leaves["w1"] * leaves["x1"] + leaves["w2"]
    z.retain_grad()
    out = sigmoid(z)
    out.backward()
    return out, z, leaves


def composite_sigmoid(z):
    return 1.0 / (1.0 + tg.exp(-z))  # neg, exp, add, div: four primitives


out, z, leaves = neuron(composite_sigmoid)
tg.draw(out)

# %%
# Reading the drawing from the right: the division :math:`1/u` has local gradient
# :math:`-1/u^2`, the addition passes it on, the exponential multiplies it by
# :math:`e^{-z}`, the negation flips its sign. Their product is
# :math:`e^{-z}/(1 + e^{-z})^2`, which simplifies to the famous
# :math:`\sigma(z)\,(1 - \sigma(z))`. That simplification is why a library offers a *fused*
# ``tg.sigmoid``: one box with that one local gradient, and no overflow of :math:`e^{-z}`
# for very negative :math:`z`.

u = 1 + np.exp(-1.0)  # the value entering the division, at z = 1
chain = (-1 / u**2) * 1 * np.exp(-1.0) * (-1)  # div, add, exp, neg: right to left
print(f"product of the local gradients: {chain:.6f}; backprop's dsigma/dz: {z.grad:.6f}")
assert abs(chain - z.grad) < 1e-14

fused, z_fused, leaves_fused = neuron(tg.sigmoid)
tg.draw(fused)

# %%
# Both must agree with each other, with the closed form at :math:`z = 1`
# (:math:`\sigma(1) = e/(1+e) = 0.7310585786`, :math:`\sigma'(1) = 0.1966119332`), and with
# finite differences of the whole neuron with respect to each leaf.

s = np.e / (1 + np.e)
print(f"sigmoid(1) = {out.item():.10f} composite, {fused.item():.10f} fused, {s:.10f} e/(1+e)")
print(f"dsigma/dz  = {z.grad:.10f} composite, {z_fused.grad:.10f} fused, {s * (1 - s):.10f}")
assert abs(out.item() - 0.7310585786) < 1e-10 and abs(fused.item() - out.item()) < 1e-15
assert abs(z.grad - s * (1 - s)) < 1e-12 and abs(z.grad - 0.1966119332) < 1e-10
assert abs(z_fused.grad - z.grad) < 1e-15


def neuron_value(**values):
    z = values["w0"] * values["x0"] + values["w1"] * values["x1"] + values["w2"]
    return 1.0 / (1.0 + np.exp(-z))


point = {n: t.item() for n, t in leaves.items()}
for name, leaf in leaves.items():
    up, down = dict(point), dict(point)
    up[name] += 1e-6
    down[name] -= 1e-6
    numeric = (neuron_value(**up) - neuron_value(**down)) / 2e-6
    print(f"d sigma/d {name}: backprop {leaf.grad:+.6f}, fused {leaves_fused[name].grad:+.6f}, "
          f"finite difference {numeric:+.6f}")  # fmt: skip
    assert abs(leaf.grad - numeric) < 1e-8 and abs(leaves_fused[name].grad - leaf.grad) < 1e-12
# every weight's gradient is dsigma/dz times its input: local (x) times upstream (sigma')
assert abs(leaves["w0"].grad - s * (1 - s) * point["x0"]) < 1e-12

# %%
# The notes' TensorFlow lines, with tracegrad
# -------------------------------------------
#
# The notes end with two lines of TensorFlow: a network's last layer and its cost. The
# hypothesis is a sigmoid of the hidden layer's output ``L2`` times the weights ``W2``
# plus the bias ``b2``; the cost is the binary cross-entropy, averaged over the samples,
#
# .. math::
#
#    C = -\frac{1}{m}\sum_{i=1}^m \Big( y_i \log h_i + (1 - y_i) \log (1 - h_i) \Big).
#
# tracegrad names its ops as NumPy and PyTorch do, so those lines read almost the same.
# We build the whole two-layer network by hand for XOR: the inputs :math:`x`, a hidden
# layer of two sigmoid units whose activations are ``L2``, and one output unit. (Layer
# numbers differ between sources: Ng's notes count the input as layer 1,
# :math:`a^{(1)} = x`, so ``L2`` is their :math:`a^{(2)}`; :func:`tracegrad.trace`
# counts from :math:`a^{(0)} = x` and calls the hidden layer 1. The network is the same.)
# The weights are drawn from a seeded generator so the page shows the same numbers every
# time.

X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
Y = np.array([[0.0], [1.0], [1.0], [0.0]])  # XOR: 1 where the inputs differ

rng = np.random.default_rng(1)
W1 = tg.nn.Parameter(rng.normal(size=(2, 2)), name="W1")  # (inputs, units), as tf.matmul
b1 = tg.nn.Parameter(np.zeros(2), name="b1")
W2 = tg.nn.Parameter(rng.normal(size=(2, 1)), name="W2")
b2 = tg.nn.Parameter(np.zeros(1), name="b2")
params = [W1, b1, W2, b2]


def forward(X):
    L2 = tg.sigmoid(tg.matmul(X, W1) + b1)
    hypothesis = tg.sigmoid(tg.matmul(L2, W2) + b2)
    return hypothesis


def cross_entropy(h, Y):
    return -tg.mean(Y * tg.log(h) + (1 - Y) * tg.log(1 - h))


cost = cross_entropy(forward(X), Y)
cost.backward()
# The library's own, fused loss gives the same number.
assert abs(cost.item() - tg.losses.binary_cross_entropy(forward(X), Y).item()) < 1e-12
tg.draw(cost)

# %%
# The drawing is the notes' point: the cost is one more graph, so one ``backward()``
# fills ``.grad`` of all four parameters, whatever the network's size. A quick check of
# one weight's gradient against a finite difference:

before = W1.grad[0, 1]
W1.data[0, 1] += 1e-6
up = cross_entropy(forward(X), Y).item()
W1.data[0, 1] -= 2e-6
down = cross_entropy(forward(X), Y).item()
W1.data[0, 1] += 1e-6
print(f"dC/dW1[0,1]: backprop {before:.8f}, finite difference {(up - down) / 2e-6:.8f}")
assert abs(before - (up - down) / 2e-6) < 1e-8

# %%
# Gradient descent
# ----------------
#
# Training repeats three steps: forward (build the graph, get the cost), backward (fill
# the gradients), update (:math:`w \leftarrow w - \mu\,\partial C/\partial w`, done by
# :class:`tracegrad.optim.SGD`, plain gradient descent without momentum). Gradients add up
# across ``backward()`` calls, as in PyTorch, so they are zeroed before each one.

optimizer = tg.optim.SGD(params, lr=1.0)
costs = []
for _ in range(3000):
    optimizer.zero_grad()
    cost = cross_entropy(forward(X), Y)
    cost.backward()
    optimizer.step()
    costs.append(cost.item())

with tg.no_grad():
    h = forward(X).numpy()
print("cost, steps 0, 20, ..., 280:", [round(c, 4) for c in costs[:300:20]])
print("cost, steps 499, 999, ..., 2999:", [round(c, 4) for c in costs[499::500]])
for xi, yi, hi in zip(X, Y, h, strict=True):
    print(f"x = {xi}, y = {yi[0]:g}, hypothesis = {hi[0]:.4f}")
assert costs[-1] < 0.05 * costs[0]  # the cost falls, by a factor of 20 at least
assert np.all(np.diff(costs[::100]) < 0)  # and keeps falling
assert np.array_equal(h.round(), Y)  # all four XOR inputs classified right
# The plateau: from step 20 to step 100 the cost stays within 0.015 of ln 2 ...
assert all(abs(c - np.log(2)) < 0.015 for c in costs[20:101])
assert costs[300] < np.log(2) - 0.15  # ... and by step 300 it has clearly left it

# %%
# The printed costs show a plateau: after a quick fall from 0.76, the cost sits near
# :math:`\ln 2 \approx 0.693` from about step 20 to step 100, the cost of answering
# :math:`h \approx 1/2` for every input. While it sits there the hidden features are slowly
# reshaping, too slowly to move the output; the cost drops once they separate XOR's two
# classes well enough for the output unit to use them. On the right, the
# trained network's hypothesis over the whole square: XOR's two classes sit in opposite
# corners, and no single straight line could separate them (tutorial 6 shows why the
# hidden layer is what makes this possible).

grid = np.linspace(-0.25, 1.25, 121)
gx, gy = np.meshgrid(grid, grid)
with tg.no_grad():
    surface = forward(np.column_stack([gx.ravel(), gy.ravel()])).numpy().reshape(gx.shape)

fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
left.plot(costs)
left.set_yscale("log")
left.set_xlabel("gradient-descent step")
left.set_ylabel("cross-entropy cost C")
left.set_title("cost during training")
image = right.contourf(gx, gy, surface, levels=np.linspace(0, 1, 11), cmap="RdBu_r")
right.contour(gx, gy, surface, levels=[0.5], colors="k")
right.scatter(X[:, 0], X[:, 1], c=Y[:, 0], cmap="RdBu_r", edgecolors="w", linewidths=2, s=140)
right.set_title("hypothesis h(x); the line is h = 0.5")
right.set_xlabel("$x_1$")
right.set_ylabel("$x_2$")
fig.colorbar(image, ax=right)
fig.tight_layout()
