"""Small 2-D classification sets drawn from a seeded NumPy Generator.

Each function draws the clean points of every class, adds Gaussian noise of
standard deviation ``noise`` to both coordinates, and shuffles the rows, so a
given ``seed`` (or Generator state) always gives the same Dataset. Classes are
as balanced as ``n_samples`` allows: sizes differ by at most one.
"""

from __future__ import annotations

import numpy as np

from .base import Dataset, make_rng


def _class_sizes(n_samples: int, n_classes: int) -> np.ndarray:
    if int(n_samples) < n_classes:
        raise ValueError(
            f"n_samples={n_samples} is too small for {n_classes} classes: "
            f"ask for at least {n_classes} samples"
        )
    sizes = np.full(n_classes, n_samples // n_classes)
    sizes[: n_samples % n_classes] += 1
    return sizes


def _finish(parts, noise, rng, **meta) -> Dataset:
    if noise < 0:
        raise ValueError(f"noise={noise} is negative: it is a standard deviation, use noise >= 0")
    X = np.concatenate(parts)
    y = np.concatenate([np.full(len(p), k, dtype=np.int64) for k, p in enumerate(parts)])
    X = X + noise * rng.standard_normal(X.shape)
    order = rng.permutation(len(X))
    return Dataset(X[order].astype(np.float32), y[order], **meta)


def xor(n_samples: int = 400, noise: float = 0.1, *, rng=None, seed=None) -> Dataset:
    """Points in the square [-1, 1]^2 labelled by whether x0 and x1 differ in sign.

    No straight line separates the classes: the smallest problem that needs a
    hidden layer. Each class fills two opposite quadrants uniformly.

    Parameters
    ----------
    n_samples : int, default 400
        Number of points, split as evenly as possible over the classes (ValueError
        when fewer than the classes).
    noise : float, default 0.1
        Standard deviation of the Gaussian noise added to both coordinates, >= 0.
    rng : numpy.random.Generator, optional
        Drawn from as it is; otherwise a Generator seeded by ``seed``.
    seed : int, optional
        Seed when ``rng`` is None; 0 when neither is given.

    Returns
    -------
    Dataset
        ``X`` float32 (n_samples, 2), ``y`` int64 class indices, rows shuffled.
    """
    rng = make_rng(rng, seed)
    parts = []
    for k, n in enumerate(_class_sizes(n_samples, 2)):
        points = rng.uniform(0.0, 1.0, size=(n, 2))
        # class 0: same signs, (+,+) or (-,-); class 1: opposite signs.
        sign0 = rng.choice([-1.0, 1.0], size=n)
        sign1 = sign0 if k == 0 else -sign0
        parts.append(points * np.stack([sign0, sign1], axis=1))
    return _finish(
        parts,
        noise,
        rng,
        name="xor",
        class_names=["same sign", "opposite sign"],
        description=(
            f"XOR: {n_samples} points in [-1, 1]^2, class 1 where the two coordinates "
            f"have opposite signs; Gaussian noise std {noise}. Not linearly separable."
        ),
    )


def moons(n_samples: int = 400, noise: float = 0.1, *, rng=None, seed=None) -> Dataset:
    """Two interleaving half circles of radius 1 (the layout of scikit-learn's make_moons).

    Parameters
    ----------
    n_samples : int, default 400
        Number of points, split as evenly as possible over the classes (ValueError
        when fewer than the classes).
    noise : float, default 0.1
        Standard deviation of the Gaussian noise added to both coordinates, >= 0.
    rng : numpy.random.Generator, optional
        Drawn from as it is; otherwise a Generator seeded by ``seed``.
    seed : int, optional
        Seed when ``rng`` is None; 0 when neither is given.

    Returns
    -------
    Dataset
        ``X`` float32 (n_samples, 2), ``y`` int64 class indices, rows shuffled.
    """
    rng = make_rng(rng, seed)
    n0, n1 = _class_sizes(n_samples, 2)
    t0 = rng.uniform(0.0, np.pi, n0)
    t1 = rng.uniform(0.0, np.pi, n1)
    upper = np.stack([np.cos(t0), np.sin(t0)], axis=1)
    lower = np.stack([1.0 - np.cos(t1), 0.5 - np.sin(t1)], axis=1)
    return _finish(
        [upper, lower],
        noise,
        rng,
        name="moons",
        class_names=["upper", "lower"],
        description=(
            f"Two moons: {n_samples} points on two interleaving half circles of radius 1; "
            f"Gaussian noise std {noise}."
        ),
    )


def circles(
    n_samples: int = 400, noise: float = 0.05, factor: float = 0.5, *, rng=None, seed=None
) -> Dataset:
    """A circle of radius 1 (class 0) around a circle of radius ``factor`` (class 1).

    Parameters
    ----------
    n_samples : int, default 400
        Number of points, split as evenly as possible over the classes (ValueError
        when fewer than the classes).
    noise : float, default 0.05
        Standard deviation of the Gaussian noise added to both coordinates, >= 0.
    factor : float, default 0.5
        Radius of the inner circle, strictly between 0 and 1 (ValueError otherwise).
    rng : numpy.random.Generator, optional
        Drawn from as it is; otherwise a Generator seeded by ``seed``.
    seed : int, optional
        Seed when ``rng`` is None; 0 when neither is given.

    Returns
    -------
    Dataset
        ``X`` float32 (n_samples, 2), ``y`` int64 class indices, rows shuffled.
    """
    if not 0 < factor < 1:
        raise ValueError(f"factor={factor}: the inner radius must be between 0 and 1")
    rng = make_rng(rng, seed)
    parts = []
    for radius, n in zip([1.0, factor], _class_sizes(n_samples, 2), strict=True):
        angle = rng.uniform(0.0, 2 * np.pi, n)
        parts.append(radius * np.stack([np.cos(angle), np.sin(angle)], axis=1))
    return _finish(
        parts,
        noise,
        rng,
        name="circles",
        class_names=["outer", "inner"],
        description=(
            f"Concentric circles: {n_samples} points on circles of radius 1 and {factor}; "
            f"Gaussian noise std {noise}. Separable by radius, not by any line."
        ),
    )


def spirals(
    n_samples: int = 600,
    noise: float = 0.05,
    n_classes: int = 3,
    turns: float = 1.0,
    *,
    rng=None,
    seed=None,
) -> Dataset:
    """Spiral arms winding out from the origin, one class per arm.

    Three arms by default (the CS231n layout): a multi-class problem that needs
    a curved boundary, where xor, moons and circles are binary. Pass
    ``n_classes=2`` for the classic two-spirals benchmark.

    Parameters
    ----------
    n_samples : int, default 600
        Number of points, split as evenly as possible over the classes (ValueError
        when fewer than the classes).
    noise : float, default 0.05
        Standard deviation of the Gaussian noise added to both coordinates, >= 0.
    n_classes : int, default 3
        Number of arms, at least 2; arm k starts at angle 2*pi*k/n_classes.
    turns : float, default 1.0
        How many full turns each arm makes from radius 0 to radius 1.
    rng : numpy.random.Generator, optional
        Drawn from as it is; otherwise a Generator seeded by ``seed``.
    seed : int, optional
        Seed when ``rng`` is None; 0 when neither is given.

    Returns
    -------
    Dataset
        ``X`` float32 (n_samples, 2), ``y`` int64 class indices, rows shuffled.
    """
    if n_classes < 2:
        raise ValueError(f"n_classes={n_classes}: a spiral set needs at least 2 arms")
    rng = make_rng(rng, seed)
    parts = []
    for k, n in enumerate(_class_sizes(n_samples, n_classes)):
        radius = rng.uniform(0.0, 1.0, n)
        angle = 2 * np.pi * (k / n_classes + turns * radius)
        parts.append(radius[:, None] * np.stack([np.cos(angle), np.sin(angle)], axis=1))
    return _finish(
        parts,
        noise,
        rng,
        name="spirals",
        class_names=[f"arm {k}" for k in range(n_classes)],
        description=(
            f"Spirals: {n_samples} points on {n_classes} arms making {turns} turns from the "
            f"origin to radius 1; Gaussian noise std {noise}."
        ),
    )


def blobs(n_samples: int = 600, noise: float = 1.0, centers=3, *, rng=None, seed=None) -> Dataset:
    """Gaussian blobs, one class per center.

    Parameters
    ----------
    n_samples : int, default 600
        Number of points, split as evenly as possible over the classes (ValueError
        when fewer than the classes).
    noise : float, default 1.0
        Standard deviation of each blob, >= 0.
    centers : int or array_like, shape (n_classes, 2), default 3
        Either the centers themselves, or how many to place evenly on a circle
        of radius 4 (a fixed layout, so the classes are always apart); at least 2.
    rng : numpy.random.Generator, optional
        Drawn from as it is; otherwise a Generator seeded by ``seed``.
    seed : int, optional
        Seed when ``rng`` is None; 0 when neither is given.

    Returns
    -------
    Dataset
        ``X`` float32 (n_samples, 2), ``y`` int64 class indices, rows shuffled.
    """
    rng = make_rng(rng, seed)
    if np.ndim(centers) == 0:
        k = int(centers)
        if k < 2:
            raise ValueError(f"centers={centers}: need at least 2 classes")
        angle = 2 * np.pi * np.arange(k) / k
        centers = 4.0 * np.stack([np.cos(angle), np.sin(angle)], axis=1)
    centers = np.asarray(centers, dtype=np.float64)
    if centers.ndim != 2 or centers.shape[1] != 2 or len(centers) < 2:
        raise ValueError(
            f"centers has shape {centers.shape}: expected (n_classes, 2) with at least "
            "2 rows, or an int number of classes"
        )
    sizes = _class_sizes(n_samples, len(centers))
    parts = [np.repeat(c[None, :], n, axis=0) for c, n in zip(centers, sizes, strict=True)]
    return _finish(
        parts,
        noise,
        rng,
        name="blobs",
        class_names=[f"blob {k}" for k in range(len(centers))],
        description=(
            f"Blobs: {n_samples} points around {len(centers)} centers, Gaussian noise "
            f"std {noise} in each coordinate."
        ),
    )
