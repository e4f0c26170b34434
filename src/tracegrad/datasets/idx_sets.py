"""MNIST and Fashion-MNIST: where their files are looked for, checked and fetched.

Both ship as the same four gzipped IDX files, 28x28 grey images with labels
0-9 and an official 60,000 / 10,000 train/test split. Pixels are returned as
float32 in [0, 255]; scaling is left to ``Scaler`` so that it is visible and
saved with the model.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .base import CorruptDatasetError, Dataset, DatasetNotFoundError
from .idx import IMAGES_MAGIC, LABELS_MAGIC, read_idx, verify_file

SPLIT_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}

# Size and SHA-256 of the original distribution files (see shared/data/README.md;
# the Fashion-MNIST digests were computed from files whose MD5 match the ones
# Zalando publishes).
CHECKSUMS = {
    "mnist": {
        "train-images-idx3-ubyte.gz": (
            9912422,
            "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
        ),
        "train-labels-idx1-ubyte.gz": (
            28881,
            "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
        ),
        "t10k-images-idx3-ubyte.gz": (
            1648877,
            "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        ),
        "t10k-labels-idx1-ubyte.gz": (
            4542,
            "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
        ),
    },
    "fashion-mnist": {
        "train-images-idx3-ubyte.gz": (
            26421880,
            "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
        ),
        "train-labels-idx1-ubyte.gz": (
            29515,
            "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
        ),
        "t10k-images-idx3-ubyte.gz": (
            4422102,
            "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
        ),
        "t10k-labels-idx1-ubyte.gz": (
            5148,
            "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
        ),
    },
}

MIRRORS = {
    "mnist": [
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "http://yann.lecun.com/exdb/mnist/",
    ],
    "fashion-mnist": ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"],
}

CLASS_NAMES = {
    "mnist": [str(d) for d in range(10)],
    "fashion-mnist": [
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ],
}

DESCRIPTIONS = {
    "mnist": (
        "MNIST handwritten digits (LeCun, Cortes and Burges): 28x28 grey images of the "
        "digits 0-9, 60,000 for training and 10,000 for testing. Features are the 784 "
        "pixels, row by row, as float32 in [0, 255]."
    ),
    "fashion-mnist": (
        "Fashion-MNIST (Zalando Research, MIT license): 28x28 grey images of 10 kinds of "
        "clothing, 60,000 for training and 10,000 for testing, a drop-in and harder "
        "replacement for MNIST. Features are the 784 pixels as float32 in [0, 255]."
    ),
}


def mnist(data_dir=None, split: str = "train", download: bool = False, verify: bool = True):
    """The MNIST handwritten digits, one official split.

    Parameters
    ----------
    data_dir : str or Path, optional
        Directory holding the four ``.gz`` files (or a subfolder ``mnist``).
        Without it, ``$TRACEGRAD_DATA`` (and its ``mnist`` subfolder) and then
        the per-user cache ``~/.cache/tracegrad/mnist`` are searched.
    split : {"train", "test"}, default "train"
        The 60,000 training or the 10,000 test images.
    download : bool, default False
        Fetch missing or damaged files from the public mirrors.
    verify : bool, default True
        Check size and SHA-256 against the published files; turn off only for
        a copy that was recompressed on purpose.

    Returns
    -------
    Dataset
        X float32 of shape (n, 784) in [0, 255], y int64, image_shape (28, 28).
    """
    return load_idx_set("mnist", data_dir, split, download, verify)


def fashion_mnist(data_dir=None, split: str = "train", download: bool = False, verify=True):
    """Fashion-MNIST clothing images, one official split.

    Parameters
    ----------
    data_dir : str or Path, optional
        Directory holding the four ``.gz`` files (or a subfolder ``fashion-mnist``).
        Without it, ``$TRACEGRAD_DATA`` (and its ``fashion-mnist`` subfolder) and then
        the per-user cache ``~/.cache/tracegrad/fashion-mnist`` are searched.
    split : {"train", "test"}, default "train"
        The 60,000 training or the 10,000 test images.
    download : bool, default False
        Fetch missing or damaged files from the public mirrors.
    verify : bool, default True
        Check size and SHA-256 against the published files.

    Returns
    -------
    Dataset
        X float32 of shape (n, 784) in [0, 255], y int64 (10 classes), image_shape (28, 28).
    """
    return load_idx_set("fashion-mnist", data_dir, split, download, verify)


def load_idx_set(name: str, data_dir, split: str, download: bool, verify: bool) -> Dataset:
    """Find (or fetch), check and parse one split of an IDX data set."""
    if split not in SPLIT_FILES:
        raise ValueError(f"split={split!r}: expected 'train' or 'test'")
    needed = SPLIT_FILES[split]
    candidates = candidate_dirs(name, data_dir)
    folder = next((d for d in candidates if all((d / f).is_file() for f in needed)), None)
    if folder is None and not download:
        raise _not_found(name, candidates)
    if download:
        folder = folder or download_dir(name, data_dir)
        _fetch_missing(name, folder, needed)
    images_path, labels_path = (folder / f for f in needed)
    if verify:
        for path in (images_path, labels_path):
            verify_file(path, *CHECKSUMS[name][path.name], known=_known_files())
    images = read_idx(images_path, IMAGES_MAGIC)
    labels = read_idx(labels_path, LABELS_MAGIC)
    if len(images) != len(labels):
        raise ValueError(
            f"{images_path.name} has {len(images)} images but {labels_path.name} has "
            f"{len(labels)} labels: the files come from different sets; download them again"
        )
    return Dataset(
        images.reshape(len(images), -1).astype(np.float32),
        labels.astype(np.int64),
        name=name,
        description=DESCRIPTIONS[name],
        class_names=list(CLASS_NAMES[name]),
        image_shape=images.shape[1:],
    )


def candidate_dirs(name: str, data_dir=None) -> list[Path]:
    """Directories searched for ``name``'s files, in order."""
    if data_dir is not None:
        root = Path(data_dir).expanduser()
        return [root / name, root]
    found = []
    env = os.environ.get("TRACEGRAD_DATA")
    if env:
        root = Path(env).expanduser()
        found += [root / name, root]
    return found + [cache_dir(name)]


def cache_dir(name: str) -> Path:
    """Per-user cache: ``$XDG_CACHE_HOME/tracegrad/<name>``, else ``~/.cache/tracegrad/<name>``."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "tracegrad" / name


def download_dir(name: str, data_dir=None) -> Path:
    """Where ``download=True`` puts files: data_dir, else $TRACEGRAD_DATA/<name>, else the cache."""
    if data_dir is not None:
        return Path(data_dir).expanduser()
    env = os.environ.get("TRACEGRAD_DATA")
    return Path(env).expanduser() / name if env else cache_dir(name)


def _fetch_missing(name: str, folder: Path, files) -> None:
    from .download import download_file

    for filename in files:
        size, sha256 = CHECKSUMS[name][filename]
        path = folder / filename
        if path.is_file():
            try:
                verify_file(path, size, sha256)
                continue
            except CorruptDatasetError:
                pass  # damaged or wrong: replace it
        download_file([base + filename for base in MIRRORS[name]], path, sha256, size)


def _known_files() -> dict[str, str]:
    return {
        sha: f"the {set_name} file {filename}"
        for set_name, files in CHECKSUMS.items()
        for filename, (_, sha) in files.items()
    }


def _not_found(name: str, candidates) -> DatasetNotFoundError:
    tried = ", ".join(str(d) for d in candidates)
    expected = ", ".join(f for pair in SPLIT_FILES.values() for f in pair)
    # One line: the CLI prints errors as a single line.
    return DatasetNotFoundError(
        f"{name} files not found in {tried}; expected {expected}. "
        f"Fix: put them in one of those directories and pass --data-dir DIR (data_dir=DIR), "
        f"or set the TRACEGRAD_DATA environment variable to their directory, or fetch them "
        f"with --download (download=True)."
    )
