"""``tg.draw``: the computational graph of a Tensor with every value and gradient."""

from __future__ import annotations

from pathlib import Path

from ..atomic import atomic_write
from . import render
from .graph import MAX_NODES, build_graph
from .layout import layout

FORMATS = {".svg": "svg", ".png": "png", ".dot": "dot", ".gv": "dot"}


class Drawing:
    """A laid-out graph: ``svg()``, ``dot()``, ``png()``, ``save(path)``; Jupyter shows it.

    Usually made by :func:`draw`; the constructor lays the graph out.

    Parameters
    ----------
    nodes : list of Node
        Title and lines of each box, parents first.
    edges : list of (key, key)
        Parent to child, by the nodes' ``key``.

    Attributes
    ----------
    nodes, edges
        As given.
    layout : Layout
        Box corners and edge routes, in pixels.
    """

    def __init__(self, nodes, edges):
        self.nodes, self.edges = nodes, edges
        sizes = {n.key: render.box_size(n) for n in nodes}
        self.layout = layout(sizes, edges)

    def svg(self) -> str:
        return render.to_svg(self.nodes, self.layout)

    def dot(self) -> str:
        return render.to_dot(self.nodes, self.edges)

    def png(self, dpi: int = 100) -> bytes:
        return render.to_png(self.nodes, self.layout, dpi=dpi)

    def _repr_svg_(self) -> str:
        return self.svg()

    def _repr_html_(self) -> str:
        # For front ends that show HTML but not SVG (sphinx-gallery): the same picture inline.
        return f'<div class="tracegrad-drawing" style="overflow-x: auto">{self.svg()}</div>'

    def save(self, path) -> Path:
        """Write the drawing; the format follows the extension (.svg, .png, .dot or .gv).

        Parameters
        ----------
        path : str or Path
            The file, written atomically; ValueError for another extension.

        Returns
        -------
        Path
        """
        path = Path(path)
        kind = FORMATS.get(path.suffix.lower())
        if kind is None:
            raise ValueError(
                f"cannot tell the format of {path.name!r}: end the name with {', '.join(FORMATS)}"
            )
        data = self.png() if kind == "png" else getattr(self, kind)().encode("utf-8")
        with atomic_write(path, "wb") as f:  # never a half-written picture
            f.write(data)
        return path

    def __repr__(self) -> str:
        return f"Drawing({len(self.nodes)} nodes, {len(self.edges)} edges)"


def draw(tensor, path=None, *, expand=False, max_nodes: int = MAX_NODES) -> Drawing:
    """Draw the computational graph that produced ``tensor``.

    Each box shows the op (or a leaf's name), its value (a number, or shape and
    min/mean/max) and, once ``backward()`` has run, its gradient d(tensor)/d(node).
    Only tensors that require a gradient are recorded by the engine, so constants
    (an input without ``requires_grad``) do not appear.

    Parameters
    ----------
    tensor : Tensor
        The output to draw back from, usually the loss.
    path : str or Path, optional
        Also save there; the extension picks the format: ``.svg`` (text stays text),
        ``.png`` (drawn by matplotlib), ``.dot`` (Graphviz source).
    expand : bool or list of str
        Layers recorded with ``tg.viz.record(model)`` are drawn as one box each;
        ``True`` draws every op, a list of layer names (``["0"]``) opens only those.
    max_nodes : int
        Refuse graphs with more boxes than this (the drawing would be unreadable).

    Returns
    -------
    Drawing
        Shows itself in Jupyter; ``.save(path)`` writes another format.

    Examples
    --------
    >>> w = tg.Tensor(-2.0, requires_grad=True, name="w")
    >>> x = tg.Tensor(5.0, requires_grad=True, name="x")
    >>> b = tg.Tensor(3.0, requires_grad=True, name="b")
    >>> f = w * x + b
    >>> f.backward()
    >>> tg.draw(f)
    Drawing(5 nodes, 4 edges)
    """
    nodes, edges = build_graph(tensor, expand=expand, max_nodes=max_nodes)
    drawing = Drawing(nodes, edges)
    if path is not None:
        drawing.save(path)
    return drawing
