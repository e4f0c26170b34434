"""Loading any data set by name (or file path) as a (train, test) pair."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .bundled import digits
from .files import SUFFIXES, load_file
from .generated import blobs, circles, moons, spirals, xor
from .idx_sets import fashion_mnist, mnist
from .split import train_test_split
from .targets import REGRESSION_SETS, read_file, split

# Sets with an official train/test split, and sets split here.
_OFFICIAL = {"mnist": mnist, "fashion-mnist": fashion_mnist}
_GENERATED = {"xor": xor, "moons": moons, "circles": circles, "spirals": spirals, "blobs": blobs}


def available() -> list[str]:
    """Names that ``load`` (classification) or ``load_targets`` (regression) accept."""
    return [*_OFFICIAL, "digits", *_GENERATED, *REGRESSION_SETS]


def load(name_or_path, data_dir=None, download=False, seed=0, test_size=0.2, **options):
    """Load a data set as ``(train, test)`` Datasets.

    Parameters
    ----------
    name_or_path : str or Path
        One of ``available()`` (``fashion_mnist`` is accepted too), or the
        path of a ``.npy``, ``.npz`` or ``.csv`` file (see ``load_file``).
    data_dir : str or Path, optional
        Where MNIST / Fashion-MNIST files are (see ``mnist``).
    download : bool
        Fetch missing MNIST / Fashion-MNIST files.
    seed : int
        Seeds the generated data and the split, so a seed reproduces both.
    test_size : float or int
        Test fraction (or count) for sets without an official split;
        MNIST and Fashion-MNIST always use their official 60,000 / 10,000.
    **options
        Passed to the generator (e.g. ``n_samples=1000, noise=0.2``) or to
        ``load_file`` (``label_column=...``).

    Returns
    -------
    train, test : Dataset
    """
    key = str(name_or_path).strip().lower().replace("_", "-")
    if key in _OFFICIAL or key == "digits":
        if options:
            raise TypeError(f"{key} takes no options, got {sorted(options)}")
        if key == "digits":
            return train_test_split(digits(), test_size, seed=seed)
        return (
            _OFFICIAL[key](data_dir, split="train", download=download),
            _OFFICIAL[key](data_dir, split="test", download=download),
        )
    if key in REGRESSION_SETS:
        raise ValueError(
            f"{key} has continuous targets, not classes: train it with --task regression "
            "(datasets.load_targets in Python)"
        )
    rng = np.random.default_rng(seed)
    if key in _GENERATED:
        return train_test_split(_GENERATED[key](rng=rng, **options), test_size, rng)
    path = Path(name_or_path).expanduser()
    if path.is_file():
        return train_test_split(load_file(path, **options), test_size, rng)
    missing = f" (no file at {path})" if path.suffix.lower() in SUFFIXES else ""
    raise ValueError(
        f"unknown data set {str(name_or_path)!r}{missing}: choose one of "
        f"{', '.join(available())}, or give the path of a {', '.join(SUFFIXES)} file"
    )


def load_targets(name_or_path, seed=0, test_size=0.2, **options):
    """``(train, test)`` Targets for a regression set's name or a .npy/.npz/.csv file.

    Parameters
    ----------
    name_or_path : str or Path
        A regression set's name (``"sine"``) or a .npy, .npz or .csv file;
        ValueError for a classification set's name or anything else.
    seed : int, default 0
        Seeds the random split, and the generated sets.
    test_size : float, default 0.2
        The fraction of the samples held out for testing; it must leave at least
        one sample in each part.
    **options
        Passed to the generated set (``n_samples``, ``noise``, ``frequency``) or to
        the file reader (``label_column``).

    Returns
    -------
    train, test : Targets
        The two parts, rows in their original order.
    """
    key = str(name_or_path).strip().lower().replace("_", "-")
    rng = np.random.default_rng(seed)
    if key in REGRESSION_SETS:
        data = REGRESSION_SETS[key](rng=rng, **options)
    elif key in available():
        raise ValueError(
            f"{key} is a classification data set (its labels are classes): a regression "
            f"needs continuous targets, e.g. {', '.join(REGRESSION_SETS)} or a file; or "
            "train a classifier (without --task regression)"
        )
    else:
        path = Path(name_or_path).expanduser()
        if not path.is_file():
            raise ValueError(
                f"unknown regression data set {str(name_or_path)!r}: choose one of "
                f"{', '.join(REGRESSION_SETS)}, or give the path of a .npy, .npz or .csv file"
            )
        data = read_file(path, **options)
    return split(data, test_size, rng)
