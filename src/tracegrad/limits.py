"""How much a file, a download or a command may make tracegrad allocate.

Every reader of a file that may be hostile (data sets, model files,
checkpoints, images, downloads) checks the sizes the file *declares* (zip
headers, ``.npy`` headers, IDX headers, image headers, line lengths) against
these limits before it allocates or inflates anything, so a small file that
promises gigabytes is refused in one line, at once, in little memory.

The defaults admit the real data sets with room to spare (MNIST's 60000x784
pixels are 188 MB as float32, 376 MB as float64). To go beyond them, set an
environment variable named ``TRACEGRAD_`` + the limit's name, e.g.
``TRACEGRAD_MAX_ARRAY_BYTES=4G``, or assign the module attribute from Python
(``tracegrad.limits.MAX_ARRAY_BYTES = 4 << 30``); readers look limits up when
they run, through :func:`get`.
"""

from __future__ import annotations

import os
import re

#: Memory the arrays of one file may take once loaded: the sum over a .npz's
#: entries, a .npy, an IDX file, a CSV's rows. Values count at least 4 bytes
#: each, since data become float32 (so 512 MiB of uint8 pixels is not admitted
#: as 512 MiB when it turns into 2 GiB of floats).
MAX_ARRAY_BYTES = 512 << 20

#: Entries in one .npz archive. Data files hold 2-3, model files a few per layer.
MAX_ARCHIVE_ENTRIES = 1024

#: Bytes of one zip's central directory (the list of entries), read in one go.
MAX_ZIP_DIRECTORY_BYTES = 1 << 20

#: Bytes of one JSON entry of a model file or checkpoint (configuration,
#: metadata, history): a few KB in practice; parsed JSON takes ~30x its text.
MAX_JSON_BYTES = 16 << 20

#: Characters in one line of a CSV file (784 pixels as text take about 3,000).
MAX_LINE_CHARS = 1 << 20

#: Characters in one label of a CSV file (class names such as "Ankle boot").
MAX_LABEL_CHARS = 100

#: Pixels of an image given to ``predict``, checked from its header before
#: decoding (a 12-megapixel photo is admitted; a 100,000 x 100,000 PNG of
#: zeros, a few megabytes on disk, is not).
MAX_IMAGE_PIXELS = 50_000_000

#: Bytes a download may write when no expected size is known.
MAX_DOWNLOAD_BYTES = 1 << 30

#: ``tracegrad gradcheck``: samples per check, entries checked per parameter,
#: and the network's size (weights plus samples x units, all float64).
GRADCHECK_MAX_SAMPLES = 1000
GRADCHECK_MAX_CHECKS = 100_000
GRADCHECK_MAX_VALUES = 20_000_000

_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def get(name: str) -> int:
    """The limit ``name``: ``$TRACEGRAD_<name>`` when set, else this module's value.

    The variable takes a whole number with an optional K, M, G or T suffix
    (powers of 1024), e.g. ``2G``; anything else is refused naming it.
    """
    default = globals()[name]
    text = os.environ.get(f"TRACEGRAD_{name}")
    if text is None:
        return int(default)
    match = re.fullmatch(r"\s*(\d+)\s*([KMGT]?)i?B?\s*", text.upper())
    if not match:
        raise ValueError(
            f"TRACEGRAD_{name}={text!r} is not a size: give a whole number, optionally with "
            "K, M, G or T (e.g. 2G), or unset it to use the default"
        )
    return int(match[1]) * _UNITS[match[2]]


def describe_bytes(n: int) -> str:
    """``n`` bytes for a message: '3.5 GiB', '12.0 MiB', '512 bytes'."""
    for unit, size in (("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} bytes"


def over_limit(what: str, amount: int, name: str) -> str:
    """The sentence refusing ``amount`` bytes over the limit ``name``, saying how to raise it."""
    return (
        f"{what} {describe_bytes(amount)}, over the limit of {describe_bytes(get(name))}; if "
        f"the file is genuine, raise it with the environment variable TRACEGRAD_{name}"
    )
