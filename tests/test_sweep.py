"""``tracegrad sweep``: grids and ranges of train's options, stored trials, resume, Dask.

Every sweep here trains real digits networks for a few epochs; the checks are
that a trial is exactly a training run, that its result does not depend on
where or in how many pieces the sweep ran, and that bad input is refused in
one line with nothing lost.
"""

from __future__ import annotations

import csv
import signal
import sqlite3
import subprocess
import sys
import time

import numpy as np
import pytest

from trust import Case, assert_absent, assert_clean_refusal, cli, last_json, run_case

pytest.importorskip("optuna", reason="the [sweep] extra is not installed")
pytest.importorskip("distributed", reason="the [sweep] extra is not installed")

from tracegrad.sweep import parse_space, run_trial  # noqa: E402
from tracegrad.sweep.space import SweepError  # noqa: E402

GRID = ["--layers", "16,32", "--l2", "0,0.5", "--epochs", "3"]


def read_table(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def completed(db) -> dict:
    """{trial number: completion time} of the finished trials in a storage file, read-only."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:
        rows = con.execute("SELECT number, datetime_complete FROM trials WHERE state='COMPLETE'")
        return dict(rows.fetchall())


# --- the search space -------------------------------------------------------------------


def test_lists_become_axes_and_layers_keep_their_dashes():
    from tracegrad.cli import _finite, _integer

    space = parse_space(
        {"layers": "16-16,32", "l2": "0,0.01", "epochs": "8", "lr": "1e-4:1e-1:log"},
        {"layers": None, "l2": _finite, "epochs": _integer, "lr": _finite},
    )
    axes = {a.name: a for a in space.axes}
    assert axes["layers"].values == ("16-16", "32")
    assert axes["l2"].values == (0.0, 0.01)
    assert (axes["lr"].low, axes["lr"].high, axes["lr"].log) == (1e-4, 0.1, True)
    assert space.fixed == {"epochs": 8}
    ints = parse_space({"epochs": "5:20"}, {"epochs": _integer}).axes[0]
    assert (ints.low, ints.high, ints.integer) == (5, 20, True)


@pytest.mark.parametrize(
    "raw, fragment",
    [
        ({"layers": "16,,32"}, "empty item"),
        ({"layers": "16,"}, "empty item"),
        ({"lr": "1e-1:1e-4"}, "low end must be below"),
        ({"lr": "0:1:log"}, "positive low end"),
        ({"lr": "-1:1:log"}, "positive low end"),
        ({"lr": "1:2:3"}, "LOW:HIGH"),
        ({"activation": "relu:tanh"}, "takes no range"),
        ({"l2": "0,x"}, "expected a number"),
        ({"l2": "0,nan"}, "finite"),
    ],
)
def test_nonsense_sweep_options_are_refused_where_they_enter(raw, fragment):
    from tracegrad.cli import _finite

    converters = {"layers": None, "lr": _finite, "l2": _finite, "activation": None}
    with pytest.raises(SweepError, match=fragment):
        parse_space(raw, converters)


# --- one trial --------------------------------------------------------------------------


def test_a_trial_scores_what_train_reaches_on_its_validation_split(tmp_path):
    from tracegrad.experiment import Config, run

    settings = dict(layers="32", l2=0.5, epochs=3, lr=0.05, seed=3)
    trial = run_trial(settings)
    result = run(Config(**settings, out=str(tmp_path), quiet=True, plots=False), progress=False)
    assert trial["score"] == result.history["val_accuracy"][-1]
    assert trial["epochs_run"] == 3
    assert trial["score"] > 0.85  # digits, 3 epochs: a real network was trained


def test_k_folds_are_stratified_seeded_and_averaged():
    settings = dict(layers="16", epochs=2, seed=1)
    first, again = run_trial(settings, folds=3), run_trial(settings, folds=3)
    assert first == again
    assert len(first["fold_scores"]) == 3
    assert first["score"] == pytest.approx(np.mean(first["fold_scores"]))
    assert len(set(first["fold_scores"])) > 1  # three different held-out parts
    assert run_trial({**settings, "seed": 2}, folds=3)["fold_scores"] != first["fold_scores"]


def test_k_folds_report_the_running_mean_after_each_fold_to_the_pruner():
    """With folds, report was never called: --prune --folds K pruned nothing, silently."""
    from tracegrad.sweep.trial import Pruned

    settings = dict(layers="16", epochs=2, seed=1)
    calls = []
    result = run_trial(settings, folds=3, report=lambda step, v: calls.append((step, v)))
    scores = result["fold_scores"]
    # After folds 1 and 2, not after the last: a finished trial is never pruned.
    assert [step for step, _ in calls] == [0, 1]
    assert [v for _, v in calls] == pytest.approx([np.mean(scores[: i + 1]) for i in range(2)])
    assert result == run_trial(settings, folds=3)  # reporting changes nothing
    folds_run = []

    def prune_after_the_first(step, value):
        folds_run.append(step)
        return True

    with pytest.raises(Pruned, match="pruned after fold 1"):
        run_trial(settings, folds=3, report=prune_after_the_first)
    assert folds_run == [0]  # the other two folds were never trained


def test_the_last_epoch_is_never_reported_to_the_pruner():
    # A finished trial is never pruned: pruning it would throw its score away.
    settings = dict(layers="16", epochs=3, seed=1, val_split=0.2)
    steps = []
    result = run_trial(settings, report=lambda step, v: steps.append(step) or False)
    assert steps == [0, 1] and result["epochs_run"] == 3
    one = dict(settings, epochs=1)
    assert run_trial(one, report=lambda step, v: True) == run_trial(one)  # never asked


# --- the command ------------------------------------------------------------------------


def test_grid_sweep_table_json_best_and_heat_map(tmp_path):
    proc = cli("sweep", *GRID, "--out", "o", "--json", cwd=tmp_path)
    assert_clean_refusal(proc, 0)
    result = last_json(proc.stdout)
    params = sorted((t["params"]["layers"], t["params"]["l2"]) for t in result["trials"])
    assert params == [("16", 0.0), ("16", 0.5), ("32", 0.0), ("32", 0.5)]
    scores = [t["score"] for t in result["trials"]]
    assert result["best"]["score"] == max(scores)
    assert all(0.5 < s <= 1 for s in scores)
    table = read_table(tmp_path / "o" / "trials.csv")
    assert [float(r["score"]) for r in table] == scores
    from PIL import Image

    picture = np.asarray(Image.open(tmp_path / "o" / "heat_map.png").convert("L"), dtype=float)
    assert picture.std() > 10  # a drawn map, not a blank image


def test_one_axis_draws_the_validation_curve(tmp_path):
    proc = cli("sweep", "--l2", "0,1,10", "--epochs", "2", "--out", "o", "--quiet", cwd=tmp_path)
    assert_clean_refusal(proc, 0)
    assert "best: --l2" in proc.stdout
    assert (tmp_path / "o" / "validation_curve.png").stat().st_size > 1000


def test_range_search_is_seeded_and_stays_in_its_range(tmp_path):
    args = ["sweep", "--lr", "1e-3:1e-1:log", "--epochs", "1:3", "--trials", "5", "--json"]
    first = last_json(cli(*args, "--out", "a", cwd=tmp_path).stdout)
    again = last_json(cli(*args, "--out", "b", cwd=tmp_path).stdout)
    assert first["trials"] == again["trials"]
    lrs = [t["params"]["lr"] for t in first["trials"]]
    epochs = [t["params"]["epochs"] for t in first["trials"]]
    assert len(lrs) == 5 and len(set(lrs)) == 5
    assert all(1e-3 <= v <= 1e-1 for v in lrs)
    assert all(isinstance(e, int) and 1 <= e <= 3 for e in epochs)
    assert [t["epochs_run"] for t in first["trials"]] == epochs
    other = last_json(cli(*args, "--seed", "1", "--out", "c", cwd=tmp_path).stdout)
    assert [t["params"]["lr"] for t in other["trials"]] != lrs


def test_rerun_with_storage_redoes_no_finished_trial(tmp_path):
    args = ["sweep", *GRID, "--storage", "s.db", "--out", "o"]
    assert_clean_refusal(cli(*args, cwd=tmp_path), 0)
    before = completed(tmp_path / "s.db")
    assert len(before) == 4
    again = cli(*args, cwd=tmp_path)
    assert_clean_refusal(again, 0)
    assert "trial " not in again.stderr  # nothing ran
    assert completed(tmp_path / "s.db") == before


def test_kill_9_mid_sweep_then_resume_equals_an_uninterrupted_sweep(tmp_path):
    args = ["--layers", "32,64", "--l2", "0,0.5,3", "--epochs", "6"]
    whole = cli("sweep", *args, "--out", "whole", cwd=tmp_path)
    assert_clean_refusal(whole, 0)
    db = tmp_path / "s.db"
    command = [sys.executable, "-m", "tracegrad", "sweep", *args, "--storage", str(db)]
    proc = subprocess.Popen(
        [*command, "--out", "first"], cwd=tmp_path, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        if db.exists() and _count_complete(db) >= 1:
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL  # killed, not finished
    before = completed(db)
    assert 1 <= len(before) < 6
    resumed = cli("sweep", *args, "--storage", str(db), "--out", "resumed", cwd=tmp_path)
    assert_clean_refusal(resumed, 0)
    after = completed(db)
    assert len(after) == 6  # a finished trial run again would make a seventh
    ran = [line for line in resumed.stderr.splitlines() if line.startswith("trial ")]
    assert len(ran) == 6 - len(before)
    assert {n: after[n] for n in before} == before
    assert read_table(tmp_path / "resumed" / "trials.csv") == read_table(
        tmp_path / "whole" / "trials.csv"
    )


def _count_complete(db) -> int:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as con:
            return con.execute("SELECT COUNT(*) FROM trials WHERE state='COMPLETE'").fetchone()[0]
    except sqlite3.Error:  # created but no tables yet, or locked for a moment
        return 0


def test_a_local_cluster_of_two_processes_gives_the_serial_table(tmp_path):
    serial = cli("sweep", *GRID, "--out", "serial", cwd=tmp_path)
    assert_clean_refusal(serial, 0)
    cluster = cli("sweep", *GRID, "--workers", "2", "--out", "cluster", cwd=tmp_path)
    assert_clean_refusal(cluster, 0)
    assert read_table(tmp_path / "cluster" / "trials.csv") == read_table(
        tmp_path / "serial" / "trials.csv"
    )


def test_the_runner_holds_two_single_threaded_worker_processes():
    from tracegrad.sweep.dask import dask_runner

    def worker_env():
        import os

        return os.getpid(), os.environ.get("OMP_NUM_THREADS")

    with dask_runner(workers=2) as runner:
        assert runner.slots == 2
        workers = list(runner.client.nthreads())
        pids = {runner.client.submit(worker_env, workers=[w], pure=False).result() for w in workers}
    assert len({pid for pid, _ in pids}) == 2
    assert {threads for _, threads in pids} == {"1"}


def test_a_script_without_a_main_guard_runs_a_sweep_on_a_local_cluster(tmp_path):
    # Worker processes must not run the script again (as multiprocessing does with its
    # __main__): here that would print the line once per worker and start a cluster in each.
    script = tmp_path / "sweep_script.py"
    script.write_text(
        "import sys\n"
        "print('script started', flush=True)\n"
        "from tracegrad.sweep import Axis, Space, dask_runner, run_sweep\n"
        "assert 'distributed' not in sys.modules  # imported when a cluster starts\n"
        "space = Space({'epochs': 1}, [Axis('layers', values=('8', '16'))])\n"
        "with dask_runner(workers=2) as runner:\n"
        "    study = run_sweep(space, runner=runner)\n"
        "print('file', __file__ == sys.argv[0], len(study.trials), study.best_value > 0.3)\n"
    )
    proc = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path, timeout=120
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.splitlines() == ["script started", "file True 2 True"], proc.stderr


def test_pruning_stops_hopeless_trials(tmp_path):
    proc = cli(
        "sweep", "--lr", "0.05,0.1,0.02,1e-6,2e-6,3e-6", "--epochs", "4", "--prune", "--json",
        "--out", "o", cwd=tmp_path,
    )  # fmt: skip
    assert_clean_refusal(proc, 0)
    trials = last_json(proc.stdout)["trials"]
    pruned = [t for t in trials if t["state"] == "pruned"]
    assert pruned and all(t["params"]["lr"] < 1e-5 for t in pruned)


def test_pruning_with_folds_stops_hopeless_trials(tmp_path):
    proc = cli(
        "sweep", "--lr", "0.05,0.1,0.02,1e-6,2e-6", "--epochs", "2", "--folds", "2", "--prune",
        "--json", "--out", "o", cwd=tmp_path,
    )  # fmt: skip
    assert_clean_refusal(proc, 0)
    trials = last_json(proc.stdout)["trials"]
    pruned = [t for t in trials if t["state"] == "pruned"]
    assert pruned and all(t["params"]["lr"] < 1e-5 for t in pruned)


# --- hostile input ----------------------------------------------------------------------

REFUSALS = [
    Case("empty-layers-item", ["sweep", "--layers", "16,,32"], 2, "empty item", ["sweeps"]),
    Case("range-low-above-high", ["sweep", "--lr", "1e-1:1e-4"], 2, "below its high end"),
    Case("log-range-at-zero", ["sweep", "--lr", "0:1e-1:log"], 2, "positive low end"),
    Case("range-of-words", ["sweep", "--activation", "relu:tanh"], 2, "takes no range"),
    Case("layers-against-data", ["sweep", "--layers", "64-128-11,32"], 2, "10 classes"),
    Case("regression-task", ["sweep", "--dataset", "sine", "--task", "regression"], 2,
         "--task regression is not supported yet"),
    Case("bad-value-in-list", ["sweep", "--optimizer", "adam,foo"], 2, "unknown --optimizer"),
    Case("epochs-range-from-0", ["sweep", "--epochs", "0:3"], 2, "at least 1"),
    Case("grid-with-trials", ["sweep", "--l2", "0,1", "--trials", "3"], 2, "drop --trials"),
    Case("nothing-to-sweep", ["sweep", "--l2", "1"], 2, "nothing to sweep"),
    Case("one-fold", ["sweep", "--l2", "0,1", "--folds", "1"], 2, "at least 2"),
    Case("no-held-out-data", ["sweep", "--l2", "0,1", "--val-split", "0"], 2, "--folds K"),
    Case(
        "storage-folder-missing",
        ["sweep", "--l2", "0,1", "--storage", "{tmp}/nodir/s.db"],
        2,
        "does not exist",
        ["nodir"],
    ),
    Case(
        "prune-on-cluster",
        ["sweep", "--l2", "0,1", "--prune", "--workers", "2", "--storage", "s.db"],
        2,
        "--prune needs",
    ),
]


@pytest.mark.parametrize("case", REFUSALS, ids=lambda c: c.id)
def test_sweep_refusals(case, tmp_path):
    case.absent = [*case.absent, "sweeps", "s.db"]
    run_case(case, tmp_path)


def test_corrupt_storage_is_refused_and_left_as_it_was(tmp_path):
    db = tmp_path / "s.db"
    junk = np.random.default_rng(0).bytes(4096)
    db.write_bytes(junk)
    proc = cli("sweep", "--l2", "0,1", "--epochs", "1", "--storage", db, cwd=tmp_path)
    assert_clean_refusal(proc, 2, "not a sweep storage file")
    assert db.read_bytes() == junk
    assert_absent(tmp_path, ["sweeps"])


def test_a_database_of_something_else_is_not_written_to(tmp_path):
    db = tmp_path / "other.db"
    with sqlite3.connect(db) as con:
        con.execute("CREATE TABLE notes (text TEXT)")
    before = db.read_bytes()
    proc = cli("sweep", "--l2", "0,1", "--epochs", "1", "--storage", db, cwd=tmp_path)
    assert_clean_refusal(proc, 2, "something else")
    assert db.read_bytes() == before


def test_unreachable_scheduler_is_one_line_and_keeps_the_stored_trials(tmp_path):
    args = ["sweep", "--l2", "0,1", "--epochs", "1", "--storage", "s.db"]
    assert_clean_refusal(cli(*args, "--out", "o", cwd=tmp_path), 0)
    before = completed(tmp_path / "s.db")
    proc = cli(*args, "--scheduler", "tcp://127.0.0.1:9", "--scheduler-timeout", "1", cwd=tmp_path)
    assert_clean_refusal(proc, 2, "cannot reach the Dask scheduler")
    assert completed(tmp_path / "s.db") == before


def test_an_existing_cluster_by_its_scheduler_address_gives_the_serial_table(tmp_path):
    from distributed import LocalCluster

    serial = cli("sweep", "--l2", "0,0.5,3", "--epochs", "2", "--out", "serial", cwd=tmp_path)
    assert_clean_refusal(serial, 0)
    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster:
        remote = cli(
            "sweep", "--l2", "0,0.5,3", "--epochs", "2", "--out", "remote",
            "--scheduler", cluster.scheduler_address, cwd=tmp_path,
        )  # fmt: skip
    assert_clean_refusal(remote, 0)
    assert read_table(tmp_path / "remote" / "trials.csv") == read_table(
        tmp_path / "serial" / "trials.csv"
    )


def test_a_diverging_trial_is_stored_as_failed_and_never_best(tmp_path):
    args = ["sweep", "--optimizer", "sgd", "--lr", "0.1,10000", "--epochs", "2", "--json"]
    proc = cli(*args, "--storage", "s.db", "--out", "o", cwd=tmp_path)
    assert_clean_refusal(proc, 0)
    trials = {t["params"]["lr"]: t for t in last_json(proc.stdout)["trials"]}
    assert trials[10000.0]["state"] == "fail" and trials[10000.0]["score"] is None
    assert trials[0.1]["state"] == "complete"
    assert last_json(proc.stdout)["best"]["params"] == {"lr": 0.1}
    again = cli(*args, "--storage", "s.db", "--out", "o", cwd=tmp_path)
    assert "trial " not in again.stderr  # a failed trial is finished: not run again


def test_a_storage_file_in_use_by_a_running_sweep_is_refused(tmp_path):
    import fcntl

    args = ["sweep", "--l2", "0,1", "--epochs", "1", "--storage", "s.db"]
    assert_clean_refusal(cli(*args, "--out", "o", cwd=tmp_path), 0)
    before = completed(tmp_path / "s.db")
    with open(tmp_path / "s.db", "rb") as f:
        fcntl.flock(f, fcntl.LOCK_EX)  # what a running sweep holds
        proc = cli(*args, "--l2", "0,1,2", cwd=tmp_path)
    assert_clean_refusal(proc, 2, "in use by another running sweep")
    assert completed(tmp_path / "s.db") == before


@pytest.mark.parametrize("search", ["grid", "random"])
def test_a_trial_lost_while_being_asked_is_asked_for_again(tmp_path, search):
    import optuna

    from tracegrad.cli import _finite
    from tracegrad.sweep.report import trial_rows
    from tracegrad.sweep.search import _sampler, run_sweep
    from tracegrad.sweep.storage import open_storage

    text = "0,0.5,3" if search == "grid" else "0:3"
    trials = None if search == "grid" else 3
    space = parse_space({"l2": text}, {"l2": _finite})
    space.fixed.update(epochs=1, layers="16", quiet=True, plots=False)
    whole = trial_rows(run_sweep(space, trials=trials), space)

    class Stop(Exception):
        pass

    def stop_after_first(trial):
        raise Stop

    storage = open_storage(tmp_path / "s.db")
    with pytest.raises(Stop):
        run_sweep(space, storage=storage, trials=trials, on_trial=stop_after_first)
    study = optuna.load_study(study_name=storage.get_all_studies()[0].study_name, storage=storage)
    study.sampler = _sampler(space, search, 0, 1)
    study.ask()  # what a kill -9 between creating a trial and storing its settings leaves
    resumed = trial_rows(run_sweep(space, storage=storage, trials=trials), space)
    assert resumed == whole
