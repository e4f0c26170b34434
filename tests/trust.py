"""Shared harness of the table-driven trust tests (``tests/test_trust_*.py``).

Each case is one command line (or Python call) with what a user must get back:
an exit code, a fragment of the one-line message, and no file left behind.
Cases live in tables in the test modules; this file only runs them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Case:
    """A command expected to fail cleanly (or succeed with a checked answer).

    ``args`` may contain ``{tmp}`` (the test's temporary folder) and ``{run}``
    (a trained run folder, when the module provides one).
    """

    id: str
    args: list
    code: int
    fragment: str = ""
    # Paths (relative to tmp) that must not exist afterwards.
    absent: list = field(default_factory=list)


def cli(*args, cwd=None, env=None, timeout=600, input=None):
    """Run ``python -m tracegrad ARGS`` in a subprocess, text mode."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "tracegrad", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=full_env,
        timeout=timeout,
        input=input,
    )


def expand(args, **values) -> list[str]:
    return [str(a).format(**values) for a in args]


def assert_clean_refusal(proc, code: int, fragment: str = "") -> None:
    """Exit ``code``, one line on stderr naming the problem, no traceback."""
    err = proc.stderr.strip()
    assert proc.returncode == code, (proc.returncode, proc.stdout[-500:], err[-2000:])
    if code == 0:
        return
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one line, got: {err!r}"
    assert fragment.lower() in lines[0].lower(), (fragment, lines[0])


def assert_absent(tmp: Path, paths) -> None:
    for rel in paths:
        assert not (tmp / rel).exists(), f"{rel} was left on disk"


def last_json(stdout: str):
    return json.loads(stdout.strip().splitlines()[-1])


def run_case(case: Case, tmp: Path, **values):
    proc = cli(*expand(case.args, tmp=tmp, **values), cwd=tmp)
    assert_clean_refusal(proc, case.code, case.fragment)
    assert_absent(tmp, case.absent)
    return proc
