"""Minibatches: every sample exactly once per epoch, in a fresh order each epoch."""

from __future__ import annotations

import numpy as np

from .base import make_rng


class Batches:
    """Iterable over ``(xb, yb)`` minibatches of ``X`` and ``y``.

    Each ``iter()`` is one epoch: with ``shuffle`` it draws a new permutation
    from ``rng``, so two epochs see the samples in different orders while a
    seeded Generator makes the whole sequence reproducible.

    Parameters
    ----------
    X : numpy.ndarray, shape (n, ...)
        Samples; batches keep its dtype (float32 stays float32).
    y : numpy.ndarray, shape (n, ...)
        Targets, row for row with ``X``.
    batch_size : int
        Samples per batch, at least 1.
    shuffle : bool
        Draw a new order each epoch; otherwise rows come in order.
    rng : numpy.random.Generator, optional
        Source of the permutations; defaults to ``numpy.random.default_rng(0)``.
    drop_last : bool
        Skip a final batch smaller than ``batch_size``; by default it is kept
        so every sample is used.

    Examples
    --------
    >>> X, y = np.zeros((100, 2), dtype=np.float32), np.arange(100)
    >>> batches = Batches(X, y, batch_size=32, rng=np.random.default_rng(0))
    >>> len(batches), [len(yb) for xb, yb in batches]
    (4, [32, 32, 32, 4])
    """

    def __init__(self, X, y, batch_size: int, shuffle=True, rng=None, drop_last=False):
        X, y = np.asarray(X), np.asarray(y)
        if len(X) != len(y):
            raise ValueError(f"X has {len(X)} samples but y has {len(y)}: they must match")
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)):
            raise TypeError(f"batch_size must be an int, got {batch_size!r}")
        if batch_size < 1:
            raise ValueError(f"batch_size={batch_size}: use at least 1 sample per batch")
        self.X, self.y = X, y
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.rng = make_rng(rng) if shuffle else rng
        self.drop_last = drop_last

    @property
    def n_samples(self) -> int:
        return len(self.X)

    def __len__(self) -> int:
        """Number of batches per epoch."""
        if self.drop_last:
            return self.n_samples // self.batch_size
        return -(-self.n_samples // self.batch_size)

    def __iter__(self):
        # The order is drawn here, when the epoch starts, not at the first next().
        n = self.n_samples
        order = self.rng.permutation(n) if self.shuffle else np.arange(n)
        return self._epoch(order)

    def _epoch(self, order):
        for b in range(len(self)):
            idx = order[b * self.batch_size : (b + 1) * self.batch_size]
            # Fancy indexing returns new arrays, so callers may keep or modify
            # a batch without touching the data set.
            yield self.X[idx], self.y[idx]

    def __repr__(self) -> str:
        return (
            f"Batches({self.n_samples} samples, batch_size={self.batch_size}, "
            f"{len(self)} batches, shuffle={self.shuffle}, drop_last={self.drop_last})"
        )
