"""A layered (Sugiyama-style) layout in pure Python: no Graphviz needed.

Four classic steps, each a short function:

1. ``layers``: longest-path layering from the output, so every node sits one column
   left of its nearest consumer and the output is rightmost (inputs flow left to right);
2. ``add_dummies``: an edge spanning several columns gets a point in each, so edges
   bend around boxes instead of crossing them;
3. ``order``: barycentric sweeps (each node moves to the mean position of its
   neighbours in the previous column), keeping the order with the fewest crossings;
4. ``place``: x by column widths; y by pulling each node toward its neighbours while
   keeping boxes of one column at least ``gap`` apart (an average of a top-down and a
   bottom-up packing, both of which satisfy the gaps, so their mean does too).
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass
class Layout:
    """Boxes ``{key: (x, y, w, h)}`` (top-left corner) and edges ``[(u, v, points)]``."""

    width: float
    height: float
    boxes: dict
    edges: list


def layers(keys: list, edges: list) -> dict:
    """Column of each node: sinks at the right, each node left of all its consumers."""
    children = {k: [] for k in keys}
    indeg = {k: 0 for k in keys}
    for u, v in edges:
        children[u].append(v)
        indeg[v] += 1
    topo, ready = [], [k for k in keys if indeg[k] == 0]
    while ready:  # Kahn's algorithm: iterative, any depth
        k = ready.pop()
        topo.append(k)
        for c in children[k]:
            indeg[c] -= 1
            if indeg[c] == 0:
                ready.append(c)
    if len(topo) != len(keys):
        raise ValueError("layout needs an acyclic graph")
    rank = {}
    for k in reversed(topo):  # longest path to a sink
        rank[k] = 1 + max((rank[c] for c in children[k]), default=-1)
    top = max(rank.values(), default=0)
    return {k: top - r for k, r in rank.items()}


def add_dummies(layer: dict, edges: list):
    """Split edges that span columns; returns the new layer map, short edges and chains."""
    layer = dict(layer)
    short, chains = [], []
    for n, (u, v) in enumerate(edges):
        chain = [u]
        for i, col in enumerate(range(layer[u] + 1, layer[v])):
            d = ("dummy", n, i)
            layer[d] = col
            chain.append(d)
        chain.append(v)
        chains.append(chain)
        short += list(zip(chain[:-1], chain[1:], strict=True))
    return layer, short, chains


def crossings(cols: list, edges: list) -> int:
    """Number of edge crossings between adjacent columns (pairwise: graphs here are small)."""
    pos = {k: j for col in cols for j, k in enumerate(col)}
    col_of = {k: i for i, col in enumerate(cols) for k in col}
    by_col = {}
    for u, v in edges:
        by_col.setdefault(col_of[u], []).append((pos[u], pos[v]))
    total = 0
    for pairs in by_col.values():
        for i, (a1, b1) in enumerate(pairs):
            for a2, b2 in pairs[i + 1 :]:
                total += (a1 - a2) * (b1 - b2) < 0
    return total


def order(layer: dict, edges: list, sweeps: int = 8) -> list:
    """Nodes of each column, ordered by barycentric sweeps to reduce crossings."""
    ncols = 1 + max(layer.values(), default=0)
    cols = [[] for _ in range(ncols)]
    for k in layer:  # insertion order: parents-first, a sensible start
        cols[layer[k]].append(k)
    preds = {k: [] for k in layer}
    succs = {k: [] for k in layer}
    for u, v in edges:
        succs[u].append(v)
        preds[v].append(u)
    best, best_x = [list(c) for c in cols], crossings(cols, edges)
    for sweep in range(sweeps):
        forward = sweep % 2 == 0
        idx = range(1, ncols) if forward else range(ncols - 2, -1, -1)
        for i in idx:
            ref = cols[i - 1] if forward else cols[i + 1]
            pos = {k: j for j, k in enumerate(ref)}
            near = preds if forward else succs
            here = {k: j for j, k in enumerate(cols[i])}  # a node with no neighbour stays

            def bary(k, pos=pos, near=near, here=here):
                ps = [pos[n] for n in near[k] if n in pos]
                return sum(ps) / len(ps) if ps else here[k]

            cols[i].sort(key=bary)
        x = crossings(cols, edges)
        if x < best_x:
            best, best_x = [list(c) for c in cols], x
    return best


def _pack(sizes, wanted, gap, reverse=False):
    """Positions closest to ``wanted`` in one direction, keeping order and gaps."""
    n = len(sizes)
    ys = [0.0] * n
    idx = range(n - 1, -1, -1) if reverse else range(n)
    prev = None
    for i in idx:
        y = wanted[i]
        if prev is not None:
            if reverse:
                y = min(y, ys[prev] - gap - sizes[i])
            else:
                y = max(y, ys[prev] + sizes[prev] + gap)
        ys[i] = y
        prev = i
    return ys


def place(cols, size, edges, hgap=48.0, vgap=18.0, margin=12.0, rounds=6) -> tuple:
    """Top-left corners of every node (dummies included) and the drawing's size."""
    widths = [max((size[k][0] for k in col), default=0) for col in cols]
    xs, x = [], margin
    for w in widths:
        xs.append(x)
        x += w + hgap
    neighbours = {}
    for u, v in edges:
        neighbours.setdefault(u, []).append(v)
        neighbours.setdefault(v, []).append(u)
    y = {}
    for col in cols:  # start stacked
        top = 0.0
        for k in col:
            y[k] = top
            top += size[k][1] + vgap
    for _ in range(rounds):
        for col in cols:
            hs = [size[k][1] for k in col]
            wanted = []
            for k in col:
                near = [y[n] + size[n][1] / 2 for n in neighbours.get(k, [])]
                centre = sum(near) / len(near) if near else y[k] + size[k][1] / 2
                wanted.append(centre - size[k][1] / 2)
            down = _pack(hs, wanted, vgap)
            up = _pack(hs, wanted, vgap, reverse=True)
            for k, a, b in zip(col, down, up, strict=True):
                y[k] = (a + b) / 2
    low = min(y.values(), default=0.0)
    pos = {}
    for i, col in enumerate(cols):
        for k in col:
            w, h = size[k]
            pos[k] = (xs[i] + (widths[i] - w) / 2, y[k] - low + margin, w, h)
    height = max((p[1] + p[3] for p in pos.values()), default=0) + margin
    width = (xs[-1] + widths[-1] + margin) if cols else 2 * margin
    return pos, width, height


def layout(sizes: dict, edges: list, **spacing) -> Layout:
    """Lay out nodes of given ``sizes`` ``{key: (w, h)}`` joined by ``edges`` (u -> v)."""
    keys = list(sizes)
    layer, short, chains = add_dummies(layers(keys, edges), edges)
    cols = order(layer, short)
    size = {k: sizes.get(k, (0.0, 6.0)) for k in layer}  # a dummy: a thin slot for its edge
    pos, width, height = place(cols, size, short, **spacing)
    routed = []
    for (u, v), chain in zip(edges, chains, strict=True):
        x0, y0, w0, h0 = pos[u]
        x1, y1, _, h1 = pos[v]
        points = [(x0 + w0, y0 + h0 / 2)]
        points += [(pos[d][0] + pos[d][2] / 2, pos[d][1] + pos[d][3] / 2) for d in chain[1:-1]]
        points.append((x1, y1 + h1 / 2))
        routed.append((u, v, points))
    boxes = {k: pos[k] for k in keys}
    # Whole pixels, so a PNG of the drawing is exactly width x height.
    return Layout(math.ceil(width), math.ceil(height), boxes, routed)
