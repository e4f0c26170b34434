"""Data sets: loading, splitting, scaling and minibatches.

Every loader returns a ``Dataset`` (float32 ``X`` of shape (n, features),
int64 ``y`` in ``0..K-1``, class names). ``load(name)`` gives a (train, test)
pair for any name in ``available()`` or a user's .npy/.npz/.csv file.
Only NumPy is imported here; scikit-learn, tqdm and urllib are imported by
the functions that need them.
"""

from .base import CorruptDatasetError, Dataset, DatasetNotFoundError
from .batches import Batches
from .bundled import digits
from .download import DownloadError
from .files import load_file
from .generated import blobs, circles, moons, spirals, xor
from .idx_sets import fashion_mnist, mnist
from .registry import available, load, load_targets
from .scaling import Scaler
from .split import split_indices, train_test_split
from .targets import Targets, sine

__all__ = [
    "Batches",
    "CorruptDatasetError",
    "Dataset",
    "DatasetNotFoundError",
    "DownloadError",
    "Scaler",
    "Targets",
    "available",
    "blobs",
    "circles",
    "digits",
    "fashion_mnist",
    "load",
    "load_file",
    "load_targets",
    "mnist",
    "moons",
    "sine",
    "spirals",
    "split_indices",
    "train_test_split",
    "xor",
]
