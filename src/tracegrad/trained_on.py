"""What a model file records about its training data, so new data is read and checked alike.

The record (``model.trained_on`` once loaded) holds the data set's ``name``,
the ``source`` that ``datasets.load`` reloads it from, ``n_features``, and for
files the columns: ``feature_names``, ``label_name``, and where the label
stood (``label_index`` of ``n_columns``). ``predict`` drops a label column by
that name and refuses other columns; ``evaluate`` defaults to the source.
"""

from __future__ import annotations

from .layer_files import INT, check, typed


def describe_data(dataset, source: str | None = None) -> dict:
    """What a model file records about its training data, from a ``Dataset``.

    Parameters
    ----------
    dataset : Dataset
        The training data: its name, feature count and ``columns`` are recorded.
    source : str, optional
        What ``datasets.load`` reloads it from (a registered name or a file's
        absolute path); by default the data set's name.

    Returns
    -------
    dict
        ``name``, ``source``, ``n_features``, ``feature_names``, ``label_name``,
        ``label_index`` and ``n_columns`` (the last four None when unknown).
    """
    columns = dataset.columns or {}
    return {
        "name": str(dataset.name),
        "source": str(source if source is not None else dataset.name),
        "n_features": int(dataset.n_features),
        "feature_names": columns.get("feature_names"),
        "label_name": columns.get("label_name"),
        "label_index": columns.get("label_index"),
        "n_columns": columns.get("n_columns"),
    }


_DATA_KEYS = (
    "name",
    "source",
    "n_features",
    "feature_names",
    "label_name",
    "label_index",
    "n_columns",
)


def check_record(d, n_features):
    """Check the record of the training data against the model; None if absent."""
    if d is None:
        return None
    check(isinstance(d, dict), "trained_on must be a JSON object")
    unknown = sorted(set(d) - set(_DATA_KEYS))
    check(not unknown, f"trained_on has unknown fields {unknown}")
    d = {k: d.get(k) for k in _DATA_KEYS}
    check(isinstance(d["name"], str), "trained_on.name must be a string")
    check(d["source"] is None or isinstance(d["source"], str), "trained_on.source must be a string")
    check(
        typed(d["n_features"], INT) and (n_features is None or d["n_features"] == n_features),
        f"trained_on.n_features is {d['n_features']!r} but the model takes {n_features} features",
    )
    names = d["feature_names"]
    check(
        names is None
        or (
            isinstance(names, list)
            and len(names) == d["n_features"]
            and all(isinstance(n, str) for n in names)
        ),
        f"trained_on.feature_names must list {d['n_features']} strings",
    )
    check(
        d["label_name"] is None or isinstance(d["label_name"], str),
        "trained_on.label_name must be a string",
    )
    index, width = d["label_index"], d["n_columns"]
    check(
        (index is None and width is None)
        or (typed(index, INT) and width == d["n_features"] + 1 and 0 <= index < width),
        "trained_on.label_index must be a column of n_columns = n_features + 1",
    )
    return d
