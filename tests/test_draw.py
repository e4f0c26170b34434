"""tg.draw: the computational graph with its numbers, in SVG, DOT and PNG, laid out cleanly."""

import io
import itertools
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from PIL import Image

import tracegrad as tg
from tracegrad import losses, nn
from tracegrad.nn import module as nn_module
from tracegrad.viz import record
from tracegrad.viz.graph import MAX_WALK, node_gradients, walk

SVG = "{http://www.w3.org/2000/svg}"


def wxb():
    """The notes' figure: f = w x + b with w = -2, x = 5, b = 3, after backward()."""
    w = tg.Tensor(-2.0, requires_grad=True, name="w")
    x = tg.Tensor(5.0, requires_grad=True, name="x")
    b = tg.Tensor(3.0, requires_grad=True, name="b")
    f = w * x + b
    f.backward()
    return f


def svg_boxes(svg: str) -> dict:
    """{title: [lines]} of every node group in an SVG drawing, read as XML."""
    root = ET.fromstring(svg)
    boxes = {}
    for g in root.iter(f"{SVG}g"):
        if "node" in g.get("class", "").split():
            texts = [t.text for t in g.findall(f"{SVG}text")]
            boxes[texts[0]] = texts[1:]
    return boxes


def test_wxb_svg_shows_the_forward_values_and_backward_gradients_as_text():
    boxes = svg_boxes(tg.draw(wxb()).svg())
    assert set(boxes) == {"w", "x", "b", "mul", "add"}
    assert boxes["mul"] == ["value -10", "grad 1"]
    assert boxes["add"] == ["value -7", "grad 1"]
    assert boxes["w"] == ["value -2", "grad 5"]  # df/dw = x
    assert boxes["x"] == ["value 5", "grad -2"]  # df/dx = w
    assert boxes["b"] == ["value 3", "grad 1"]


def test_wxb_dot_text_and_repr_svg():
    drawing = tg.draw(wxb())
    dot = drawing.dot()
    assert dot.startswith("digraph") and dot.count("->") == 4
    for text in ("value -10", "value -7", "grad 5", "grad -2", "grad 1"):
        assert text in dot
    assert svg_boxes(drawing._repr_svg_()) == svg_boxes(drawing.svg())
    assert svg_boxes(drawing._repr_html_()) == svg_boxes(drawing.svg())  # sphinx-gallery's view


def test_save_picks_the_format_from_the_extension(tmp_path):
    drawing = tg.draw(wxb(), tmp_path / "f.svg")
    assert "value -10" in (tmp_path / "f.svg").read_text()
    drawing.save(tmp_path / "f.dot")
    assert (tmp_path / "f.dot").read_text() == drawing.dot()
    drawing.save(tmp_path / "f.png")
    with Image.open(tmp_path / "f.png") as im:
        im.load()
        assert im.format == "PNG"
        assert im.size == (round(drawing.layout.width), round(drawing.layout.height))
        pixels = np.asarray(im.convert("L"))
    assert pixels.min() < 100 < pixels.max()  # dark text and lines on a light ground
    with pytest.raises(ValueError, match="end the name with"):
        drawing.save(tmp_path / "f.jpeg")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.dot", "f.png", "f.svg"]


def test_png_bytes_are_a_valid_image():
    data = tg.draw(wxb()).png()
    with Image.open(io.BytesIO(data)) as im:
        assert im.width > 0 and im.height > 0


def test_no_gradients_are_shown_before_backward():
    w = tg.Tensor(-2.0, requires_grad=True, name="w")
    f = w * 5.0 + 3.0
    assert all(len(lines) == 1 for lines in svg_boxes(tg.draw(f).svg()).values())


def test_interior_gradients_match_the_engine_retained_gradients(rng):
    a = tg.Tensor(rng.normal(size=(3, 4)), requires_grad=True)
    b = tg.Tensor(rng.normal(size=(4,)), requires_grad=True)
    h = (a * b).retain_grad()
    s = h.tanh().retain_grad()
    out = (s * s + h).sum()
    out.backward()
    grads = node_gradients(walk(out), out)
    np.testing.assert_allclose(grads[id(h)], h.grad, rtol=1e-12)
    np.testing.assert_allclose(grads[id(s)], s.grad, rtol=1e-12)
    np.testing.assert_allclose(grads[id(b)], b.grad, rtol=1e-12)


def test_arrays_are_summarised_by_shape_and_min_mean_max():
    w = tg.Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True, name="W")
    boxes = svg_boxes(tg.draw(w.sum()).svg())
    assert boxes["W"][0] == "value 2x3 min 0 mean 2.5 max 5"


def boxes_overlap(a, b) -> bool:
    (x0, y0, w0, h0), (x1, y1, w1, h1) = a, b
    return x0 < x1 + w1 and x1 < x0 + w0 and y0 < y1 + h1 and y1 < y0 + h0


def model_loss(rng, record_model=True):
    model = nn.MLP([4, 8, 3, 2], activation="softplus", output="sigmoid", rng=0)
    X = rng.normal(size=(5, 4)).astype(np.float32)
    y = rng.uniform(size=(5, 2)).astype(np.float32)
    if record_model:
        with record(model):
            loss = losses.mse(model(X), y)
    else:
        loss = losses.mse(model(X), y)
    loss.backward()
    return model, loss


@pytest.mark.parametrize("expand", [False, True])
def test_layout_boxes_never_overlap_and_edges_run_left_to_right(rng, expand):
    _, loss = model_loss(rng)
    drawing = tg.draw(loss, expand=expand)
    boxes = drawing.layout.boxes
    assert len(boxes) == len(drawing.nodes) > 5
    for a, b in itertools.combinations(boxes.values(), 2):
        assert not boxes_overlap(a, b)
    for u, v in drawing.edges:
        assert boxes[u][0] + boxes[u][2] <= boxes[v][0]
    for x, y, w, h in boxes.values():
        assert 0 <= x and x + w <= drawing.layout.width
        assert 0 <= y and y + h <= drawing.layout.height


def test_a_recorded_model_draws_one_box_per_layer(rng):
    model, loss = model_loss(rng)
    drawing = tg.draw(loss)
    layers = [n.title for n in drawing.nodes if n.kind == "layer"]
    expected = [f"{i}: {type(m).__name__}" for i, m in enumerate(model.layers)]
    assert [t.split("(")[0] for t in layers] == expected
    assert "0: Linear(4->8)" in layers and "2: Linear(8->3)" in layers
    # Each Linear box carries its parameters' gradients, the ones backward() stored.
    first = next(n for n in drawing.nodes if n.title == "0: Linear(4->8)")
    w = model.layers[0].weight
    assert any(line.startswith("grad weight 8x4") for line in first.lines)
    assert f"max {float(w.grad.max()):.4g}" in " ".join(first.lines)

    every = tg.draw(loss, expand=True)
    assert not [n for n in every.nodes if n.kind == "layer"]
    assert {"0.weight", "0.bias", "2.weight", "4.bias"} <= {n.title for n in every.nodes}
    assert len(every.nodes) > len(drawing.nodes)
    one_open = tg.draw(loss, expand=["1"])
    titles = [n.title for n in one_open.nodes if n.kind == "layer"]
    assert "1: Softplus" not in titles and "0: Linear(4->8)" in titles
    assert len(drawing.nodes) < len(one_open.nodes) < len(every.nodes)
    with pytest.raises(ValueError, match="no recorded layer named '7'; recorded layers: 0, 1"):
        tg.draw(loss, expand=["7"])


def test_recording_is_off_outside_its_block(rng):
    assert nn_module._call_hook is None
    _, loss = model_loss(rng, record_model=False)
    _, recorded = model_loss(np.random.default_rng(1234), record_model=True)
    assert recorded.item() == model_loss(np.random.default_rng(1234), False)[1].item()
    assert not [n for n in tg.draw(loss).nodes if n.kind == "layer"]
    model = nn.MLP([2, 2], rng=0)
    with pytest.raises(ZeroDivisionError), record(model):
        raise ZeroDivisionError
    assert nn_module._call_hook is None
    with record(model), pytest.raises(RuntimeError, match="do not nest"), record(model):
        pass
    assert nn_module._call_hook is None


def test_without_a_model_layers_are_named_by_class(rng):
    lin = nn.Linear(3, 2, rng=0)
    with record():
        out = lin(rng.normal(size=(4, 3))).sum()
    out.backward()
    assert [n.title for n in tg.draw(out).nodes if n.kind == "layer"] == ["Linear(3->2)"]


def test_big_graphs_are_refused_with_a_clear_message():
    x = tg.Tensor(1.0, requires_grad=True)
    y = x
    for _ in range(300):
        y = y + 1.0
    with pytest.raises(ValueError, match="more than 200 nodes.*max_nodes="):
        tg.draw(y)
    assert len(tg.draw(y, max_nodes=400).nodes) == 301
    for _ in range(MAX_WALK):
        y = y * 1.0
    with pytest.raises(ValueError, match="draw a smaller piece"):
        tg.draw(y, max_nodes=10**9)


def test_draw_needs_a_tensor():
    with pytest.raises(TypeError, match="needs a Tensor"):
        tg.draw(np.ones(3))


@pytest.mark.parametrize("seed", range(12))
def test_layout_of_random_graphs_keeps_boxes_apart(seed):
    """Random DAGs with long edges and shared inputs, boxes of random sizes."""
    from tracegrad.viz.layout import layout

    r = np.random.default_rng(seed)
    n = int(r.integers(2, 40))
    sizes = {k: (float(r.uniform(20, 200)), float(r.uniform(20, 90))) for k in range(n)}
    edges = sorted(
        {(int(u), int(v)) for v in range(1, n) for u in r.choice(v, size=min(v, 3), replace=False)}
    )
    lay = layout(sizes, edges)
    assert set(lay.boxes) == set(sizes)
    for a, b in itertools.combinations(lay.boxes.values(), 2):
        assert not boxes_overlap(a, b)
    for (u, v), (eu, ev, points) in zip(edges, lay.edges, strict=True):
        assert (u, v) == (eu, ev)
        assert lay.boxes[u][0] + lay.boxes[u][2] <= lay.boxes[v][0]
        xs = [p[0] for p in points]
        assert xs == sorted(xs)  # every route runs left to right, through its columns


def test_crossing_reduction_untangles_a_tree():
    """Two chains fed in a crossed order come out uncrossed: a tree needs no crossing."""
    from tracegrad.viz.layout import crossings, layers, order

    edges = [("a1", "b2"), ("b1", "a2"), ("a2", "root"), ("b2", "root")]
    layer = layers(["a1", "b1", "a2", "b2", "root"], edges)
    start = {k: layer[k] for k in ["a1", "b1", "a2", "b2", "root"]}  # column order a1 b1 | a2 b2
    assert start == {"a1": 0, "b1": 0, "a2": 1, "b2": 1, "root": 2}
    assert crossings([["a1", "b1"], ["a2", "b2"], ["root"]], edges) == 1
    assert crossings(order(start, edges), edges) == 0
