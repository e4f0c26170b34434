"""Three renderings of one layout: SVG (text kept as text), Graphviz DOT, and PNG by matplotlib.

Text sizes are estimated for a monospace font (0.6 em per character), which every SVG
viewer and matplotlib have, so boxes fit their text without measuring fonts.
"""

from __future__ import annotations

import io
from xml.sax.saxutils import escape

FONT_PX = 12.0
CHAR_PX = 0.6 * FONT_PX
LINE_PX = 16.0
PAD_PX = 8.0

FILL = {"leaf": "#dbeafe", "op": "#ffffff", "layer": "#fef3c7", "root": "#fde2e4"}
GRAD_COLOUR = "#b91c1c"


def box_size(node) -> tuple:
    chars = max(len(s) for s in [node.title, *node.lines])
    return chars * CHAR_PX + 2 * PAD_PX, (1 + len(node.lines)) * LINE_PX + PAD_PX


def _line_colour(text: str) -> str:
    return GRAD_COLOUR if text.startswith("grad") or "| grad" in text else "#111827"


def _curve(points) -> str:
    """A smooth path through the points: horizontal tangents, as in layered drawings."""
    (x, y), rest = points[0], points[1:]
    d = [f"M{x:.1f},{y:.1f}"]
    for nx, ny in rest:
        mx = (x + nx) / 2
        d.append(f"C{mx:.1f},{y:.1f} {mx:.1f},{ny:.1f} {nx:.1f},{ny:.1f}")
        x, y = nx, ny
    return " ".join(d)


def to_svg(nodes, lay) -> str:
    """An SVG document; each node is a ``<g class="node">`` whose lines are ``<text>``."""
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{lay.width:.0f}" '
        f'height="{lay.height:.0f}" viewBox="0 0 {lay.width:.0f} {lay.height:.0f}" '
        f'font-family="monospace" font-size="{FONT_PX:g}">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#6b7280"/>'
        "</marker></defs>",
        '<rect width="100%" height="100%" fill="white"/>',
        '<g class="edges" fill="none" stroke="#6b7280" stroke-width="1.2">',
    ]
    for _, _, points in lay.edges:
        out.append(f'<path d="{_curve(points)}" marker-end="url(#arrow)"/>')
    out.append("</g>")
    for node in nodes:
        x, y, w, h = lay.boxes[node.key]
        out.append(f'<g class="node {node.kind}">')
        out.append(f"<title>{escape(node.title)}</title>")
        out.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" rx="4" '
            f'fill="{FILL[node.kind]}" stroke="#374151"/>'
        )
        for i, text in enumerate([node.title, *node.lines]):
            ty = y + PAD_PX / 2 + (i + 0.75) * LINE_PX
            weight = ' font-weight="bold"' if i == 0 else ""
            colour = "#111827" if i == 0 else _line_colour(text)
            out.append(
                f'<text x="{x + PAD_PX:.1f}" y="{ty:.1f}" fill="{colour}"{weight}>'
                f"{escape(text)}</text>"
            )
        out.append("</g>")
    out.append("</svg>")
    return "\n".join(out) + "\n"


def to_dot(nodes, edges) -> str:
    """Graphviz source: ``dot -Tsvg graph.dot`` lays it out with Graphviz's own engine."""
    names = {node.key: f"n{i}" for i, node in enumerate(nodes)}
    out = [
        "digraph tracegrad {",
        "  rankdir=LR;",
        '  node [shape=box, style="rounded,filled", fontname="monospace", fontsize=10];',
    ]
    for node in nodes:
        label = "\\n".join(_dot_escape(s) for s in [node.title, *node.lines])
        out.append(f'  {names[node.key]} [label="{label}", fillcolor="{FILL[node.kind]}"];')
    for u, v in edges:
        out.append(f"  {names[u]} -> {names[v]};")
    out.append("}")
    return "\n".join(out) + "\n"


def _dot_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def to_png(nodes, lay, dpi: int = 100) -> bytes:
    """The same layout drawn by matplotlib (Agg, no display, no pyplot state)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch
    from matplotlib.path import Path

    fig = Figure(figsize=(lay.width / dpi, lay.height / dpi), dpi=dpi)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, lay.width)
    ax.set_ylim(lay.height, 0)  # y down, as in SVG
    ax.axis("off")
    for _, _, points in lay.edges:
        verts, codes = [points[0]], [Path.MOVETO]
        for (x0, y0), (x1, y1) in zip(points[:-1], points[1:], strict=True):
            mx = (x0 + x1) / 2
            verts += [(mx, y0), (mx, y1), (x1, y1)]
            codes += [Path.CURVE4] * 3
        ax.add_patch(
            FancyArrowPatch(
                path=Path(verts, codes),
                arrowstyle="-|>",
                mutation_scale=10,
                color="#6b7280",
                linewidth=1.0,
            )
        )
    points_per_px = 72 / dpi
    for node in nodes:
        x, y, w, h = lay.boxes[node.key]
        ax.add_patch(
            FancyBboxPatch(
                (x, y),
                w,
                h,
                boxstyle="round,pad=0,rounding_size=4",
                facecolor=FILL[node.kind],
                edgecolor="#374151",
                linewidth=1.0,
            )
        )
        for i, text in enumerate([node.title, *node.lines]):
            ty = y + PAD_PX / 2 + (i + 0.75) * LINE_PX
            ax.text(
                x + PAD_PX,
                ty,
                text,
                family="monospace",
                fontsize=FONT_PX * points_per_px,
                weight="bold" if i == 0 else "normal",
                color="#111827" if i == 0 else _line_colour(text),
                va="baseline",
            )
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


__all__ = ["to_svg", "to_dot", "to_png", "box_size"]
