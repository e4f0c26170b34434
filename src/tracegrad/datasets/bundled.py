"""Data sets that come with an installed package, so they need no download."""

from __future__ import annotations

import numpy as np

from .base import Dataset


def digits() -> Dataset:
    """scikit-learn's 8x8 handwritten digits: 1,797 images, pixel values 0..16.

    A copy of the test set of the UCI "Optical Recognition of Handwritten
    Digits" data; small enough to train on in seconds.

    Returns
    -------
    Dataset
        X float32 of shape (1797, 64), y int64 in 0..9, image_shape (8, 8).
    """
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return Dataset(
        bunch.data.astype(np.float32),
        bunch.target.astype(np.int64),
        name="digits",
        class_names=[str(d) for d in range(10)],
        image_shape=(8, 8),
        description=(
            "Handwritten digits bundled with scikit-learn (UCI optical recognition data): "
            "1,797 grey 8x8 images of the digits 0-9, features are the 64 pixels as "
            "float32 in 0..16. No official split: load() makes a stratified one."
        ),
    )
