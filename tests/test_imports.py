"""Imports flow one way: every module imports on its own, and the package has no cycles.

The static graph counts every import, including those inside functions: a lazy import is
how a cycle hides (tensor.py once reached ops.py through one).
"""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import tracegrad

PACKAGE = Path(tracegrad.__file__).parent
MODULES = sorted(
    ".".join(("tracegrad", *p.relative_to(PACKAGE).with_suffix("").parts)).removesuffix(".__init__")
    for p in PACKAGE.rglob("*.py")
    if p.name != "__main__.py"
)


def _module_file(name: str) -> Path:
    path = PACKAGE.joinpath(*name.split(".")[1:])
    return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")


def _is_module(name: str) -> bool:
    path = PACKAGE.joinpath(*name.split(".")[1:])
    return path.is_dir() or path.with_suffix(".py").exists()


def imports_of(name: str) -> set:
    """The tracegrad modules ``name`` imports (a ``from X import y`` of a submodule y
    counts as importing X.y; the parent packages every import runs are not counted)."""
    file = _module_file(name)
    package = name if file.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(file.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("tracegrad")}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            if not base.startswith("tracegrad"):
                continue
            subs = {f"{base}.{a.name}" for a in node.names if _is_module(f"{base}.{a.name}")}
            found |= subs or {base}
            if len(subs) < len(node.names):
                found.add(base)
    return {m for m in found if m != name and not name.startswith(m + ".")}


def test_the_module_list_is_real():
    assert "tracegrad.autograd.tensor" in MODULES and "tracegrad.nn.layers" in MODULES


def test_the_engine_imports_no_op_and_module_no_layer():
    assert imports_of("tracegrad.autograd.tensor") == set()
    assert imports_of("tracegrad.autograd.registry") == {"tracegrad.autograd.tensor"}
    assert "tracegrad.nn.layers" not in imports_of("tracegrad.nn.module")
    assert not any(m.startswith("tracegrad.nn") for m in imports_of("tracegrad.autograd.fused"))


def test_no_import_cycles():
    graph = {m: imports_of(m) & set(MODULES) for m in MODULES}
    state = {}  # module -> "open" while on the current path, "done" after

    def visit(m, path):
        state[m] = "open"
        for n in sorted(graph[m]):
            if state.get(n) == "open":
                pytest.fail("import cycle: " + " -> ".join(path[path.index(n) :] + [n]))
            if n not in state:
                visit(n, path + [n])
        state[m] = "done"

    for m in MODULES:
        if m not in state:
            visit(m, [m])


ENGINE = [m for m in MODULES if m.split(".")[1:2] in (["autograd"], ["nn"], ["optim"])]
ENGINE += ["tracegrad.tensor", "tracegrad.ops", "tracegrad.functional", "tracegrad.losses"]


@pytest.mark.parametrize("module", ENGINE)
def test_each_engine_module_imports_alone_in_a_fresh_interpreter(module):
    code = f"import {module}; import tracegrad.autograd as a; assert hasattr(a.Tensor, 'relu')"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr.strip().splitlines()[-1:]
