"""The documentation's tutorials: each a script that checks its own numbers.

The docs build (``sphinx-build -W docs ...`` in CI) runs every tutorial; these tests make
sure each one is a script that sphinx-gallery can render and that it asserts what it
claims, so that a tutorial whose numbers drift fails the build instead of rotting.
"""

import ast
from pathlib import Path

import pytest

TUTORIALS = sorted((Path(__file__).resolve().parents[1] / "docs" / "tutorials").glob("[0-9]*.py"))


def test_there_are_tutorials():
    assert len(TUTORIALS) >= 7, [p.name for p in TUTORIALS]


@pytest.mark.parametrize("path", TUTORIALS, ids=lambda p: p.stem)
def test_tutorial_has_a_title_and_asserts_its_numbers(path):
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    doc = ast.get_docstring(tree, clean=False)
    assert doc, f"{path.name}: sphinx-gallery needs a module docstring with the title"
    title, underline = doc.strip().splitlines()[:2]
    assert set(underline) == {"="} and len(underline) >= len(title), f"{path.name}: title"
    asserts = [n for n in ast.walk(tree) if isinstance(n, ast.Assert)]
    assert len(asserts) >= 3, f"{path.name}: a tutorial asserts its key numbers"
    for node in asserts:  # an assert of a constant can never fail
        assert not isinstance(node.test, ast.Constant), f"{path.name}:{node.lineno}"


def test_tutorial_numbers_are_unique():
    numbers = [p.name.split("_", 1)[0] for p in TUTORIALS]
    assert len(numbers) == len(set(numbers)), numbers


def test_the_cli_page_shows_every_commands_examples_once(capsys):
    # The page sets cli.EXAMPLES as code blocks and documents build_parser(examples=False).
    from tracegrad.cli import EXAMPLES, build_parser

    commands = set()
    for parser, shown in ((build_parser(), True), (build_parser(examples=False), False)):
        for action in parser._subparsers._group_actions:  # argparse has no public accessor
            for name, sub in action.choices.items():
                commands.add(name)
                assert (sub.epilog == EXAMPLES[name]) if shown else sub.epilog is None, name
    assert commands == set(EXAMPLES)
