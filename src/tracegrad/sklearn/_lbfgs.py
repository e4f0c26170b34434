"""``solver="lbfgs"``: SciPy's L-BFGS-B on the unrolled parameters, as scikit-learn runs it.

``tracegrad.optim.minimize`` takes one tolerance for all of SciPy's stopping rules;
scikit-learn passes ``tol`` as the gradient tolerance only (``gtol``) and caps the
number of evaluations with ``max_fun``, so the call is made here with those options.
Backpropagation through the tracegrad network still computes every gradient.
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.optimize
from sklearn.exceptions import ConvergenceWarning

from .. import nn
from ..tensor import Tensor
from ._objective import Objective


def fit(est, network, X, y) -> None:
    """Minimise the full-batch cost; set ``n_iter_`` and ``loss_`` on ``est``."""
    params = network.parameters()
    objective = Objective(network, est.out_activation_, est.alpha)
    network.train()
    inputs = Tensor(X)

    def cost_and_gradient(x):
        nn.vector_to_parameters(x, params)
        network.zero_grad()
        objective.reset()
        cost = objective(network(inputs), y)
        cost.backward()
        grad = np.concatenate(
            [np.zeros(p.size) if p.grad is None else np.ravel(p.grad) for p in params]
        )
        # The cost itself, consistent with its gradient: for several regression outputs
        # scikit-learn's reported loss is averaged over them, its gradient summed.
        return float(cost.item()), grad.astype(np.float64, copy=False)

    def report(intermediate_result):
        print(f"Iteration {report.count}, loss = {intermediate_result.fun:.8f}")
        report.count += 1

    report.count = 1
    result = scipy.optimize.minimize(
        cost_and_gradient,
        nn.parameters_to_vector(params).astype(np.float64),
        method="L-BFGS-B",
        jac=True,
        callback=report if est.verbose else None,
        options={"maxfun": est.max_fun, "maxiter": est.max_iter, "gtol": est.tol},
    )
    if result.status != 0:
        message = result.message.decode() if isinstance(result.message, bytes) else result.message
        warnings.warn(
            f"lbfgs failed to converge after {result.nit} iteration(s) (status={result.status}):"
            f" {message}. Increase the number of iterations (max_iter) or scale the data "
            "(e.g. StandardScaler).",
            ConvergenceWarning,
            stacklevel=3,
        )
    est.n_iter_ = min(int(result.nit), est.max_iter)
    cost_and_gradient(result.x)  # leaves result.x in the network, the reported loss in objective
    est.loss_ = objective.reported()
    network.zero_grad()
