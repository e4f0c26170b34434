"""Preparing a picture of one digit (or garment) the way a training set's images were.

A network trained on the 8x8 digits or on MNIST has only ever seen images made
by one fixed procedure: the ink cropped, scaled into a box and centred in a
particular way, light ink on a dark ground, pixels on the set's own scale. A
photo or a drawing from a paint program looks nothing like that until it goes
through the same procedure, so each image data set names its procedure here
(``PREPARATIONS``) and ``prepare`` applies it. The model's own scaler then
treats the result exactly like a training row.

The steps, all on a float "ink" map (0 = ground, 1 = full ink):

1. ``ink_map``: transparency composited, grey levels, polarity decided from
   the image itself (the ground is what fills the border), contrast stretched.
2. one preparation: ``optdigits`` (the bundled 8x8 digits), ``nist`` (MNIST)
   or ``fashion`` (Fashion-MNIST).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Below this contrast (on a 0..1 grey scale) a picture has no ink to read.
_MIN_CONTRAST = 0.1
# Ink fainter than this is paper texture, scanner noise or JPEG ringing.
_NOISE_FLOOR = 0.15
# Pixels at least this dark(light) count when finding the ink's bounding box.
_BOX_LEVEL = 0.3


@dataclass(frozen=True)
class Preparation:
    """How one data set's images were made from the original drawings."""

    name: str
    side: int  # the model sees side x side pixels
    pixel_max: float  # full ink on the training data's raw scale
    summary: str

    def apply(self, ink: np.ndarray) -> np.ndarray:
        """Features (``side * side`` float32, 0..``pixel_max``) from an ink map."""
        place, measure, limits = _STEPS[self.name]
        ink = _crop_to_ink(ink)
        grid = place(ink) if measure is None else _normal_stroke(ink, place, measure, limits)
        return (grid * self.pixel_max).astype(np.float32).reshape(-1)


OPTDIGITS = Preparation(
    "optdigits",
    8,
    16.0,
    "crop to the ink, scale it to fill a 32x32 box keeping its aspect ratio, centre it, "
    "count the ink in each 4x4 block (0..16), as UCI optdigits / sklearn load_digits",
)
NIST = Preparation(
    "nist",
    28,
    255.0,
    "crop to the ink, fit it in a 20x20 box keeping its aspect ratio (anti-aliased), place "
    "its centre of mass at the centre of 28x28, ink 0..255, as MNIST",
)
FASHION = Preparation(
    "fashion",
    28,
    255.0,
    "trim the ground, scale the longest edge to 28, centre the shorter one, ink 0..255, "
    "as Fashion-MNIST",
)

# The image data sets of ``datasets.available()`` and how their images were made.
PREPARATIONS = {"digits": OPTDIGITS, "mnist": NIST, "fashion-mnist": FASHION}
# A model trained on some other file still gets the standard procedure for its size.
_BY_FEATURES = {64: OPTDIGITS, 784: NIST}


def preparation_for(n_features: int, dataset: str | None = None) -> Preparation:
    """The procedure that made the training images of a model.

    Parameters
    ----------
    n_features : int
        What the model's first layer takes: 64 (8x8 digits) or 784 (28x28).
    dataset : str, optional
        The data set recorded in the model file; when it is one of
        ``PREPARATIONS`` (and has the right size) its own procedure applies,
        otherwise the standard one for ``n_features``.

    Raises
    ------
    ValueError
        When no image preparation has ``n_features`` pixels.
    """
    key = str(dataset or "").strip().lower().replace("_", "-")
    known = PREPARATIONS.get(key)
    if known is not None and known.side**2 == n_features:
        return known
    if n_features in _BY_FEATURES:
        return _BY_FEATURES[n_features]
    raise ValueError(
        f"the model expects {n_features} features, but images can only be prepared for "
        "8x8 digits models (64 features) or 28x28 MNIST-like models (784); "
        "give the features as .npy or .csv rows instead"
    )


def recorded_dataset(metadata) -> str | None:
    """The training data set's name as a model file records it, or None."""
    if not isinstance(metadata, dict):
        return None
    for value in (
        metadata.get("dataset"),
        (metadata.get("config") or {}).get("dataset"),
        (metadata.get("metrics") or {}).get("dataset"),
    ):
        if isinstance(value, dict):
            value = value.get("name")
        if isinstance(value, str) and value:
            return value
    return None


def prepare(image, n_features: int, dataset: str | None = None) -> np.ndarray:
    """Features of one picture, prepared like the model's training images.

    Parameters
    ----------
    image : PIL.Image.Image
        Any mode: grey, colour, palette, with or without transparency, either
        polarity (dark ink on light paper or light ink on a dark ground).
    n_features, dataset
        See ``preparation_for``.

    Returns
    -------
    numpy.ndarray of float32, shape (n_features,)
        Raw pixels on the training set's scale (0..16 or 0..255, ink high),
        ready for the model's saved scaler.
    """
    return preparation_for(n_features, dataset).apply(ink_map(image))


def ink_map(image) -> np.ndarray:
    """Float64 map of the ink, 0 (ground) .. 1 (full ink), of any PIL image.

    Transparency is composited over the colour that contrasts with the
    visible pixels: a canvas export holds its digit in the alpha channel
    only, and black strokes over transparent black vanish over black while
    white strokes vanish over white. The ground is then the median of the
    border, and ink is what departs from it most (darker or lighter).
    """
    grey, alpha = _grey_and_alpha(image)
    if alpha is not None and alpha.min() < 0.99:
        seen = alpha > 0.5
        content = float(np.median(grey[seen])) if seen.any() else 0.0
        ground = 0.0 if content > 0.5 else 1.0
        grey = alpha * grey + (1.0 - alpha) * ground
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    ground = float(np.median(border))
    darker, lighter = ground - grey, grey - ground
    ink = darker if darker.max() >= lighter.max() else lighter
    contrast = float(ink.max())
    if contrast < _MIN_CONTRAST:
        raise ValueError(
            "the image is blank (no ink stands out from the background); "
            "draw the digit in a colour that contrasts with the background"
        )
    ink = np.clip(ink / contrast, 0.0, 1.0)
    return np.clip((ink - _NOISE_FLOOR) / (1.0 - _NOISE_FLOOR), 0.0, 1.0)


def _grey_and_alpha(image):
    """Grey levels in [0, 1] (and alpha in [0, 1], or None) as float64 arrays."""
    mode = image.mode
    if mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):  # 16-bit or float grey
        grey = np.asarray(image, dtype=np.float64)
        low, high = float(grey.min()), float(grey.max())
        return (grey - low) / (high - low if high > low else 1.0), None
    has_alpha = mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info
    if not has_alpha:
        return np.asarray(image.convert("L"), dtype=np.float64) / 255.0, None
    rgba = image.convert("RGBA")
    grey = np.asarray(rgba.convert("L"), dtype=np.float64) / 255.0
    alpha = np.asarray(rgba.getchannel("A"), dtype=np.float64) / 255.0
    return grey, alpha


def _crop_to_ink(ink: np.ndarray) -> np.ndarray:
    rows = np.flatnonzero((ink >= _BOX_LEVEL).any(axis=1))
    cols = np.flatnonzero((ink >= _BOX_LEVEL).any(axis=0))
    return ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def _fit(ink: np.ndarray, box: int) -> np.ndarray:
    """Scale so the longer side is ``box`` pixels, keeping the aspect ratio, anti-aliased.

    Shrinking averages areas (what rendering a sharp drawing at a coarser
    grid does); enlarging a small picture interpolates.
    """
    from PIL import Image

    h, w = ink.shape
    factor = box / max(h, w)
    size = (max(1, round(w * factor)), max(1, round(h * factor)))
    resample = Image.Resampling.BOX if factor < 1 else Image.Resampling.BILINEAR
    img = Image.fromarray(ink.astype(np.float32), mode="F").resize(size, resample)
    return np.clip(np.asarray(img, dtype=np.float64), 0.0, 1.0)


def _normal_stroke(ink, place, measure, limits, steps=16) -> np.ndarray:
    """``place(ink)`` with the pen widened or narrowed into the training set's range.

    The ink is worked on at 160 pixels, where one 3x3 dilation (or erosion)
    changes a stroke by 2 pixels, a fraction of a pixel of the final image;
    it stops at the typical value or before the ink vanishes.
    """
    low, typical, high = limits
    grid = place(ink)
    value = measure(grid)
    if low <= value <= high:
        return grid
    work = np.pad(_fit(ink, 160), steps + 1)
    grow = value < low
    for _ in range(steps):
        work = _morph(work, np.maximum if grow else np.minimum)
        if work.max() < _BOX_LEVEL:
            break
        grid = place(_crop_to_ink(work))
        value = measure(grid)
        if (value >= typical) if grow else (value <= typical):
            break
    return grid


def _morph(a: np.ndarray, pick) -> np.ndarray:
    """Grey dilation (``np.maximum``) or erosion (``np.minimum``) by a 3x3 square."""
    p = np.pad(a, 1, mode="edge")
    h, w = a.shape
    out = a.copy()
    for dy in range(3):
        for dx in range(3):
            out = pick(out, p[dy : dy + h, dx : dx + w])
    return out


def _paste(canvas: np.ndarray, part: np.ndarray, top: int, left: int) -> np.ndarray:
    h, w = part.shape
    top = min(max(top, 0), canvas.shape[0] - h)
    left = min(max(left, 0), canvas.shape[1] - w)
    canvas[top : top + h, left : left + w] = part
    return canvas


def _optdigits(ink: np.ndarray) -> np.ndarray:
    # The optdigits bitmaps are 32x32 with the digit filling the box (every
    # training digit's ink spans all 8 rows), counted in 4x4 blocks.
    part = _fit(ink, 32)
    h, w = part.shape
    bitmap = _paste(np.zeros((32, 32)), part, (32 - h) // 2, (32 - w) // 2)
    return bitmap.reshape(8, 4, 8, 4).mean(axis=(1, 3))  # x 16 = the count of ink pixels


def _nist(ink: np.ndarray) -> np.ndarray:
    part = _fit(ink, 20)
    part = part / part.max()  # every MNIST digit reaches at least 250 of 255 (measured)
    ys, xs = np.indices(part.shape)
    mass = part.sum()
    cy, cx = (ys * part).sum() / mass, (xs * part).sum() / mass
    # MNIST's centres of mass average (14.0, 14.0) in row/column indices (measured).
    return _paste(np.zeros((28, 28)), part, round(14.0 - cy), round(14.0 - cx))


def _fashion(ink: np.ndarray) -> np.ndarray:
    part = _fit(ink, 28)
    h, w = part.shape
    return _paste(np.zeros((28, 28)), part, (28 - h) // 2, (28 - w) // 2)


def _ink_pixels(grid: np.ndarray) -> float:
    """Ink of an optdigits grid in pixels of its 32x32 bitmap."""
    return float(grid.sum() * 16)


def _stroke_width(grid: np.ndarray) -> float:
    """Mean stroke width in pixels: a stroke of width w and length L has area w L, edges 2 L."""
    edges = np.abs(np.diff(grid, axis=0)).sum() + np.abs(np.diff(grid, axis=1)).sum()
    return float(2 * grid.sum() / max(edges, 1e-12))


# Each preparation, and the stroke measure its training images keep within
# (low, typical, high): the 5th, 50th and 95th percentiles over the training
# set. A pen much thinner or thicker than the training set's is a difference
# the network never saw, so strokes outside that range are thickened (or
# thinned) to the typical value. Measured: optdigits' ink, 261, 313 and 368 of
# 1024 pixels (the same for every class); MNIST's stroke width, 1.34, 1.98 and
# 3.05 pixels (1.85-2.15 per class; first 20,000 training images).
_STEPS = {
    "optdigits": (_optdigits, _ink_pixels, (261.0, 313.0, 368.0)),
    "nist": (_nist, _stroke_width, (1.34, 1.98, 3.05)),
    "fashion": (_fashion, None, None),
}
