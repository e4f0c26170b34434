"""The traced step as an HTML page: every number of tg.trace present as text, offline, bounded."""

import subprocess
import sys
from html.parser import HTMLParser

import numpy as np
import pytest

import tracegrad as tg
from tracegrad import nn
from tracegrad.tracing import mazur_network


class Page(HTMLParser):
    """Visible text, tags and attributes of a page, read with the standard parser."""

    def __init__(self, html):
        super().__init__()
        self.text, self.tags, self.attrs, self.scripts = [], [], [], []
        self._in_script = False
        self.feed(html)
        self.joined = " ".join(self.text)

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs += attrs
        self._in_script = tag == "script"

    def handle_endtag(self, tag):
        self._in_script = False

    def handle_data(self, data):
        (self.scripts if self._in_script else self.text).append(data)


def f9(v):
    return f"{float(v):.9f}"


@pytest.fixture
def mazur_step():
    model, x, targets = mazur_network()
    return tg.trace(model, x, targets, cost="half_sse", lr=0.5, update_biases=False)


def test_mazur_page_has_mazurs_published_numbers(mazur_step):
    page = Page(mazur_step.to_html())
    # Matt Mazur's worked example, digit for digit: E_total, dE/dw5, w5+, dE/dw1, w1+.
    for number in ("0.298371109", "0.082167041", "0.358916480", "0.000438568", "0.149780716"):
        assert number in page.joined
    assert "∂C/∂w5 = 0.082167041" in page.joined


def test_every_number_of_the_trace_is_on_the_page(mazur_step):
    text = Page(mazur_step.to_html()).joined
    for lt in mazur_step.layers:
        for values in (lt.z, lt.a, lt.delta, lt.dW, lt.W_new, lt.W):
            for v in np.ravel(values):
                assert f9(v) in text, (lt.l, v)


def test_formulas_stand_beside_their_numbers(mazur_step):
    text = Page(mazur_step.to_html()).joined
    for formula in ("BP1", "BP2", "BP3", "BP4", "w ← w − η ∂C/∂w", "E = Σ ½ (t − a"):
        assert formula in text
    # BP2's sum (W^T delta) of hidden unit 1: w5 delta_o1 + w7 delta_o2.
    out = mazur_step.layers[1]
    assert f9(out.W[:, 0] @ out.delta[0]) in text
    # BP1's first factor for E = Σ ½ (t − o)²: ∂E/∂out_o1 = out_o1 − target_o1 (Mazur: 0.74136507).
    assert "0.741365070" in text and "∂C/∂a" in text


def test_page_is_self_contained_and_steps_with_plain_js(mazur_step):
    html = mazur_step.to_html()
    page = Page(html)
    assert "link" not in page.tags and "img" not in page.tags and "iframe" not in page.tags
    assert not [v for k, v in page.attrs if k in ("src", "href")]
    assert "http" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "svg" in page.tags and "script" in page.tags and "style" in page.tags
    assert 'id="next"' in html and 'type="range"' in html and "dataset.stage" in html
    # Without JavaScript no stage is set, so the CSS that hides later stages never applies.
    assert "data-stage" not in html.split("<script>")[0].split("</style>")[1]


def test_notebooks_show_the_page_in_a_frame_of_its_own(mazur_step):
    # Jupyter and sphinx-gallery call _repr_html_: the whole page, escaped into srcdoc.
    import html

    frame = mazur_step._repr_html_()
    assert frame.startswith("<iframe srcdoc=") and frame.endswith("</iframe>")
    srcdoc = frame.split('srcdoc="', 1)[1].split('"', 1)[0]
    assert html.unescape(srcdoc) == mazur_step.to_html()


def test_a_users_own_network_and_batch(tmp_path):
    model = nn.MLP([3, 4, 2], activation="tanh", output="sigmoid", rng=1, dtype=np.float64)
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(5, 3)), rng.uniform(size=(5, 2))
    step = tg.trace(model, X, y, cost="mse", lr=0.1)
    step.to_html(tmp_path / "mine.html")
    text = Page((tmp_path / "mine.html").read_text(encoding="utf-8")).joined
    for lt in step.layers:
        for values in (lt.delta, lt.dW, lt.db, lt.W_new, lt.b_new):
            for v in np.ravel(values):
                assert f9(v) in text
    assert "sample 1 of 5" in text


def test_wide_networks_are_refused_with_the_way_out():
    model = nn.MLP([20, 30, 2], rng=0, dtype=np.float64)
    step = tg.trace(model, np.ones((1, 20)), np.zeros((1, 2)), cost="mse")
    with pytest.raises(ValueError, match=r"small networks.*str\(step\)"):
        step.to_html()


def cli(*args, cwd):
    return subprocess.run(
        [sys.executable, "-m", "tracegrad", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
    )


def test_cli_writes_the_page(tmp_path, mazur_step):
    proc = cli("trace", "mazur", "--format", "html", "--output", "m.html", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    html = (tmp_path / "m.html").read_text(encoding="utf-8")
    text = Page(html).joined
    assert "0.082167041" in text and "Mazur" in text
    for lt in mazur_step.layers:  # the same step as the library's
        assert all(f9(v) in text for v in np.ravel(lt.dW))
    assert [p.name for p in tmp_path.iterdir()] == ["m.html"]  # no temporary file left


def test_cli_refuses_output_without_html(tmp_path):
    proc = cli("trace", "mazur", "--output", "m.json", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "--format html" in proc.stderr
    assert not list(tmp_path.iterdir())
