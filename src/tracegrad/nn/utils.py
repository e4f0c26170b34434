"""Unrolling parameters into one vector and rolling it back (for advanced optimizers)."""

from __future__ import annotations

import numpy as np


def parameters_to_vector(params) -> np.ndarray:
    """Concatenate every parameter's values, flattened in row-major order, into one vector.

    Parameters
    ----------
    params : iterable of Parameter
        E.g. ``model.parameters()``.

    Returns
    -------
    numpy.ndarray
        A new 1-D array, of the parameters' common dtype (float64 when there are none).
    """
    params = list(params)
    if not params:
        return np.zeros(0)
    return np.concatenate([p.data.ravel() for p in params])


def vector_to_parameters(vec, params) -> None:
    """Write ``vec`` back into the parameters in place, in the order of ``parameters_to_vector``.

    Parameters
    ----------
    vec : array_like
        A 1-D vector with as many values as the parameters hold (ValueError otherwise);
        it is cast to each parameter's dtype.
    params : iterable of Parameter
        The parameters, in the order ``vec`` was made from.
    """
    params = list(params)
    vec = np.asarray(vec)
    total = sum(p.size for p in params)
    if vec.ndim != 1 or vec.size != total:
        raise ValueError(
            f"expected a vector of {total} values for these parameters, got shape {vec.shape}"
        )
    start = 0
    for p in params:
        stop = start + p.size
        np.copyto(p.data, vec[start:stop].reshape(p.shape), casting="unsafe")
        start = stop
