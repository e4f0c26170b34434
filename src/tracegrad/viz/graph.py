"""The drawable graph of a Tensor: one node per op, leaf or recorded layer, with its numbers.

``build_graph(root)`` walks the recorded parents of ``root`` (the engine's own links),
boxes the tensors that one layer call made (see ``record.py``) unless asked to expand
it, and writes on each node its op or name, its value and, after ``backward()``, its
gradient. The engine keeps only the leaves' gradients, so the gradients of interior
nodes are recomputed here from the engine's own vector-Jacobian products.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..autograd.tensor import Tensor, toposort, unbroadcast
from .record import scope_of

#: Nodes drawn at most, after boxing layers; over it ``tg.draw`` refuses.
MAX_NODES = 200
#: Tensors walked at most before boxing, so a huge graph is refused before it is copied.
MAX_WALK = 20_000


@dataclass
class Node:
    """One box of the drawing: a title line and the lines under it."""

    key: int
    title: str
    lines: list
    kind: str  # "leaf", "op", "layer" or "root"
    tensor: Tensor | None = None
    members: list = field(default_factory=list)


def fmt(v: float, digits: int = 6) -> str:
    """A number as the drawing shows it: 6 significant digits, no trailing zeros."""
    return f"{float(v):.{digits}g}"


def summary(a) -> str:
    """A scalar as itself; an array as its shape and min/mean/max."""
    a = np.asarray(a)
    if a.size == 1:
        return fmt(a.reshape(-1)[0])
    shape = "x".join(map(str, a.shape))
    if a.size == 0:
        return f"{shape} (empty)"
    lo, mid, hi = (fmt(v, 4) for v in (a.min(), a.mean(), a.max()))
    return f"{shape} min {lo} mean {mid} max {hi}"


def walk(root: Tensor, limit: int = MAX_WALK) -> list:
    """Every tensor reachable from ``root`` through recorded parents, parents first."""
    seen, stack = {id(root)}, [root]
    while stack:
        t = stack.pop()
        for p in t._parents:
            if id(p) not in seen:
                seen.add(id(p))
                if len(seen) > limit:
                    raise ValueError(
                        f"tg.draw: the graph has more than {limit:,} tensors; draw a smaller "
                        "piece (one layer's output, a batch of one sample)"
                    )
                stack.append(p)
    return toposort(root)


def node_gradients(order: list, root: Tensor) -> dict:
    """d(root)/d(node) for every node, by the engine's VJPs, or {} before ``backward()``.

    Shown only once some leaf has a gradient (``backward()`` ran) and only for a
    one-element root, whose seed gradient is 1, as ``backward()`` uses.
    """
    if root.size != 1 or not any(t.is_leaf and t.grad is not None for t in order):
        return {}
    grads = {id(root): np.ones_like(root.data)}
    for t in reversed(order):
        g = grads.get(id(t))
        if g is None or t.is_leaf:
            continue
        for parent, vjp in zip(t._parents, t._vjps, strict=True):
            pg = vjp(g)
            if pg is None:
                continue
            pg = unbroadcast(np.asarray(pg), parent.shape)
            grads[id(parent)] = pg if id(parent) not in grads else grads[id(parent)] + pg
    return grads


def _title(t: Tensor) -> str:
    if not t.is_leaf:
        return t.op or "op"
    scope = scope_of(t)
    if t.name:
        return t.name
    if scope is not None and scope.param:
        return f"{scope.path}.{scope.param}" if scope.path else scope.param
    return "leaf"


def _expanded(scope, expand) -> bool:
    if expand is True:
        return True
    if not expand:
        return False
    return scope.path in set(expand)


def build_graph(root: Tensor, expand=False, max_nodes: int = MAX_NODES):
    """Nodes (parents first) and edges ``(parent key, child key)`` of ``root``'s graph.

    ``expand``: False boxes every recorded layer, True draws every op, a list of
    dotted layer names (``["0", "2"]``) expands only those.
    """
    if not isinstance(root, Tensor):
        raise TypeError(f"tg.draw needs a Tensor, got {type(root).__name__}")
    order = walk(root)
    grads = node_gradients(order, root)

    if expand not in (True, False):
        expand = [str(name) for name in expand]
        known = {s.path for s in map(scope_of, order) if s is not None}
        unknown = [name for name in expand if name not in known]
        if unknown:
            raise ValueError(
                f"tg.draw: no recorded layer named {', '.join(map(repr, unknown))}; "
                f"recorded layers: {', '.join(sorted(known)) or 'none (use tg.viz.record)'}"
            )

    # Which node each tensor becomes: its own, or its layer call's box.
    key_of, groups = {}, {}
    for t in order:
        scope = scope_of(t)
        if scope is not None and not t.is_leaf and not _expanded(scope, expand):
            groups.setdefault(scope.group, []).append(t)
    for t in order:
        scope = scope_of(t)
        if scope is not None and scope.group in groups and t is not root:
            if t.is_leaf and not _expanded(scope, expand):
                groups[scope.group].append(t)
    for n, (_, members) in enumerate(groups.items()):
        for t in members:
            key_of[id(t)] = -(n + 1)

    nodes, made = [], set()
    for t in order:
        key = key_of.get(id(t), id(t))
        if key in made:
            continue
        made.add(key)
        if key < 0:
            nodes.append(_layer_node(key, groups, t, grads))
            continue

        lines = [f"value {summary(t.data)}"]
        # A leaf's own .grad is what the user sees; interior nodes keep none unless retained.
        g = t.grad if t.grad is not None else grads.get(id(t))
        if g is not None:
            lines.append(f"grad {summary(g)}")
        kind = "root" if t is root else ("leaf" if t.is_leaf else "op")
        nodes.append(Node(key, _title(t), lines, kind, t))
        if len(nodes) > max_nodes:
            raise ValueError(
                f"tg.draw: the graph has more than {max_nodes} nodes after boxing layers; "
                "draw a smaller piece, record the forward pass in tg.viz.record(model) to box "
                "its layers, or pass max_nodes="
            )
    edges = {}  # a dict keeps the order and drops repeats (x * x draws one arrow)
    for t in order:
        child = key_of.get(id(t), id(t))
        for p in t._parents:
            parent = key_of.get(id(p), id(p))
            if parent != child:
                edges[(parent, child)] = None
    return nodes, list(edges)


def _layer_node(key, groups, first, grads) -> Node:
    """One box for a layer call: its label, its output's value and gradient, its parameters."""
    scope = scope_of(first)
    members = groups[scope.group]
    # The output: the member no other member consumes (the last one made, if several).
    used = {id(p) for t in members for p in t._parents}
    outs = [t for t in members if not t.is_leaf and id(t) not in used]
    out = outs[-1] if outs else members[-1]
    # Named by the model (``0``, ``encoder.1``) or, without one, by its class.
    title = (
        scope.label if scope.path == scope.label.split("(")[0] else f"{scope.path}: {scope.label}"
    )
    lines = [f"out {summary(out.data)}"]
    g = out.grad if out.grad is not None else grads.get(id(out))
    if g is not None:
        lines.append(f"grad {summary(g)}")
    for t in members:
        s = scope_of(t)
        if t.is_leaf and s is not None and s.param:
            lines.append(f"{s.param} {summary(t.data)}")
            if t.grad is not None:
                lines.append(f"grad {s.param} {summary(t.grad)}")
    return Node(key, title, lines, "layer", out, members)
