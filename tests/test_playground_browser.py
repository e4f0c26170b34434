"""The real page in Debian's Chromium, driven by Selenium against a real ``tracegrad playground``.

In CI (CI=true) these tests never skip: a missing Chromium, chromedriver or Selenium fails
them. Elsewhere they skip, saying why, when those are not installed.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

import numpy as np
import pytest

from saved_models import mlp_of, scale_inputs
from tracegrad import datasets, io
from tracegrad.experiment import Config
from tracegrad.tracing import trace

CHROMEDRIVER = "/usr/bin/chromedriver"
FLAGS = (
    "--headless --no-sandbox --disable-gpu --disable-quic --no-first-run "
    "--disable-background-networking --disable-component-update --disable-sync "
    "--window-size=1280,900"
).split()


def _missing() -> list:
    missing = []
    for module in ("selenium", "starlette", "uvicorn", "websockets"):
        try:
            __import__(module)
        except ImportError:
            missing.append(f"the Python package {module}")
    if not shutil.which("chromium"):
        missing.append("chromium (apt-get install chromium)")
    if not os.path.exists(CHROMEDRIVER):
        missing.append(f"{CHROMEDRIVER} (apt-get install chromium-driver)")
    return missing


@pytest.fixture(scope="module")
def server():
    missing = _missing()
    if missing:
        reason = "browser tests need " + ", ".join(missing)
        if os.environ.get("CI"):
            pytest.fail(reason + " (CI never skips them: .ci/run installs them)")
        pytest.skip(reason)
    proc = subprocess.Popen(
        [sys.executable, "-m", "tracegrad", "playground", "--port", "0", "--no-browser"],
        stdout=subprocess.PIPE,
        text=True,
    )
    line = proc.stdout.readline()
    match = re.search(r"http://127\.0\.0\.1:\d+/", line)
    assert match, f"no URL in {line!r}"
    yield match.group(0)
    proc.terminate()
    proc.wait(timeout=20)


@pytest.fixture
def driver(server):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    for flag in FLAGS:
        options.add_argument(flag)
    profile = tempfile.mkdtemp(prefix="tracegrad-chromium-")
    options.add_argument(f"--user-data-dir={profile}")
    options.binary_location = shutil.which("chromium")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    d = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    d.set_page_load_timeout(60)
    try:
        yield d
    finally:
        d.quit()
        shutil.rmtree(profile, ignore_errors=True)


def find(d, testid, many=False):
    from selenium.webdriver.common.by import By

    css = f'[data-testid="{testid}"]'
    return d.find_elements(By.CSS_SELECTOR, css) if many else d.find_element(By.CSS_SELECTOR, css)


def wait(d, condition, timeout=30):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(d, timeout, poll_frequency=0.05).until(lambda _: condition())


def settled_epoch(d) -> int:
    """The epoch once frames stop arriving (after a pause the last epoch may still land)."""
    last, since = None, time.monotonic()
    while time.monotonic() - since < 0.8:
        now = find(d, "epoch").text
        if now != last:
            last, since = now, time.monotonic()
        time.sleep(0.05)
    return int(last)


def open_page(d, url):
    d.get(url)
    wait(d, lambda: len(find(d, "neuron", many=True)) == 21 and find(d, "loss").text != "–")
    return d.execute_script("return document.body.dataset.session")


def server_json(url, sid, what, **args):
    request = urllib.request.Request(
        f"{url}api/session/{sid}/{what}",
        data=json.dumps(args).encode(),
        headers={"Content-Type": "application/json"},
    )
    return json.loads(urllib.request.urlopen(request, timeout=60).read())


def test_page_trains_and_shows_tracegrads_numbers(driver, server, tmp_path):
    d = driver
    sid = open_page(d, server)
    assert find(d, "epoch").text == "0"
    loss0 = float(find(d, "loss").text)
    find(d, "step").click()
    wait(d, lambda: find(d, "epoch").text == "1")

    # Play for a few seconds and count the decision-boundary frames the page draws.
    drawn0 = d.execute_script("return TGState.drawn")
    started = time.perf_counter()
    find(d, "play").click()
    time.sleep(4)
    find(d, "play").click()
    elapsed = time.perf_counter() - started
    frames = d.execute_script("return TGState.drawn") - drawn0
    epoch = settled_epoch(d)
    print(
        f"\nplayground: {frames / elapsed:.1f} decision-boundary frames/s drawn while playing "
        f"(spirals, 2-8-8-3 tanh, batch 10; {epoch - 1} epochs in {elapsed:.1f} s)"
    )
    assert frames >= 3 and epoch > 2  # it streamed; no rate is asserted (shared CPU)
    assert find(d, "play").get_attribute("aria-pressed") == "false"
    assert float(find(d, "loss").text) < loss0

    # A hidden unit's δ on the page is the server's tracegrad number...
    hidden = [n for n in find(d, "neuron", many=True) if n.get_attribute("data-layer") == "2"]
    hidden[1].click()
    wait(d, lambda: "Unit 1 of layer 2" in find(d, "neuron-detail").text)
    shown = find(d, "delta")
    served = server_json(server, sid, "unit", layer=2, j=1, part="train", index=0)
    assert float(shown.get_attribute("data-value")) == served["delta"]
    assert float(shown.text) == pytest.approx(served["delta"], rel=5e-6, abs=1e-12)
    assert "BP2" in find(d, "neuron-detail").text
    # ...and what tracegrad.trace says for the model the page exports.
    with urllib.request.urlopen(f"{server}api/session/{sid}/model.npz", timeout=60) as r:
        (tmp_path / "m.npz").write_bytes(r.read())
    model = io.load(tmp_path / "m.npz")
    assert model.metadata["epochs"] == epoch
    train, _ = datasets.load("spirals", seed=0, test_size=0.5, n_samples=600, noise=0.05)
    x = scale_inputs(model, train.X[:1])
    t = trace(mlp_of(model), x, train.y[:1], cost="cross_entropy", apply=False)
    assert float(shown.text) == pytest.approx(float(t.layers[1].delta[0, 1]), rel=5e-6)

    # Backprop step mode walks δ from the output back to layer 2.
    find(d, "backprop-step").click()
    wait(d, lambda: find(d, "walk-layer").get_attribute("data-layer") == "3")
    find(d, "backprop-step").click()
    wait(d, lambda: find(d, "walk-layer").get_attribute("data-layer") == "2")
    cells = [c.text for c in find(d, "walk-delta", many=True)]
    assert len(cells) == 8 and float(cells[1]) == pytest.approx(float(shown.text), rel=1e-5)

    # A weight's gradient and update (edges overlap, so the click is dispatched to one).
    edge = find(d, "weight", many=True)[0]
    d.execute_script("arguments[0].dispatchEvent(new MouseEvent('click', {bubbles: true}))", edge)
    wait(d, lambda: "BP4" in find(d, "weight-detail").text)
    assert float(find(d, "update").text) == pytest.approx(
        -0.03 * float(find(d, "grad").text), rel=1e-4
    )

    find(d, "gradcheck").click()
    wait(d, lambda: "passed" in find(d, "gradcheck-result").text, timeout=60)

    shot = os.environ.get("PLAYGROUND_SCREENSHOT") or str(tmp_path / "playground.png")
    d.save_screenshot(shot)
    if os.environ.get("PLAYGROUND_SCREENSHOT"):  # the README's picture: a small palette PNG
        from PIL import Image

        with Image.open(shot) as image:
            image.convert("RGB").quantize(colors=96).save(shot, optimize=True)
    print(f"playground screenshot: {shot}")
    assert os.path.getsize(shot) > 10_000

    # A bad setting is refused in the page with the CLI's message, and the run keeps its own.
    with pytest.raises(ValueError) as cli:
        Config(lr=-1.0).validate()
    d.execute_script(  # as a person typing -1 and leaving the field
        "arguments[0].value = '-1'; arguments[0].dispatchEvent(new Event('change'))", find(d, "lr")
    )
    wait(d, lambda: find(d, "error").text == str(cli.value))
    wait(d, lambda: find(d, "lr").get_attribute("value") == "0.03")
    assert int(find(d, "epoch").text) == epoch

    severe = [e["message"] for e in d.get_log("browser") if e["level"] == "SEVERE"]
    assert severe == []


def test_upload_in_the_page(driver, server, tmp_path):
    d = driver
    open_page(d, server)
    rng = np.random.default_rng(3)
    good = tmp_path / "rings.csv"
    X = rng.normal(size=(60, 2))
    labels = np.where(np.hypot(*X.T) > 1, "out", "in")
    good.write_text(
        "x1,x2,label\n" + "".join(f"{a},{b},{c}\n" for (a, b), c in zip(X, labels, strict=True))
    )
    find(d, "upload").send_keys(str(good))
    wait(d, lambda: find(d, "dataset").get_attribute("value") == "upload")
    assert "upload: rings.csv" in find(d, "dataset").text
    assert d.execute_script("return TGState.data.train.length + TGState.data.test.length") == 60
    assert len(find(d, "neuron", many=True)) == 2 + 8 + 8 + 2

    bad = tmp_path / "bad.csv"
    bad.write_text("x1,x2,label\n1,2,a\n3,oops,b\n")
    find(d, "upload").send_keys(str(bad))
    wait(d, lambda: find(d, "error").text != "")
    with pytest.raises(ValueError) as cli:
        datasets.load_file(bad)
    assert find(d, "error").text == str(cli.value).replace(str(bad), "bad.csv").splitlines()[0]
    assert str(tmp_path) not in d.page_source
    # The refused upload's 400 is logged by Chromium as a failed resource; nothing else may be.
    severe = [e["message"] for e in d.get_log("browser") if e["level"] == "SEVERE"]
    assert [m for m in severe if "upload?name=bad.csv" not in m or "400" not in m] == []
    assert len(severe) == 1


def test_controls_change_the_network_and_the_data(driver, server):
    from selenium.webdriver.support.ui import Select

    d = driver
    open_page(d, server)
    find(d, "step").click()
    wait(d, lambda: find(d, "epoch").text == "1")
    Select(find(d, "dataset")).select_by_value("xor")
    wait(d, lambda: len(find(d, "neuron", many=True)) == 2 + 8 + 8 + 2)
    assert find(d, "epoch").text == "0"
    assert d.execute_script("return TGState.data.train.length + TGState.data.test.length") == 400
    find(d, "add-layer").click()
    wait(d, lambda: len(find(d, "neuron", many=True)) == 2 + 8 + 8 + 4 + 2)
    find(d, "remove-unit-1").click()
    wait(d, lambda: len(find(d, "neuron", many=True)) == 2 + 7 + 8 + 4 + 2)
    find(d, "step").click()
    find(d, "step").click()
    wait(d, lambda: find(d, "epoch").text == "2")
    find(d, "reset").click()
    wait(d, lambda: find(d, "epoch").text == "0")
    assert d.execute_script("return TGState.settings.hidden") == [7, 8, 4]
    severe = [e["message"] for e in d.get_log("browser") if e["level"] == "SEVERE"]
    assert severe == []


def test_html_trace_and_graph_drawing_render_in_chromium(driver, tmp_path):
    """The worked example's page steps forward -> backward -> update in a real browser, and
    the SVG drawing of f = w x + b shows its numbers there, not only in the file's text."""
    from selenium.webdriver.common.by import By

    import tracegrad as tg

    page = tmp_path / "mazur.html"
    args = ["trace", "mazur", "--format", "html", "--output", str(page)]
    proc = subprocess.run([sys.executable, "-m", "tracegrad", *args], capture_output=True,
                          text=True, timeout=120)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    driver.get(page.as_uri())
    stage = driver.find_element(By.ID, "stage-name")
    wait(driver, lambda: stage.text == "forward pass")

    def unit_text(fragment):  # the diagram's label holding ``fragment``
        xpath = f"//*[name()='tspan' and contains(., '{fragment}')]"
        return driver.find_element(By.XPATH, xpath)

    gradient, updated = unit_text("∂C/∂w5 = 0.082167041"), unit_text("new 0.358916480")
    assert not gradient.is_displayed() and not updated.is_displayed()  # forward numbers only
    driver.find_element(By.ID, "next").click()
    wait(driver, lambda: stage.text == "backward pass")
    assert gradient.is_displayed() and not updated.is_displayed()
    driver.find_element(By.ID, "next").click()
    wait(driver, lambda: stage.text == "update")
    assert updated.is_displayed()
    driver.save_screenshot(str(tmp_path / "mazur_trace.png"))

    leaves = ((-2.0, "w"), (5.0, "x"), (3.0, "b"))
    w, x, b = (tg.Tensor(v, requires_grad=True, name=n) for v, n in leaves)
    f = w * x + b
    f.backward()
    tg.draw(f, tmp_path / "graph.svg")
    driver.get((tmp_path / "graph.svg").as_uri())
    shown = " ".join(e.text for e in driver.find_elements(By.XPATH, "//*[name()='text']"))
    for number in ("-10", "-7", "5", "-2", "1"):
        assert re.search(rf"(?<![\d.-]){re.escape(number)}(?![\d.])", shown), (number, shown)
    severe = [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert severe == []
