"""Layer sizes from ``--layers`` and the error type of bad options.

Kept apart from ``experiment`` so that the modules that check settings
(``run_settings``) and the one that runs them import one way.
"""

from __future__ import annotations


class ConfigError(ValueError):
    """A bad option value: the CLI reports it as a usage error (exit code 2)."""


# 10^8 weights are 400 MB in float32, and training holds several copies (gradients,
# optimizer state): more is a typo on a CPU, refused before anything is allocated.
MAX_WEIGHTS = 10**8


def parse_layers(spec: str | None, n_features, n_classes, default=(64,)) -> list[int]:
    """Turn ``"784-256-128-10"`` (full) or ``"256-128"`` (hidden only) into layer sizes.

    The rule never guesses. One number is one hidden layer. Two or more numbers
    are the full sizes when they start with the number of features and end with
    the number of classes, and the hidden sizes when they do neither. A spec that
    does only one of the two (``64-128-11`` on 64 features and 10 classes, or
    ``784-30-10`` on the 64-feature digits) contradicts the data and is refused,
    naming the mismatch: hidden layers that happen to start with the feature count
    or end with the class count are written as the full sizes (``64-64-32-10``).
    With ``n_features=None`` the spec is taken as every size. Networks of more than
    ``MAX_WEIGHTS`` weights are refused before anything is allocated.
    """
    if spec is None or str(spec).strip() == "":
        return [n_features, *default, n_classes]
    parts = str(spec).replace(",", "-").split("-")
    try:
        sizes = [int(p) for p in parts]
    except ValueError:
        example = "4-5-3" if n_features is None else f"{n_features}-128-{n_classes}"
        raise ConfigError(
            f"malformed --layers {spec!r}: use sizes joined by '-', e.g. "
            f"{example} or just the hidden sizes, e.g. 128-64"
        ) from None
    if min(sizes) < 1:
        raise ConfigError(f"malformed --layers {spec!r}: every size must be a positive integer")
    if n_features is None:  # no data to compare with: the spec is every size (gradcheck)
        return _bounded(spec, sizes)
    starts, ends = sizes[0] == n_features, sizes[-1] == n_classes
    if len(sizes) == 1 or (not starts and not ends):
        return _bounded(spec, [n_features, *sizes, n_classes])
    if starts and ends:
        return _bounded(spec, sizes)
    full = "-".join(map(str, [n_features, *(sizes[1:-1] or [128]), n_classes]))
    as_hidden = "-".join(map(str, [n_features, *sizes, n_classes]))
    if starts:
        problem = (
            f"starts with the {n_features} input features but ends with {sizes[-1]}, "
            f"and the data has {n_classes} classes"
        )
    else:
        problem = (
            f"ends with the {n_classes} classes but starts with {sizes[0]}, "
            f"and the data has {n_features} features"
        )
    raise ConfigError(
        f"--layers {spec} {problem}: give the full sizes, e.g. {full}, or, if "
        f"{'-'.join(map(str, sizes))} are all hidden layers, write {as_hidden}"
    )


def _bounded(spec, sizes: list[int]) -> list[int]:
    weights = sum(a * b for a, b in zip(sizes[:-1], sizes[1:], strict=False))
    if weights > MAX_WEIGHTS:
        raise ConfigError(
            f"--layers {spec} makes a {'-'.join(map(str, sizes))} network of {weights:,} "
            f"weights, more than the {MAX_WEIGHTS:,} this CPU library trains: use smaller layers"
        )
    return sizes
