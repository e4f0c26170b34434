"""Sphinx configuration of tracegrad's documentation site.

Why Sphinx: the tutorials are executed Python scripts whose printed numbers and figures
belong on the page, which is what sphinx-gallery does for scikit-learn and matplotlib
(each page also offers the script and a Jupyter notebook to download); the docstrings are
NumPy style, which numpydoc renders (and validates); sphinx-argparse documents the CLI
straight from its parser. MkDocs would need a plugin for each of these.

Build it with ``sphinx-build -W --keep-going -b html docs docs/_build/html`` (warnings are
errors). The tutorials in ``docs/tutorials`` are plain Python scripts that sphinx-gallery
runs during the build; each asserts its key numbers, so a tutorial whose numbers drift
breaks the build instead of rotting.

``TRACEGRAD_DOCS_TUTORIALS`` (a regular expression on the file path) runs only the
matching tutorials, to work on one of them quickly; CI leaves it unset and runs them all.
"""

import os
import sys
import warnings
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT / "src"))  # document the checkout being built, installed or not
sys.path.insert(0, str(DOCS))  # cli_parser.py, for the command-line page

# The course's data sets: ../shared/data next to the repository (as in CI), unless the
# reader says where theirs are. Elsewhere the tutorials download them (checksums checked).
_shared = ROOT.parent / "shared" / "data"
if "TRACEGRAD_DATA" not in os.environ and _shared.is_dir():
    os.environ["TRACEGRAD_DATA"] = str(_shared)
os.environ.setdefault("MPLBACKEND", "Agg")

from threadpoolctl import threadpool_limits  # noqa: E402

import tracegrad  # noqa: E402

# One BLAS thread for the whole build. The tutorials' matrices are small, and OpenBLAS
# splitting a 1438x64 @ 64x25 product over two threads made it 50 times slower (7.8 ms
# against 0.16 ms) on the 2-core CI machine while anything else ran; week 5 took 46 s
# instead of 4.5 s. The numbers are the same either way (each tutorial's tolerances).
_blas = threadpool_limits(limits=1, user_api="blas")

project = "tracegrad"
author = "the tracegrad developers"
copyright = "2026, the tracegrad developers"
release = version = tracegrad.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx-mathjax-offline",  # MathJax served from the site itself: formulas render offline
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "sphinxarg.ext",
    "myst_parser",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "tutorials"]  # the gallery's sources; it writes auto_tutorials/
templates_path = ["_templates"]

# API reference: one page per public name, listed from each module's __all__.
autosummary_generate = True
autosummary_ignore_module_all = False
autodoc_default_options = {"members": True, "inherited-members": False, "show-inheritance": True}
autodoc_typehints = "none"  # numpydoc's Parameters sections carry the types
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
# Every documented object must document its parameters (PR01: one missing, PR02: one that
# is not in the signature) and have a docstring (GL08); tests/test_docstrings.py checks
# the same over each module's __all__ without building the site.
numpydoc_validation_checks = {"PR01", "PR02", "GL08"}

myst_heading_anchors = 3
myst_enable_extensions = ["dollarmath"]

sphinx_gallery_conf = {
    "examples_dirs": ["tutorials"],
    "gallery_dirs": ["auto_tutorials"],
    "filename_pattern": os.environ.get("TRACEGRAD_DOCS_TUTORIALS", r"\.py$"),
    "ignore_pattern": r"(__init__|_common)\.py$",
    "abort_on_example_error": True,
    "only_warn_on_example_error": False,
    "capture_repr": ("_repr_html_", "__repr__"),
    "image_scrapers": ("matplotlib",),
    "matplotlib_animations": False,
    "download_all_examples": False,
    "remove_config_comments": True,
    "min_reported_time": 1,
    "show_memory": False,
    "reset_modules": ("matplotlib",),
    "within_subsection_order": "FileNameSortKey",
    # No page of run times: its table loads scripts from a CDN, and the site stays offline.
    "write_computation_times": False,
}

html_theme = "pydata_sphinx_theme"
html_title = f"tracegrad {release}"
html_static_path = []
html_theme_options = {
    "navbar_end": ["navbar-icon-links"],
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
}
html_show_sourcelink = False



def _write_if_changed(page: Path, text: str) -> None:
    """Write a generated page, leaving it untouched when unchanged (no needless rebuild)."""
    if not page.exists() or page.read_text() != text:
        page.write_text(text)


def _write_ops_page() -> None:
    """docs/api/ops.rst from the registry, so the list of ops can never fall out of date."""
    from tracegrad.autograd.registry import FUNCTIONS_ONLY, OPS

    by_function: dict = {}
    for name, fn in sorted(OPS.items()):
        by_function.setdefault(fn, []).append(name)
    lines = [
        "The ops",
        "=======",
        "",
        "Every op of the engine, from its one registry (``tracegrad.autograd.OPS``): each is a",
        "top-level function (``tg.exp(x)``) and, unless marked, a ``Tensor`` method",
        "(``x.exp()``). Aliases share one entry. This page is written from the registry when",
        "the site is built.",
        "",
        ".. list-table::",
        "   :header-rows: 1",
        "   :widths: 20 15 65",
        "",
        "   * - op",
        "     - Tensor method",
        "     - what it does",
    ]
    for fn, names in sorted(by_function.items(), key=lambda kv: kv[1][0]):
        doc = (fn.__doc__ or "").strip().split("\n\n")[0].replace("\n", " ")
        method = "no" if all(n in FUNCTIONS_ONLY for n in names) else "yes"
        lines += [
            f"   * - {', '.join(f'``{n}``' for n in names)}",
            f"     - {method}",
            f"     - {doc or '(no docstring)'}",
        ]
    _write_if_changed(DOCS / "api" / "ops.rst", "\n".join(lines) + "\n")


_write_ops_page()


def _write_cli_page() -> None:
    """docs/cli.rst: the parser's own options (sphinx-argparse) and each command's examples.

    The examples are the ones ``tracegrad COMMAND --help`` prints, set as code blocks
    (argparse's epilog is plain text, not reStructuredText).
    """
    from tracegrad.cli import EXAMPLES

    lines = [
        "Command line",
        "============",
        "",
        "Generated from ``tracegrad``'s own argument parser when the site is built, so every",
        "option, choice and default here is the program's. ``tracegrad COMMAND --help`` prints",
        "the same.",
        "",
        ".. argparse::",
        "   :module: cli_parser",
        "   :func: parser",
        "   :prog: tracegrad",
        "   :noepilog:",
        "",
    ]
    for command, text in sorted(EXAMPLES.items()):
        body = text.split("\n", 1)[1] if text.startswith("examples:") else text
        lines += [f"   {command} : @after", "      .. code-block:: bash"]
        lines += ["         :caption: examples", ""]
        lines += [f"         {line.strip() and line[2:]}" for line in body.splitlines()]
        lines.append("")
    _write_if_changed(DOCS / "cli.rst", "\n".join(lines) + "\n")


_write_cli_page()


def _skip_foreign(app, what, name, obj, skip, options):
    """Leave out members a class inherits from scikit-learn (get_params, set_*_request...).

    They are scikit-learn's API, documented there, and their docstrings point into
    scikit-learn's own site.
    """
    module = getattr(obj, "__module__", "") or ""
    if module.startswith("sklearn") or "_metadata_requests" in repr(obj):
        return True
    return skip


def setup(app):
    app.connect("autodoc-skip-member", _skip_foreign)

# Matplotlib's Agg backend cannot show windows; sphinx-gallery collects the figures.
warnings.filterwarnings("ignore", message="FigureCanvasAgg is non-interactive")
