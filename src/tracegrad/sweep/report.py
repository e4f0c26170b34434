"""What a sweep shows: the table of trials, the best settings, and the picture.

The table holds only what a trial's settings determine (no times), so the same
sweep gives the same table serially, on a cluster, or resumed after a crash.
"""

from __future__ import annotations

import csv
import io
import math

import numpy as np

from ..atomic import atomic_write


def trial_rows(study, space) -> list[dict]:
    """One row per trial, by trial number: its number, settings, score and state."""
    rows = []
    for t in sorted(study.get_trials(deepcopy=False), key=lambda t: t.number):
        finished = t.state.name in ("COMPLETE", "PRUNED", "FAIL")
        score = t.value if t.state.name == "COMPLETE" else None
        if t.state.name == "PRUNED" and t.intermediate_values:
            score = t.intermediate_values[max(t.intermediate_values)]
        rows.append(
            {
                "number": t.number,
                "params": {a.name: t.params.get(a.name) for a in space.axes},
                "score": score,
                "val_loss": t.user_attrs.get("val_loss"),
                "epochs_run": t.user_attrs.get("epochs_run"),
                "state": t.state.name.lower() if finished else "running",
                **({"error": t.user_attrs["error"]} if "error" in t.user_attrs else {}),
            }
        )
    return rows


def best_row(rows) -> dict | None:
    """The completed trial of the highest score; the lowest number among equals."""
    done = [r for r in rows if r["state"] == "complete" and r["score"] is not None]
    return max(done, key=lambda r: (r["score"], -r["number"])) if done else None


def table_csv(rows, space) -> str:
    names = [a.name for a in space.axes]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["trial", *names, "score", "val_loss", "epochs_run", "state"])
    for r in rows:
        writer.writerow(
            [
                r["number"],
                *(r["params"][n] for n in names),
                "" if r["score"] is None else repr(r["score"]),
                "" if r["val_loss"] is None else repr(r["val_loss"]),
                "" if r["epochs_run"] is None else r["epochs_run"],
                r["state"],
            ]
        )
    return out.getvalue()


def table_text(rows, space) -> str:
    names = [a.option for a in space.axes]
    widths = [max(len(n), 8) for n in names]
    lines = [
        "trial  " + "  ".join(n.ljust(w) for n, w in zip(names, widths, strict=True)) + "  score"
    ]
    for r in rows:
        values = [str(v).ljust(w) for v, w in zip(r["params"].values(), widths, strict=True)]
        score = "-" if r["score"] is None else f"{r['score']:.4f}"
        flag = "" if r["state"] == "complete" else f"  ({r['state']})"
        lines.append(f"{r['number']:>5}  " + "  ".join(values) + f"  {score}{flag}")
    return "\n".join(lines)


def write_table(rows, space, path) -> None:
    with atomic_write(path, "w", encoding="utf-8") as f:
        f.write(table_csv(rows, space))


def picture(rows, space, path):
    """The validation curve of one axis, or a heat map of two; None for other sweeps.

    With more axes than drawn, each point shows the best score over the others.
    """
    axes = space.axes[:2]
    done = [r for r in rows if r["score"] is not None]
    if not axes or not done or len(space.axes) > 2:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4.5))
    if len(axes) == 1:
        _curve(ax, axes[0], done)
    elif not axes[0].is_range and not axes[1].is_range:
        _heat_map(fig, ax, axes, done)
    else:
        sc = ax.scatter(
            [r["params"][axes[0].name] for r in done],
            [r["params"][axes[1].name] for r in done],
            c=[r["score"] for r in done],
            cmap="viridis",
        )
        fig.colorbar(sc, ax=ax, label="validation score")
        for a, setter in ((axes[0], ax.set_xscale), (axes[1], ax.set_yscale)):
            if a.log:
                setter("log")
        ax.set_xlabel(axes[0].option)
        ax.set_ylabel(axes[1].option)
    fig.tight_layout()
    with atomic_write(path, "wb") as f:
        fig.savefig(f, format="png", dpi=110)
    plt.close(fig)
    return path


def _curve(ax, axis, done):
    seen = {r["params"][axis.name] for r in done}  # values whose trials all failed are left out
    values = [v for v in axis.values if v in seen] if not axis.is_range else sorted(seen)
    numeric = all(isinstance(v, (int, float)) for v in values)
    best = [max(r["score"] for r in done if r["params"][axis.name] == v) for v in values]
    xs = values if numeric else list(range(len(values)))
    order = np.argsort(xs) if numeric else np.arange(len(xs))
    ax.plot(np.asarray(xs)[order], np.asarray(best)[order], "o-")
    if not numeric:
        ax.set_xticks(xs, [str(v) for v in values])
    elif axis.log or (min(values) > 0 and max(values) / min(values) >= 100):
        ax.set_xscale("log")
    ax.set_xlabel(axis.option)
    ax.set_ylabel("validation score")
    ax.set_title(f"validation curve over {axis.option}")


def _heat_map(fig, ax, axes, done):
    a, b = axes
    grid = np.full((len(a.values), len(b.values)), np.nan)
    for r in done:
        i, j = a.values.index(r["params"][a.name]), b.values.index(r["params"][b.name])
        grid[i, j] = r["score"] if math.isnan(grid[i, j]) else max(grid[i, j], r["score"])
    im = ax.imshow(grid, cmap="viridis", origin="lower", aspect="auto")
    fig.colorbar(im, ax=ax, label="validation score")
    ax.set_yticks(range(len(a.values)), [str(v) for v in a.values])
    ax.set_xticks(range(len(b.values)), [str(v) for v in b.values])
    ax.set_ylabel(a.option)
    ax.set_xlabel(b.option)
    for (i, j), v in np.ndenumerate(grid):
        if not math.isnan(v):
            ax.text(j, i, f"{v:.3f}", ha="center", va="center", color="w", fontsize=8)
    ax.set_title(f"validation score over {a.option} and {b.option}")
