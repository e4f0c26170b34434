"""The playground's API: its numbers are checked against PyTorch and against tracegrad's
own library calls made here, and hostile input is refused with the CLI's one-line messages."""

import os
import re
import subprocess
import sys
import time
import urllib.request

import numpy as np
import pytest

from saved_models import mlp_of, scale_inputs
from tracegrad import datasets, io
from tracegrad.datasets import load_file
from tracegrad.experiment import Config

if not os.environ.get("CI"):  # in CI the extra is installed: a missing one must fail
    pytest.importorskip("starlette", reason="the playground extra is not installed")
    pytest.importorskip("httpx", reason="Starlette's TestClient needs httpx")
from starlette.testclient import TestClient  # noqa: E402
from starlette.websockets import WebSocketDisconnect  # noqa: E402

from tracegrad.playground import create_app  # noqa: E402

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # Starlette's httpx note


class Page:
    """One open page: its websocket and the session's HTTP routes."""

    def __init__(self, client, ws):
        self.client, self.ws = client, ws
        hello = ws.receive_json()
        assert hello["type"] == "hello"
        self.sid = hello["session"]
        self.data = ws.receive_json()
        self.frame = ws.receive_json()

    def command(self, message) -> list:
        """Send a command; the replies up to the final state message."""
        self.ws.send_json(message)
        replies = []
        while True:
            m = self.ws.receive_json()
            replies.append(m)
            if m["type"] == "data":
                self.data = m
            elif m["type"] == "frame":
                self.frame = m
            elif m["type"] == "state":
                return replies

    def ask(self, what, **args):
        return self.client.post(f"/api/session/{self.sid}/{what}", json=args)

    def model(self, tmp_path):
        r = self.client.get(f"/api/session/{self.sid}/model.npz")
        assert r.status_code == 200
        path = tmp_path / "m.npz"
        path.write_bytes(r.content)
        return io.load(path)


@pytest.fixture
def client():
    with TestClient(create_app()) as c:
        yield c


@pytest.fixture
def page(client):
    with client.websocket_connect("/ws") as ws:
        yield Page(client, ws)


def regenerate(settings):
    """The run's data, made here from its settings with tracegrad's registry."""
    defaults = {"spirals": 600, "xor": 400, "moons": 400, "circles": 400, "blobs": 600}
    noise = {"spirals": 0.05, "xor": 0.1, "moons": 0.1, "circles": 0.05, "blobs": 1.0}
    name = settings["dataset"]
    return datasets.load(
        name,
        seed=settings["seed"],
        test_size=round(1 - settings["train_ratio"], 6),
        n_samples=settings["n_samples"] or defaults[name],
        noise=noise[name] if settings["noise"] is None else settings["noise"],
    )


def torch_deltas(model, x, label, l2=0.0):
    """δ^(l) = ∂C/∂z^(l) for one sample, computed by PyTorch from the model's weights."""
    a = torch.tensor(np.asarray(x, dtype=np.float64)[None, :])
    zs, Ws = [], []
    linears = mlp_of(model).linears
    for i, lin in enumerate(linears):
        W = torch.tensor(lin.weight.data.astype(np.float64), requires_grad=True)
        b = torch.tensor(lin.bias.data.astype(np.float64))
        z = a @ W.T + b
        z.retain_grad()
        zs.append(z)
        Ws.append(W)
        a = torch.tanh(z) if i < len(linears) - 1 else z
    torch.nn.functional.cross_entropy(a, torch.tensor([int(label)])).backward()
    return [z.grad[0].numpy() for z in zs], [W.grad.numpy() for W in Ws]


def test_frames_step_and_losses_are_tracegrads(page, tmp_path):
    assert page.frame["epoch"] == 0 and page.data["sizes"] == [2, 8, 8, 3]
    assert len(page.frame["level"]) == page.data["grid"] ** 2
    for _ in range(3):
        page.command({"type": "step"})
    assert page.frame["epoch"] == 3
    model = page.model(tmp_path)
    assert model.metadata["epochs"] == 3
    train, test = regenerate(page.data["settings"])
    np.testing.assert_allclose(np.array(page.data["train"])[:, :2], train.X, atol=1e-5)
    with torch.no_grad():
        for ds, key in ((train, "loss"), (test, "test_loss")):
            X = torch.tensor(scale_inputs(model, ds.X).astype(np.float64))
            a = X
            for i, lin in enumerate(mlp_of(model).linears):
                a = a @ torch.tensor(lin.weight.data.T.astype(np.float64)) + torch.tensor(
                    lin.bias.data.astype(np.float64)
                )
                a = torch.tanh(a) if i < len(mlp_of(model).linears) - 1 else a
            expected = torch.nn.functional.cross_entropy(a, torch.tensor(ds.y)).item()
            assert page.frame[key] == pytest.approx(expected, rel=1e-5)
    assert page.frame["epoch"] == 3


def test_unit_detail_matches_pytorch(page, tmp_path):
    page.command({"type": "step"})
    model = page.model(tmp_path)
    train, _ = regenerate(page.data["settings"])
    index = 7
    x = scale_inputs(model, train.X[index : index + 1])[0]
    deltas, _ = torch_deltas(model, x, train.y[index])
    for layer in (1, 2, 3):
        for j in (0, 2):
            r = page.ask("unit", layer=layer, j=j, part="train", index=index)
            assert r.status_code == 200, r.text
            u = r.json()
            assert u["delta"] == pytest.approx(deltas[layer - 1][j], rel=1e-4, abs=1e-7)
            if layer < 3:  # BP2: δ = (Wᵀδ)_j f'(z_j), and f' = 1 - tanh² here
                assert u["rule"] == "BP2"
                assert u["back"] * u["fprime"] == pytest.approx(u["delta"], rel=1e-4, abs=1e-8)
                assert u["fprime"] == pytest.approx(1 - np.tanh(u["z"]) ** 2, rel=1e-5)
            else:  # BP1 with softmax and cross-entropy: δ = p - y
                assert u["rule"] == "BP1"
                assert u["p"] - u["y"] == pytest.approx(u["delta"], rel=1e-5, abs=1e-7)
    assert page.ask("unit", layer=0, j=1, index=index).json()["a"] == pytest.approx(x[1])
    assert page.ask("unit", layer=4, j=0).status_code == 400
    assert page.ask("unit", layer=1, j=8).json()["error"].startswith("layer 1 has units 0 to 7")


def test_weight_detail_gradient_and_update(page, tmp_path):
    page.command({"type": "settings", "settings": {"l2": 0.5}})
    page.command({"type": "step"})
    model = page.model(tmp_path)
    train, _ = regenerate(page.data["settings"])
    x = scale_inputs(model, train.X[:1])[0]
    _, sample_grads = torch_deltas(model, x, train.y[0])
    w = page.ask("weight", layer=2, j=3, k=5).json()
    assert w["w"] == pytest.approx(float(mlp_of(model).linears[1].weight.data[3, 5]))
    assert w["grad_sample"] == pytest.approx(sample_grads[1][3, 5], rel=1e-4, abs=1e-8)
    assert w["grad_sample"] == pytest.approx(w["a_prev"] * w["delta"], rel=1e-5, abs=1e-9)
    # The whole training set's gradient with the L2 term λ/m·w, by PyTorch.
    X = torch.tensor(scale_inputs(model, train.X).astype(np.float64))
    Ws = [
        torch.tensor(lin.weight.data.astype(np.float64), requires_grad=True)
        for lin in mlp_of(model).linears
    ]
    a = X
    for i, (W, lin) in enumerate(zip(Ws, mlp_of(model).linears, strict=True)):
        a = a @ W.T + torch.tensor(lin.bias.data.astype(np.float64))
        a = torch.tanh(a) if i < len(Ws) - 1 else a
    cost = torch.nn.functional.cross_entropy(a, torch.tensor(train.y))
    cost = cost + 0.5 / (2 * len(X)) * sum((W**2).sum() for W in Ws)
    cost.backward()
    assert w["grad"] == pytest.approx(Ws[1].grad[3, 5].item(), rel=1e-4, abs=1e-8)
    assert w["update"] == pytest.approx(-0.03 * w["grad"])
    assert page.ask("weight", layer=1, j=0, k=2).json()["error"].startswith("k must be 0 to 1")


def test_backprop_walk_and_gradcheck(page):
    t = page.ask("backprop", part="test", index=3).json()
    assert [r["l"] for r in t["layers"]] == [1, 2, 3]
    last = t["layers"][-1]
    assert np.allclose(np.array(t["probs"]) - np.array(t["target"]), last["delta"], atol=1e-6)
    for r, nxt in zip(t["layers"][:-1], t["layers"][1:], strict=True):  # BP2, layer by layer
        back = np.array(nxt["W"]).T @ np.array(nxt["delta"])
        assert np.allclose(back * np.array(r["fprime"]), r["delta"], rtol=1e-4, atol=1e-8)
    g = page.ask("gradcheck").json()
    assert g["passed"] and g["relative_difference"] < g["tolerance"]
    assert [p["name"] for p in g["parameters"]] == [
        "0.weight",
        "0.bias",
        "2.weight",
        "2.bias",
        "4.weight",
        "4.bias",
    ]
    assert page.ask("backprop", index=10**6).status_code == 400
    r = page.ask("gradcheck", max_samples=10**9)  # the page cannot make the server work harder
    assert r.status_code == 400 and r.json()["error"].startswith("gradcheck takes no arguments")
    page.ws.send_text("{not json")
    assert page.ws.receive_json() == {"type": "error", "message": "commands are JSON objects"}
    replies = page.command({"type": "launch"})
    assert replies[0] == {"type": "error", "message": "unknown command 'launch'"}


def test_bad_settings_get_the_clis_message_and_keep_the_run(page):
    page.command({"type": "step"})
    for bad, cli in [
        ({"lr": -1}, Config(lr=-1.0)),
        ({"batch_size": 0}, Config(batch_size=0)),
        ({"l2": -0.5}, Config(l2=-0.5)),
        ({"activation": "cube"}, Config(activation="cube")),
        ({"optimizer": "magic"}, Config(optimizer="magic")),
    ]:
        with pytest.raises(ValueError) as expected:
            cli.validate()
        replies = page.command({"type": "settings", "settings": bad})
        errors = [m["message"] for m in replies if m["type"] == "error"]
        assert errors == [str(expected.value)]
    for bad, start in [
        ({"hidden": [8] * 7}, "at most 6 hidden layers"),
        ({"hidden": [9]}, "a hidden layer width must be between 1 and 8"),
        ({"lr": True}, "lr must be a number"),
        ({"lr": "0.1"}, "lr must be a number"),
        ({"dataset": "mnist"}, "unknown data set 'mnist'"),
        ({"path": "/etc/passwd"}, "unknown setting 'path'"),
        ({"train_ratio": 1.0}, "train_ratio must be between"),
        ({"optimizer": "lbfgs"}, "lbfgs minimizes"),
    ]:
        replies = page.command({"type": "settings", "settings": bad})
        assert [m["message"] for m in replies if m["type"] == "error"][0].startswith(start)
    assert page.frame["epoch"] == 1 and page.data["settings"]["lr"] == 0.03
    page.command({"type": "settings", "settings": {"hidden": [3], "dataset": "xor"}})
    assert page.data["sizes"] == [2, 3, 2] and page.frame["epoch"] == 0


def test_upload_uses_the_cli_rules_and_hides_paths(page, tmp_path):
    rows = "\n".join(
        f"{x:.3f},{-x:.3f},{'ab'[i % 2]}" for i, x in enumerate(np.linspace(-1, 1, 40))
    )
    r = page.client.post(
        f"/api/session/{page.sid}/upload?name=mine.csv", content=("x1,x2,label\n" + rows).encode()
    )
    assert r.status_code == 200, r.text
    assert r.json()["classes"] == ["a", "b"]
    page.command({"type": "settings", "settings": {"dataset": "upload"}})
    assert page.data["upload"] == "mine.csv" and page.data["class_names"] == ["a", "b"]
    assert len(page.data["train"]) + len(page.data["test"]) == 40
    page.command({"type": "step"})  # the exported script reads the file from beside itself
    (tmp_path / "mine.csv").write_text("x1,x2,label\n" + rows)
    (tmp_path / "run.py").write_text(page.client.get(f"/api/session/{page.sid}/script.py").text)
    out = subprocess.run(
        [sys.executable, "run.py"], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0 and f"train loss {page.frame['loss']:.6f}" in out.stdout, out.stderr

    bad = b"x1,x2,label\n1,2,a\n3,oops,b\n"
    r = page.client.post(f"/api/session/{page.sid}/upload?name=bad.csv", content=bad)
    (tmp_path / "bad.csv").write_bytes(bad)
    with pytest.raises(ValueError) as cli:
        load_file(tmp_path / "bad.csv")
    expected = str(cli.value).replace(str(tmp_path / "bad.csv"), "bad.csv").splitlines()[0]
    assert r.status_code == 400 and r.json()["error"] == expected
    for name, content, start in [
        ("three.csv", b"a,b,c,label\n1,2,3,0\n4,5,6,1\n", "three.csv has 3 feature columns"),
        ("notes.txt", b"1,2,0\n", "notes.txt: unsupported file type"),
        ("../../etc/evil.csv", b"", "evil.csv is empty"),
        ("big.csv", b"1,2,0\n" * 200_000, "the file has"),
    ]:
        r = page.client.post(f"/api/session/{page.sid}/upload?name={name}", content=content)
        assert r.status_code in (400, 413) and r.json()["error"].startswith(start), r.text
        assert "/tmp" not in r.text and "tracegrad-" not in r.text


def test_routes_sessions_and_origins(client):
    assert client.get("/").status_code == 200 and 'data-testid="play"' in client.get("/").text
    for path in ("/nope", "/static/../server.py", "/api/session/none/script.py", "/static/x.js"):
        r = client.get(path)
        assert r.status_code == 404 and "/" not in r.json()["error"]
    assert client.post("/api/session/none/unit", json={}).status_code == 404
    with TestClient(create_app(max_sessions=1)) as small:
        with small.websocket_connect("/ws") as first:
            assert first.receive_json()["type"] == "hello"
            with small.websocket_connect("/ws") as second:
                m = second.receive_json()
                assert m["type"] == "error" and "close one" in m["message"]
    with pytest.raises(WebSocketDisconnect):  # another site's page may not drive it
        with client.websocket_connect("/ws", headers={"origin": "http://evil.example"}) as ws:
            ws.receive_json()


def test_diverging_run_is_refused_in_one_line(page):
    page.command({"type": "settings", "settings": {"activation": "relu", "lr": 1e4}})
    errors = [m["message"] for m in page.command({"type": "step"}) if m["type"] == "error"]
    assert len(errors) == 1 and "learning rate" in errors[0] and "press reset" in errors[0]
    assert "\n" not in errors[0] and page.frame["epoch"] == 0
    again = [m["message"] for m in page.command({"type": "step"}) if m["type"] == "error"]
    assert again == errors  # stays stopped: no step on a broken network
    assert page.ask("unit", layer=1, j=0).json()["error"] == errors[0]
    assert page.client.get(f"/api/session/{page.sid}/model.npz").status_code == 400
    page.command({"type": "settings", "settings": {"lr": 0.03}})
    page.command({"type": "reset"})
    assert not [m for m in page.command({"type": "step"}) if m["type"] == "error"]
    assert page.frame["epoch"] == 1


def test_exported_script_reproduces_the_run(page, tmp_path):
    page.command(
        {
            "type": "settings",
            "settings": {"dataset": "moons", "hidden": [5, 3], "optimizer": "adam", "lr": 0.01},
        }
    )
    page.command({"type": "step"})
    page.command({"type": "step"})
    page.command({"type": "settings", "settings": {"lr": 0.003, "batch_size": 7, "l2": 0.1}})
    page.command({"type": "step"})
    served = page.model(tmp_path)
    script = page.client.get(f"/api/session/{page.sid}/script.py").text
    (tmp_path / "run.py").write_text(script)
    out = subprocess.run(
        [sys.executable, "run.py"], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert f"train loss {page.frame['loss']:.6f}" in out.stdout
    replayed = io.load(tmp_path / "tracegrad-playground.npz")
    for a, b in zip(served.parameters(), replayed.parameters(), strict=True):
        np.testing.assert_allclose(a.data, b.data, rtol=1e-6, atol=1e-7)


def test_cli_prints_its_url_and_serves(tmp_path):
    proc = subprocess.Popen(
        [sys.executable, "-m", "tracegrad", "playground", "--port", "0", "--no-browser"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        assert url and int(url.group(1)) > 0, line
        for _ in range(50):
            try:
                page = urllib.request.urlopen(url.group(0), timeout=5).read().decode()
                break
            except OSError:
                time.sleep(0.1)
        assert 'data-testid="neuron-detail"' in page
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    bad = subprocess.run(
        [sys.executable, "-m", "tracegrad", "playground", "--port", "70000"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2 and bad.stderr.strip().count("\n") == 0
    assert "--port must be 0" in bad.stderr


def test_serve_prints_the_real_port_and_opens_that_page(monkeypatch):
    import uvicorn

    import tracegrad.playground as playground

    opened, printed, served = [], [], []
    monkeypatch.setattr(playground.webbrowser, "open", opened.append)
    monkeypatch.setattr(uvicorn.Server, "run", lambda self, sockets: served.extend(sockets))
    url = playground.serve("127.0.0.1", 0, echo=lambda text, flush: printed.append(text))
    port = served[0].getsockname()[1]
    served[0].close()
    assert port > 0 and url == f"http://127.0.0.1:{port}/" and opened == [url]
    assert printed == [f"tracegrad playground on {url} (Ctrl+C to stop)"]
    playground.serve("127.0.0.1", 0, open_browser=False, echo=lambda text, flush: None)
    served[1].close()
    assert opened == [url]  # --no-browser opens nothing


def test_every_offered_choice_builds(client):
    from tracegrad import nn

    offered = client.get("/api/choices").json()
    assert set(offered["datasets"]) <= set(datasets.available())
    for name, defaults in offered["datasets"].items():
        train, test = datasets.load(name, seed=1, test_size=0.5, **defaults)
        assert train.n_features == 2 and test.n_samples > 0
    for name in offered["activations"]:
        nn.MLP([2, 3, 2], activation=name, rng=0)
    assert "lbfgs" not in offered["optimizers"] and "sgd" in offered["optimizers"]
