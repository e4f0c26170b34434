"""A 24-trial grid on digits, serially and on a Dask LocalCluster (run by hand, never in tests).

    python benchmarks/sweep_parallel.py                 # 1 repeat of each, --workers 2
    python benchmarks/sweep_parallel.py --repeats 3 --workers 2 --layers 128,256,512

The grid is --layers 16,32,64 x --l2 0,0.01,0.1,1 x --lr 0.02,0.05 on digits
(30 epochs, train's default), or other three sizes with --layers.
Each repeat runs the serial sweep and the cluster sweep one after the other, in
an order that alternates, so drift in a shared machine's speed hits both. It
prints the wall time of each whole command (Python start, cluster start and
shutdown included) and the sweep's own time (``seconds`` in ``--json``: the
trials and the storage, without imports), the ratios, the load average before
each run, and whether the two tables are identical (they must be).

Measured 2026-12-01 on the project's shared 2-core VM (load average 1.2-1.7 from
other work), tables identical in every run:
  default grid (16,32,64; 30 epochs; ~0.3 s a trial), 2 repeats: 10.2 s vs 8.1 s, 1.26x
      whole command (1.14x for the sweep alone: the cluster's ~4 s start is most of it)
  --layers 128,256,512 --epochs 150, 1 repeat: 51.9 s vs 33.4 s, 1.55x (sweep alone 1.62x)
Under a load average of 4-6 the default grid measured 0.82x and the larger one 1.06x:
two worker processes cannot find two free cores. The 1.7x aim is not met.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GRID = ["--l2", "0,0.01,0.1,1", "--lr", "0.02,0.05"]


def sweep(extra, epochs, layers, out) -> tuple[float, float, list]:
    command = [sys.executable, "-m", "tracegrad", "sweep", "--dataset", "digits", *GRID]
    command += ["--layers", layers]
    command += ["--epochs", str(epochs), "--out", str(out), "--json", "--quiet", *extra]
    start = time.perf_counter()
    proc = subprocess.run(command, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - start
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert len(result["trials"]) == 24, len(result["trials"])
    return wall, result["seconds"], result["trials"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--layers", default="16,32,64", help="three sizes: the grid's third axis")
    args = parser.parse_args()
    times = {"serial": [], "cluster": []}
    tables = {}
    with tempfile.TemporaryDirectory() as tmp:
        for rep in range(args.repeats):
            order = ["serial", "cluster"] if rep % 2 == 0 else ["cluster", "serial"]
            for name in order:
                extra = [] if name == "serial" else ["--workers", str(args.workers)]
                load = os.getloadavg()[0]
                wall, own, trials = sweep(
                    extra, args.epochs, args.layers, Path(tmp) / f"{name}{rep}"
                )
                times[name].append((wall, own))
                tables.setdefault(name, trials)
                print(f"repeat {rep} {name:>7}: {wall:6.1f} s wall, {own:6.1f} s sweep "
                      f"(load average before: {load:.1f})", flush=True)  # fmt: skip
    same = tables["serial"] == tables["cluster"]
    serial_wall = statistics.median(w for w, _ in times["serial"])
    cluster_wall = statistics.median(w for w, _ in times["cluster"])
    serial_own = statistics.median(s for _, s in times["serial"])
    cluster_own = statistics.median(s for _, s in times["cluster"])
    print(f"\n24-trial grid on digits, --layers {args.layers}, {args.epochs} epochs, "
          f"{os.cpu_count()} cores, "
          f"--workers {args.workers}, medians of {args.repeats}:")  # fmt: skip
    print("| | serial | cluster | ratio |\n| --- | --- | --- | --- |")
    print(f"| whole command (s) | {serial_wall:.1f} | {cluster_wall:.1f} | "
          f"{serial_wall / cluster_wall:.2f}x |")  # fmt: skip
    print(f"| sweep only (s) | {serial_own:.1f} | {cluster_own:.1f} | "
          f"{serial_own / cluster_own:.2f}x |")  # fmt: skip
    print(f"tables identical: {same}")
    if not same:
        sys.exit("the cluster's table differs from the serial one")


if __name__ == "__main__":
    main()
