"""
Matt Mazur's step-by-step example
=================================

The course notes send you to Matt Mazur's post `A Step by Step Backpropagation Example
<https://mattmazur.com/2015/03/17/a-step-by-step-backpropagation-example/>`_ for the
derivation of the delta rule: a network of two inputs, two sigmoid hidden units and two
sigmoid outputs, one training example, and every number of one gradient-descent step
written out by hand. It is the best place to check that you really understand
backpropagation, because you can compare your own arithmetic with it digit by digit.

This page runs the same step with tracegrad and puts each of the blog's numbers next to
the one tracegrad computes, under both names: the blog's (``net_h1``, ``out_o1``,
``w5``...) and the notes' symbols (:math:`z^{(l)}`, :math:`a^{(l)}`, :math:`\\delta^{(l)}`,
:math:`W^{(l)}`), with the layers numbered as :func:`tracegrad.trace` numbers them (see
below). Every number the blog prints for the step but one is asserted here to every digit
it prints (the one, explained at the end, differs in its last digit), so this page fails
to build the day tracegrad stops reproducing them. Then we check
the chain rule against finite differences, train for 10,000 steps, and explain, by
recomputing them, the few later figures of the blog that tracegrad does *not* reproduce.
"""

# %%
# The network, in two notations
# -----------------------------
#
# The blog names each weight: ``w1``, ``w2`` lead from the inputs ``i1``, ``i2`` into
# hidden unit ``h1``; ``w3``, ``w4`` into ``h2``; ``w5``, ``w6`` from ``h1``, ``h2`` into
# output ``o1``; ``w7``, ``w8`` into ``o2``. Each layer shares one bias (``b1`` = 0.35,
# ``b2`` = 0.60), and the biases are never updated.
#
# The notes stack the weights *into* unit :math:`j` of a layer as row :math:`j` of a
# matrix, so that one layer is one matrix product. Their layer numbers differ from
# tracegrad's: Ng's notes count the input as layer 1, :math:`a^{(1)} = x`, so the hidden
# layer is :math:`a^{(2)}` and the first matrix :math:`\Theta^{(1)}`; tracegrad's trace,
# and this page, count from :math:`a^{(0)} = x`, so the hidden layer is :math:`l = 1`, the
# output :math:`l = 2`, and :math:`W^{(l)}` carries layer :math:`l - 1` into layer
# :math:`l`:
#
# .. math::
#
#    W^{(1)} = \begin{pmatrix} w_1 & w_2 \\ w_3 & w_4 \end{pmatrix}, \qquad
#    W^{(2)} = \begin{pmatrix} w_5 & w_6 \\ w_7 & w_8 \end{pmatrix}, \qquad
#    z^{(l)} = a^{(l-1)} W^{(l)\top} + b^{(l)}, \qquad a^{(l)} = \sigma(z^{(l)}).
#
# A ``tg.nn.MLP([2, 2, 2])`` is exactly this: ``Linear(2, 2)``, sigmoid, ``Linear(2, 2)``,
# sigmoid, and each ``Linear`` keeps its :math:`W^{(l)}` in ``weight`` with that shape
# (units out, units in). We only overwrite its random initial weights with the blog's.
# (tracegrad gives every unit its own bias; setting both to ``b1`` is the blog's shared
# bias.) Float64, because we are going to compare nine decimals.

import tempfile
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import tracegrad as tg

x = np.array([[0.05, 0.10]])  # i1, i2: one example, one row
t = np.array([[0.01, 0.99]])  # the targets of o1, o2


def mazur_model():
    """A fresh copy of the blog's network, before any training."""
    model = tg.nn.MLP([2, 2, 2], activation="sigmoid", output="sigmoid", rng=0, dtype=np.float64)
    hidden, output = model.linears
    hidden.weight.data[...] = [[0.15, 0.20], [0.25, 0.30]]  # w1 w2 / w3 w4
    hidden.bias.data[...] = 0.35  # b1
    output.weight.data[...] = [[0.40, 0.45], [0.50, 0.55]]  # w5 w6 / w7 w8
    output.bias.data[...] = 0.60  # b2
    return model


def half_sse(output, targets):
    """The blog's error E_total = sum of 1/2 (target - output)^2 over the outputs."""
    return 0.5 * tg.losses.mse(output, targets, reduction="sum")


model = mazur_model()
print(model)
print("W^(1) =\n", model.linears[0].weight.data)
print("W^(2) =\n", model.linears[1].weight.data)


def check(name, notation, value, blog):
    """Print one number beside the blog's; assert it agrees to every decimal the blog printed."""
    decimals = len(blog.split(".")[1])
    ours = f"{value:.{decimals}f}"
    print(f"{name:<16} {notation:<30} {value:16.12f}   blog {blog}")
    assert ours == blog, f"{name}: tracegrad's {value!r} rounds to {ours}, the blog printed {blog}"


# %%
# The forward pass
# ----------------
#
# :func:`tracegrad.trace` runs one training step and records every number of it, layer by
# layer: the weighted inputs :math:`z^{(l)}`, the activations :math:`a^{(l)}`, the errors
# :math:`\delta^{(l)} = \partial E / \partial z^{(l)}`, the gradients and the updated
# weights. ``cost="half_sse"`` is the blog's :math:`E_{total} = \sum \tfrac12 (t - o)^2`,
# ``lr=0.5`` its learning rate :math:`\eta`, and ``update_biases=False`` keeps ``b1`` and
# ``b2`` fixed, as the blog does.
#
# The blog's "net input" ``net`` is Ng's and Nielsen's (and tracegrad's) weighted input
# :math:`z`, and its "output" ``out`` is their activation :math:`a`. Index 0 below is
# unit 1 (``h1`` or ``o1``).

step = tg.trace(model, x, t, cost="half_sse", lr=0.5, update_biases=False)
hidden, output = step.layers  # l = 1 and l = 2
z1, a1, W1 = hidden.z[0], hidden.a[0], hidden.W
z2, a2, W2 = output.z[0], output.a[0], output.W
E_o = 0.5 * (t[0] - a2) ** 2  # each output's share of the error

check("net_h1", "z^(1)_1 = w1 i1 + w2 i2 + b1", z1[0], "0.3775")
check("out_h1", "a^(1)_1 = sigma(z^(1)_1)", a1[0], "0.593269992")
check("out_h2", "a^(1)_2", a1[1], "0.596884378")
check("net_o1", "z^(2)_1 = w5 a1 + w6 a2 + b2", z2[0], "1.105905967")
check("out_o1", "a^(2)_1", a2[0], "0.75136507")
check("out_o2", "a^(2)_2", a2[1], "0.772928465")
check("E_o1", "1/2 (t_1 - a^(2)_1)^2", E_o[0], "0.274811083")
check("E_o2", "1/2 (t_2 - a^(2)_2)^2", E_o[1], "0.023560026")
check("E_total", "E", step.cost, "0.298371109")

# %%
# The backward pass: the output layer
# -----------------------------------
#
# How much does ``w5`` move the error? ``w5`` only reaches :math:`E` through
# ``net_o1`` and then ``out_o1``, so the chain rule multiplies three local slopes:
#
# .. math::
#
#    \frac{\partial E}{\partial w_5}
#    = \underbrace{\frac{\partial E}{\partial out_{o1}}}_{a^{(2)}_1 - t_1}
#      \;\underbrace{\frac{\partial out_{o1}}{\partial net_{o1}}}_{a^{(2)}_1 (1 - a^{(2)}_1)}
#      \;\underbrace{\frac{\partial net_{o1}}{\partial w_5}}_{a^{(1)}_1}.
#
# The first two factors do not depend on which weight we ask about; their product is
# the output unit's error :math:`\delta^{(2)}_1 = \partial E / \partial z^{(2)}_1` (the
# blog's :math:`\delta_{o1}`). That is why the notes compute :math:`\delta` once per unit
# and then get *all* the weights into that unit at once, as an outer product:
# :math:`\partial E / \partial W^{(2)} = \delta^{(2)\top} a^{(1)}`, whose row :math:`j`,
# column :math:`k` is :math:`\delta^{(2)}_j a^{(1)}_k` (``w5``, ``w6`` in row 1,
# ``w7``, ``w8`` in row 2).
#
# ``step.layers[1].delta`` and ``.dW`` came from tracegrad's automatic differentiation,
# not from these formulas, so writing the product out by hand is a real check.

delta2, dW2 = output.delta[0], output.dW
dE_dout_o1 = a2[0] - t[0, 0]
dout_dnet_o1 = a2[0] * (1 - a2[0])
check("dE/dout_o1", "a^(2)_1 - t_1", dE_dout_o1, "0.74136507")
check("dout_o1/dnet_o1", "a^(2)_1 (1 - a^(2)_1)", dout_dnet_o1, "0.186815602")
check("delta_o1", "delta^(2)_1", delta2[0], "0.138498562")
check("dE/dw5", "delta^(2)_1 a^(1)_1", dW2[0, 0], "0.082167041")
chain_w5 = dE_dout_o1 * dout_dnet_o1 * a1[0]
print(f"the chain rule by hand: dE/dw5 = {chain_w5:.12f}")
assert abs(chain_w5 - dW2[0, 0]) < 1e-15
np.testing.assert_allclose(dW2, np.outer(delta2, a1), rtol=1e-14)  # dE/dW^(2) = delta^T a
print("dE/dW^(2) = delta^(2)T a^(1) =\n", dW2)

# %%
# The backward pass: the hidden layer
# -----------------------------------
#
# ``out_h1`` feeds *both* outputs, so its effect on :math:`E` is a sum over the two
# paths, each path being an output's :math:`\delta` times the weight that carries
# ``out_h1`` there (``w5`` to ``o1``, ``w7`` to ``o2``):
#
# .. math::
#
#    \frac{\partial E}{\partial out_{h1}} = \delta^{(2)}_1 w_5 + \delta^{(2)}_2 w_7
#    = \big(\delta^{(2)} W^{(2)}\big)_1, \qquad
#    \delta^{(1)} = \big(\delta^{(2)} W^{(2)}\big) \odot a^{(1)} \odot (1 - a^{(1)}),
#    \qquad \frac{\partial E}{\partial W^{(1)}} = \delta^{(1)\top} a^{(0)}.
#
# This is the step the notes call propagating :math:`\delta` backwards: one matrix
# product with the same :math:`W^{(2)}` that carried the signal forwards. It uses the
# *old* ``w5`` and ``w7``: every gradient is computed before any weight changes, because
# all of them are slopes of the same function at the same point.

delta1, dW1 = hidden.delta[0], hidden.dW
back = delta2 @ W2  # dE/da^(1), both hidden units at once
check("dE_o1/dout_h1", "delta^(2)_1 w5", delta2[0] * W2[0, 0], "0.055399425")
print(
    f"{'dE_o2/dout_h1':<16} {'delta^(2)_2 w7':<30} {delta2[1] * W2[1, 0]:16.12f}"
    "   blog -0.019049119 (the last digit differs: see the end of this page)"
)
assert abs(delta2[1] * W2[1, 0] - -0.019049119) < 1e-9
check("dE/dout_h1", "(delta^(2) W^(2))_1", back[0], "0.036350306")
check("dout_h1/dnet_h1", "a^(1)_1 (1 - a^(1)_1)", a1[0] * (1 - a1[0]), "0.241300709")
check("dE/dw1", "delta^(1)_1 a^(0)_1", dW1[0, 0], "0.000438568")
np.testing.assert_allclose(delta1, back * a1 * (1 - a1), rtol=1e-14)  # the notes' delta rule
np.testing.assert_allclose(dW1, np.outer(delta1, x[0]), rtol=1e-14)
print("delta^(1) =", delta1)
print("dE/dW^(1) = delta^(1)T a^(0) =\n", dW1)

# %%
# The update
# ----------
#
# Gradient descent moves each weight a step :math:`\eta = 0.5` against its slope,
# :math:`W^{(l)} \leftarrow W^{(l)} - \eta\, \partial E / \partial W^{(l)}`, and only
# now, with every gradient known, does ``tg.trace`` write the new weights into the
# model. The blog calls the new weights ``w1+`` ... ``w8+``.
#
# (One warning if you read along: in its hidden-layer section the blog writes
# :math:`net_{h1} = w_1 i_1 + w_3 i_2 + b_1`, but its forward pass, its figures and its
# numbers all use ``w2`` for the weight from ``i2`` to ``h1``, as we do: the published
# ``w3+`` = 0.24975114 is :math:`0.25 - 0.5\, \delta^{(1)}_2 i_1`.)

for name, value, blog in [
    ("w1+", hidden.W_new[0, 0], "0.149780716"),
    ("w2+", hidden.W_new[0, 1], "0.19956143"),
    ("w3+", hidden.W_new[1, 0], "0.24975114"),
    ("w4+", hidden.W_new[1, 1], "0.29950229"),
    ("w5+", output.W_new[0, 0], "0.35891648"),
    ("w6+", output.W_new[0, 1], "0.408666186"),
    ("w7+", output.W_new[1, 0], "0.511301270"),
    ("w8+", output.W_new[1, 1], "0.561370121"),
]:
    check(name, "W - 0.5 dE/dW", value, blog)
assert abs(0.25 - 0.5 * delta1[1] * x[0, 0] - 0.24975114) < 5e-9  # w3 is i1 -> h2
np.testing.assert_array_equal(model.linears[0].weight.data, hidden.W_new)  # applied
np.testing.assert_array_equal(model.linears[1].bias.data, [0.6, 0.6])  # b2 untouched

with tg.no_grad():
    E_after_one = half_sse(model(tg.Tensor(x)), t).item()
print(f"E_total after one step: {E_after_one:.9f} (it was {step.cost:.9f})")
assert E_after_one < step.cost

# %%
# Every number on one page
# ------------------------
#
# The step as tracegrad's interactive page: the network, then the forward pass, the error,
# the backward pass and the update, one stage at a time, each number beside its formula.
# ``step.to_html("mazur.html")`` writes it as one offline file, and so does
# ``tracegrad trace mazur --format html`` on the command line (``tracegrad trace mazur``
# prints the same numbers as text).

step  # noqa: B018 (a cell's last expression is what the page shows)

# %%
# The chain rule against finite differences
# -----------------------------------------
#
# Nothing above proves that the chain rule gives the *right* slopes: the hand-written
# products only agree with tracegrad's own backward pass. The notes' gradient check asks
# the function itself: nudge one weight by :math:`\pm\varepsilon` and see how much
# :math:`E` moves,
#
# .. math::
#
#    \frac{\partial E}{\partial w} \approx \frac{E(w + \varepsilon) - E(w - \varepsilon)}
#    {2 \varepsilon},
#
# which needs no derivative at all. The error of this central difference shrinks like
# :math:`\varepsilon^2`, so with :math:`\varepsilon = 10^{-5}` it agrees with the exact
# slope to about ten decimals (smaller steps lose more to rounding than they gain).

fresh = mazur_model()
eps = 1e-5


def E_of(m):
    with tg.no_grad():
        return half_sse(m(tg.Tensor(x)), t).item()


names = {0: ["w1", "w2", "w3", "w4"], 1: ["w5", "w6", "w7", "w8"]}
worst = 0.0
for layer, chain in ((0, hidden.dW), (1, output.dW)):
    W = fresh.linears[layer].weight.data
    for k, name in enumerate(names[layer]):
        j, i = divmod(k, 2)
        saved = W[j, i]
        W[j, i] = saved + eps
        plus = E_of(fresh)
        W[j, i] = saved - eps
        minus = E_of(fresh)
        W[j, i] = saved
        numeric = (plus - minus) / (2 * eps)
        worst = max(worst, abs(numeric - chain[j, i]))
        print(f"dE/d{name}: chain rule {chain[j, i]:.12f}   finite difference {numeric:.12f}")
print(f"largest difference: {worst:.1e}")
assert worst < 1e-10

# The library's own check does the same for every parameter, biases included.
result = tg.check_model_gradients(fresh, lambda: half_sse(fresh(tg.Tensor(x)), t))
print(result.summary())
assert result.passed and result.relative_difference < 1e-8

# %%
# 10,000 steps
# ------------
#
# One step lowered the error only a little. Repeating it is plain gradient descent, the
# loop every trainer runs: forward, backward, step. ``tg.optim.SGD`` updates only the
# weights we hand it, so leaving the biases out keeps them fixed, as in the blog.

model = mazur_model()
X = tg.Tensor(x)
sgd = tg.optim.SGD([layer.weight for layer in model.linears], lr=0.5)
errors = []  # errors[k]: E_total after k steps
for _ in range(10_000):
    sgd.zero_grad()
    E = half_sse(model(X), t)
    errors.append(E.item())
    E.backward()
    sgd.step()
with tg.no_grad():
    outputs = model(X).data[0]
errors.append(half_sse(outputs[None], t).item())

print(f"E_total after     1 step : {errors[1]:.9f}   blog 0.291027924")
print(f"E_total after 10000 steps: {errors[10_000]:.10f}  blog 0.0000351085")
print(
    f"outputs after 10000 steps: {outputs[0]:.9f}, {outputs[1]:.9f}"
    "   blog 0.015912196, 0.984065734   targets 0.01, 0.99"
)
assert errors[1] == E_after_one  # the loop and tg.trace took the same first step
assert all(b < a for a, b in zip(errors, errors[1:], strict=False))  # every step helps
assert errors[10_000] < errors[0] / 5000  # the error "plummets"
assert abs(errors[10_000] - 0.0000351085) < 1e-7  # near the blog's figure, but see below
assert np.abs(outputs - t[0]).max() < 0.007  # within 0.007 of both targets

fig, ax = plt.subplots(figsize=(6, 3.5))
ax.semilogy(errors)
ax.set_xlabel("gradient-descent steps")
ax.set_ylabel("E_total (log scale)")
ax.set_title("Mazur's network: 10,000 steps at learning rate 0.5")
fig.tight_layout()

# %%
# Where the blog's digits differ, and why
# ---------------------------------------
#
# Every number of the step matched except one, and none of the figures the blog gives
# after the step matches tracegrad's: after one step 0.291027924 (tracegrad: 0.291027774),
# after 10,000 steps 0.0000351085 and outputs 0.015912196, 0.984065734. A tutorial that
# only says "close enough" teaches you to distrust your own arithmetic, so let us find
# where each comes from.
#
# **dE_o2/dout_h1 = -0.019049119: rounding.** The blog works like a careful student with a
# calculator: it rounds each intermediate result (mostly to nine decimals) and reuses the
# rounded value. Rounded, :math:`\delta_{o2}` is -0.038098237; half of it is -0.0190491185 exactly,
# a tie, which a calculator rounds away from zero to -0.019049119. The unrounded
# :math:`\delta_{o2} = -0.03809823652\ldots` gives -0.01904911826..., so -0.019049118.
# Decimal arithmetic redoes the blog's steps without binary rounding of its own:

exact = delta2[1] * W2[1, 0]
blog_delta_o2 = Decimal(f"{delta2[1]:.9f}")  # delta_o2 as the blog carries it: 9 decimals
blog_way = (blog_delta_o2 * Decimal("0.5")).quantize(Decimal("1e-9"), ROUND_HALF_UP)
print(f"unrounded: {exact:.12f} -> {exact:.9f}")
print(f"rounded first: {blog_delta_o2} x 0.5 = {blog_delta_o2 * Decimal('0.5')} -> {blog_way}")
assert f"{exact:.9f}" == "-0.019049118" and str(blog_way) == "-0.019049119"

# %%
# **The error after one step: not rounding.** Rounding cannot explain 0.291027924. Feed
# forward the blog's own *rounded* new weights, and the error still comes out 0.291027774,
# the same as tracegrad's to the last printed digit: nine-decimal weights move :math:`E`
# by less than :math:`10^{-9}`, and the gap is :math:`1.5 \times 10^{-7}`.


def forward(W1, W2):
    """E_total and the outputs for given weights, biases b1, b2, in plain NumPy."""
    a1 = 1 / (1 + np.exp(-(x[0] @ W1.T + 0.35)))
    a2 = 1 / (1 + np.exp(-(a1 @ W2.T + 0.60)))
    return 0.5 * ((t[0] - a2) ** 2).sum(), a1, a2


blog_W1 = np.array([[0.149780716, 0.19956143], [0.24975114, 0.29950229]])
blog_W2 = np.array([[0.35891648, 0.408666186], [0.511301270, 0.561370121]])
E_blog_weights = forward(blog_W1, blog_W2)[0]
print(f"E_total from the blog's rounded new weights: {E_blog_weights:.9f}")
assert abs(E_blog_weights - E_after_one) < 1e-9
assert f"{E_blog_weights:.9f}" == f"{E_after_one:.9f}" != "0.291027924"

# %%
# What *does* give 0.291027924 is a different algorithm: update ``w5`` ... ``w8`` first,
# then backpropagate to the hidden layer through the *new* output weights. The blog's
# text warns against exactly this ("we use the original weights, not the updated
# weights"), but a program that updates the output layer in place before computing the
# hidden :math:`\delta` does it. Run that variant for 10,000 steps and out come the blog's
# two outputs, every digit, while its error (0.0000350848) is not the blog's. The blog's
# 0.0000351085 is instead the correct method's error after 9,999 steps, one short of
# 10,000. So the blog's later figures come from two different computations: one is not
# the method its text describes, the other stops one step short. The worked step itself,
# the part you check your own arithmetic against, is right.


def run(steps, hidden_sees_new_W2):
    """Plain-NumPy gradient descent on the blog's network; returns errors and final outputs."""
    W1 = np.array([[0.15, 0.20], [0.25, 0.30]])
    W2 = np.array([[0.40, 0.45], [0.50, 0.55]])
    errs = []
    for _ in range(steps):
        E, a1, a2 = forward(W1, W2)
        errs.append(E)
        d2 = (a2 - t[0]) * a2 * (1 - a2)
        W2_new = W2 - 0.5 * np.outer(d2, a1)
        d1 = (d2 @ (W2_new if hidden_sees_new_W2 else W2)) * a1 * (1 - a1)
        W1, W2 = W1 - 0.5 * np.outer(d1, x[0]), W2_new
    E, _, a2 = forward(W1, W2)
    return errs + [E], a2


ok_errs, ok_out = run(10_000, hidden_sees_new_W2=False)
seq_errs, seq_out = run(10_000, hidden_sees_new_W2=True)
print("                      after 1 step   after 9,999    after 10,000   outputs after 10,000")
for label, errs, out in (
    ("correct (tracegrad)", ok_errs, ok_out),
    ("output layer first", seq_errs, seq_out),
):
    print(
        f"{label:<21} {errs[1]:.9f}    {errs[9_999]:.10f}   {errs[10_000]:.10f}"
        f"   {out[0]:.9f}, {out[1]:.9f}"
    )
print(f"{'the blog':<21} 0.291027924    {'':<12}   0.0000351085   0.015912196, 0.984065734")

# The plain-NumPy replica of the correct method is tracegrad's run, step for step...
np.testing.assert_allclose(ok_errs, errors, rtol=1e-9)
np.testing.assert_allclose(ok_out, outputs, atol=1e-12)
# ...and each of the blog's later figures is reproduced, to every digit printed.
assert f"{seq_errs[1]:.9f}" == "0.291027924"
assert (f"{seq_out[0]:.9f}", f"{seq_out[1]:.9f}") == ("0.015912196", "0.984065734")
assert f"{ok_errs[9_999]:.10f}" == "0.0000351085"

# %%
# What to take away
# -----------------
#
# * The blog's ``net`` and ``out`` are the notes' :math:`z` and :math:`a`; its
#   :math:`\delta_{o1}, \delta_{o2}, \delta_{h1}, \delta_{h2}` are :math:`\delta^{(2)}` and
#   :math:`\delta^{(1)}`; its per-weight chain rules are the outer products
#   :math:`\delta^{(l)\top} a^{(l-1)}`; and its sum over paths is the product
#   :math:`\delta^{(2)} W^{(2)}`.
# * Compute every gradient before changing any weight. Updating ``w5`` ... ``w8`` first
#   still lowers the error here, but it is no longer the gradient of :math:`E`, and its
#   numbers drift away from the exact ones.
# * Check gradients with finite differences once, on a small network like this one.
#
# To trace a network of your own, pass it to :func:`tracegrad.trace` the same way:
# ``step.format()`` gives the text tables and ``step.to_html(path)`` the page above.

with tempfile.TemporaryDirectory() as tmp:
    page = Path(tmp) / "mazur.html"
    step.to_html(page, title="Mazur's network: one step")
    print(f"{page.name}: {page.stat().st_size:,} bytes, offline, one file")
