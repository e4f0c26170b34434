"""The parser the command-line page documents (sphinx-argparse imports it from here).

It is tracegrad's own, without the examples in each command's epilog: the page shows
those as code blocks (see ``_write_cli_page`` in conf.py).
"""

from tracegrad.cli import build_parser


def parser():
    return build_parser(examples=False)
