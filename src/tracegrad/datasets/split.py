"""Stratified, seeded train/test (or train/validation) splits.

Each class is split on its own, in the overall proportion, so a rare class is
not left out of the test part by chance; the rows of each part keep their
original order.
"""

from __future__ import annotations

import numpy as np

from .base import Dataset, make_rng


def split_indices(y, test_size=0.2, rng=None, *, seed=None):
    """Row indices of a stratified split of the labels ``y``.

    Parameters
    ----------
    y : array_like of int, shape (n,)
        Class labels.
    test_size : float or int, default 0.2
        Fraction of the samples in (0, 1), or a number of samples, for the
        test part.
    rng : numpy.random.Generator, optional
        Source of randomness; else one seeded by ``seed``.
    seed : int, optional
        Seed when ``rng`` is None; 0 when neither is given.

    Returns
    -------
    train, test : numpy.ndarray of int64
        Sorted indices; together they hold every row exactly once. The test
        part has the asked size, shared among the classes in proportion to
        their sizes. Every class with at least two samples keeps one or more
        in each part; where that and the exact size conflict, it wins.
    """
    y = np.asarray(y)
    n = len(y)
    n_test = _test_count(test_size, n)
    rng = make_rng(rng, seed)
    classes, y_index, counts = np.unique(y, return_inverse=True, return_counts=True)
    quota = _class_quotas(counts, n_test)
    test = []
    for k in range(len(classes)):
        members = rng.permutation(np.flatnonzero(y_index == k))
        test.append(members[: quota[k]])
    test = np.sort(np.concatenate(test)).astype(np.int64)
    is_test = np.zeros(n, dtype=bool)
    is_test[test] = True
    return np.flatnonzero(~is_test).astype(np.int64), test


def train_test_split(ds: Dataset, test_size=0.2, rng=None, *, seed=None):
    """Split a Dataset in two, stratified by class and seeded.

    Use it for a held-out test set and again on the training part for a
    validation set.

    Parameters
    ----------
    ds : Dataset
        The data (TypeError for anything else: use :func:`split_indices` for arrays).
    test_size : float or int, default 0.2
        Fraction of the samples in (0, 1), or a number of samples, for the test part.
    rng : numpy.random.Generator, optional
        Source of randomness; else one seeded by ``seed``.
    seed : int, optional
        Seed when ``rng`` is None; 0 when neither is given.

    Returns
    -------
    train, test : Dataset
        Same name, class names and image shape as ``ds``.
    """
    if not isinstance(ds, Dataset):
        raise TypeError(
            f"train_test_split takes a Dataset, got {type(ds).__name__}; wrap arrays with "
            "Dataset(X, y) or use split_indices(y) for bare arrays"
        )
    train, test = split_indices(ds.y, test_size, rng, seed=seed)
    return ds.take(train), ds.take(test)


def _class_quotas(counts, n_test: int) -> np.ndarray:
    """Test samples per class: proportional, summing to n_test, and leaving every
    class of two or more samples in both parts whenever the sizes allow it."""
    exact = counts * n_test / counts.sum()
    low = np.where(counts >= 2, 1, 0)
    high = np.where(counts >= 2, counts - 1, 0)
    quota = np.clip(np.round(exact).astype(np.int64), low, high)
    # Fix the total one sample at a time, each time moving the class whose
    # quota is furthest from its exact share in the needed direction.
    while (gap := n_test - quota.sum()) != 0:
        step = 1 if gap > 0 else -1
        movable = (quota + step >= low) & (quota + step <= high)
        if not movable.any():
            break
        quota[np.argmax(np.where(movable, (exact - quota) * step, -np.inf))] += step
    return quota


def _test_count(test_size, n: int) -> int:
    if isinstance(test_size, (int, np.integer)) and not isinstance(test_size, bool):
        count = int(test_size)
    elif isinstance(test_size, (float, np.floating)) and 0 < test_size < 1:
        count = int(round(test_size * n))
    else:
        raise ValueError(
            f"test_size={test_size!r}: expected a fraction between 0 and 1 (e.g. 0.2) "
            "or a whole number of samples"
        )
    if not 1 <= count < n:
        raise ValueError(
            f"test_size={test_size!r} gives {count} test samples out of {n}: both parts "
            "need at least one sample; choose a different test_size"
        )
    return count
