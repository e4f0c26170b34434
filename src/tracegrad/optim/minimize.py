"""Train with SciPy's quasi-Newton and conjugate-gradient methods.

The course notes' "advanced optimizer" route: unroll every parameter into one
vector ``x``, hand SciPy a function returning ``(J(x), dJ/dx)``, and let it pick
the steps. Backpropagation still computes the gradient; SciPy only chooses where
to evaluate it next.
"""

from __future__ import annotations

import contextlib
import inspect

import numpy as np

from ..nn.utils import parameters_to_vector, vector_to_parameters

SUPPORTED_METHODS = ("L-BFGS-B", "CG", "BFGS")


def _gradient_vector(params) -> np.ndarray:
    """Unroll the gradients like ``parameters_to_vector`` unrolls the values, as float64.

    A parameter the loss does not depend on has no gradient: its slope is zero.
    """
    return np.concatenate(
        [np.zeros(p.data.size) if p.grad is None else np.ravel(p.grad) for p in params]
    ).astype(np.float64, copy=False)


def _loss_caller(loss_fn, model):
    """``loss_fn`` may take no argument or the model: decide once, from its signature."""
    try:
        signature = inspect.signature(loss_fn)
    except (TypeError, ValueError):  # some builtins have no signature: assume no argument
        return loss_fn
    required = [
        p
        for p in signature.parameters.values()
        if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    if len(required) == 0:
        return loss_fn
    if len(required) == 1:
        return lambda: loss_fn(model)
    raise TypeError(
        f"loss_fn must take no argument or just the model, but it requires {len(required)}: "
        f"{[p.name for p in required]}"
    )


def minimize(model, loss_fn, method="L-BFGS-B", maxiter=50, tol=None, callback=None):
    """Minimise ``loss_fn`` over all ``model.parameters()`` with ``scipy.optimize.minimize``.

    Parameters
    ----------
    model : object
        Has ``parameters()`` (a list of objects with ``.data`` and ``.grad``) and ``zero_grad()``.
    loss_fn : callable
        ``loss_fn()`` or ``loss_fn(model)``, returning a scalar Tensor on which
        ``backward()`` fills the parameters' ``.grad``. Called once per evaluation,
        so use the full batch: these methods assume a deterministic function.
    method : {"L-BFGS-B", "CG", "BFGS"}, default "L-BFGS-B"
    maxiter : int, default 50
        Maximum number of iterations (each may evaluate the loss several times).
    tol : float, optional
        Passed to SciPy as the termination tolerance.
    callback : callable, optional
        Called after each iteration as ``callback(intermediate_result)`` with an
        ``OptimizeResult`` holding ``x`` and ``fun`` (SciPy >= 1.11); the model's
        parameters hold ``x`` at that moment. Raise ``StopIteration`` to stop early.

    Returns
    -------
    scipy.optimize.OptimizeResult
        SciPy's result; ``result.x`` (the final, best iterate) has been written back
        into the parameters, in their own dtypes. Gradients are cleared (``zero_grad``),
        since the last evaluation need not have been at ``result.x``.
    """
    if method not in SUPPORTED_METHODS:
        raise ValueError(f"method={method!r} is not supported: choose one of {SUPPORTED_METHODS}")
    params = list(model.parameters())
    if not params:
        raise ValueError("the model has no parameters to optimise")
    compute_loss = _loss_caller(loss_fn, model)

    # SciPy's own step (L-BFGS-B's m x m solves, dot products of the parameter vector)
    # calls BLAS on tiny arrays, where waking a thread pool costs far more than the work:
    # on a busy 2-core machine a 1-16-1 fit ran 5 to 14 times slower. So SciPy runs with
    # one BLAS thread, and each evaluation of the model gets the caller's threads back.
    import scipy.optimize  # imported here: it takes 0.4 s, too long for `import tracegrad`
    from threadpoolctl import ThreadpoolController

    threads = ThreadpoolController()  # after SciPy's import: it loads its own OpenBLAS
    # Each library's own count, by file: NumPy's and SciPy's OpenBLAS share one prefix.
    own = [
        (threads.select(filepath=lib["filepath"]), lib["num_threads"])
        for lib in threads.info()
        if lib["user_api"] == "blas"
    ]

    @contextlib.contextmanager
    def callers_threads():
        with contextlib.ExitStack() as stack:
            for lib, n in own:
                stack.enter_context(lib.limit(limits=n))
            yield

    def fun(x):
        with callers_threads():
            vector_to_parameters(x, params)  # in place, each in its own dtype
            model.zero_grad()
            loss = compute_loss()
            loss.backward()
            return float(loss.item()), _gradient_vector(params)

    scipy_callback = None
    if callback is not None:

        def scipy_callback(intermediate_result):
            with callers_threads():
                vector_to_parameters(intermediate_result.x, params)
                return callback(intermediate_result)

    with threads.limit(limits=1, user_api="blas"):
        result = scipy.optimize.minimize(
            fun,
            parameters_to_vector(params).astype(np.float64),
            jac=True,
            method=method,
            tol=tol,
            callback=scipy_callback,
            options={"maxiter": maxiter},
        )
    vector_to_parameters(result.x, params)
    model.zero_grad()
    return result
