// The page's state and its one websocket: controls send settings and commands, the server
// answers with the data, frames (epoch, losses, weights, boundary) and one-line errors.
"use strict";
const $ = (id) => document.getElementById(id);
const S = {
  session: null, data: null, frame: null, settings: null, choices: null, playing: false,
  selected: { part: "train", index: 0 }, unit: null, weight: null, curves: { train: [], test: [] },
  walk: null, drawn: 0, frameTimes: [], dirty: false,
};
window.TGState = S;  // read by the browser tests (frames drawn, session id)

function showError(message) {
  const box = $("error");
  box.textContent = message;
  box.hidden = !message;
}

async function post(what, body) {
  const response = await fetch(`/api/session/${S.session}/${what}`, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  });
  const result = await response.json();
  if (!response.ok) throw new Error(result.error || response.statusText);
  return result;
}
window.TGPost = post;

function fill(select, names) {
  select.innerHTML = "";
  for (const name of names) {
    const option = document.createElement("option");
    option.value = option.textContent = name;
    select.appendChild(option);
  }
}

function showSettings(s, upload) {
  const names = Object.keys(S.choices.datasets).concat(upload ? ["upload"] : []);
  fill($("dataset"), names);
  if (upload) $("dataset").lastChild.textContent = `upload: ${upload}`;
  $("dataset").value = s.dataset;
  const defaults = S.choices.datasets[s.dataset] || {};
  $("noise").value = s.noise ?? defaults.noise ?? 0;
  $("noise-out").textContent = Number($("noise").value).toFixed(2);
  $("n_samples").value = s.n_samples ?? defaults.n_samples ?? "";
  $("noise").disabled = $("n_samples").disabled = s.dataset === "upload";
  $("train_ratio").value = Math.round(s.train_ratio * 100);
  $("ratio-out").textContent = `${$("train_ratio").value}%`;
  for (const key of ["seed", "lr", "batch_size", "l2", "activation", "optimizer"]) $(key).value = s[key];
  $("hidden-desc").textContent = `${s.hidden.length} hidden layer${s.hidden.length === 1 ? "" : "s"}`;
}

function send(message) {
  if (S.ws && S.ws.readyState === WebSocket.OPEN) S.ws.send(JSON.stringify(message));
}

function sendSettings(changes) {
  showError("");
  send({ type: "settings", settings: changes });
}

function setPlaying(playing) {
  S.playing = playing;
  $("play").innerHTML = playing ? "&#10074;&#10074; Pause" : "&#9654; Play";
  $("play").setAttribute("aria-pressed", String(playing));
}

function unitButtons() {
  const box = $("unit-buttons");
  box.innerHTML = "";
  const sizes = S.data.sizes;
  S.settings.hidden.forEach((n, i) => {
    const [x] = TG.unitPosition($("net"), sizes, i + 1, 0);
    const group = document.createElement("div");
    group.style.left = `${x - 20}px`;
    for (const [label, delta] of [["+", 1], ["−", -1]]) {
      const b = document.createElement("button");
      b.textContent = label;
      b.dataset.testid = delta > 0 ? `add-unit-${i + 1}` : `remove-unit-${i + 1}`;
      b.onclick = () => {
        const hidden = S.settings.hidden.slice();
        hidden[i] += delta;
        if (hidden[i] < 1) hidden.splice(i, 1);
        sendSettings({ hidden });
      };
      group.appendChild(b);
    }
    box.appendChild(group);
  });
}

function render() {
  S.dirty = false;
  if (!S.data || !S.frame) return;
  const f = S.frame;
  $("epoch").textContent = f.epoch;
  $("loss").textContent = f.loss.toFixed(4);
  $("test-loss").textContent = f.test_loss.toFixed(4);
  TG.drawBoundary($("boundary"), S.data, f, $("show-test").checked, S.selected);
  TG.drawCurves($("curve"), S.curves.train, S.curves.test);
  TG.drawNetwork($("net"), S.data.sizes, f, {
    selected: S.unit && `${S.unit.layer}:${S.unit.unit}`,
    active: S.walk && S.walk.stage > 0 ? { layer: S.walk.stage } : null,
    deltas: S.walk ? S.walk.deltas : null,
  });
  S.drawn += 1;
  S.frameTimes.push(performance.now());
  if (S.frameTimes.length > 300) S.frameTimes.shift();
}

function schedule() {
  if (!S.dirty) {
    S.dirty = true;
    requestAnimationFrame(render);
  }
}
window.TGRender = schedule;

function onMessage(event) {
  const m = JSON.parse(event.data);
  if (m.type === "hello") {
    S.session = m.session;
    document.body.dataset.session = m.session;
    $("export-model").href = `/api/session/${m.session}/model.npz`;
    $("export-script").href = `/api/session/${m.session}/script.py`;
  } else if (m.type === "data") {
    S.data = m;
    S.settings = m.settings;
    S.curves = { train: [], test: [] };
    S.walk = null;
    if (S.selected.index >= m[S.selected.part].length) S.selected = { part: "train", index: 0 };
    showSettings(m.settings, m.upload);
    unitButtons();
    TGPanels.refresh();
  } else if (m.type === "frame") {
    S.frame = m;
    S.curves.train.push(m.loss);
    S.curves.test.push(m.test_loss);
    if (!S.playing) TGPanels.refresh();
    schedule();
  } else if (m.type === "state") {
    setPlaying(m.playing);
  } else if (m.type === "error") {
    showError(m.message);
    if (m.playing === false) setPlaying(false);
    if (S.settings) showSettings(S.settings, S.data && S.data.upload);  // the run kept its settings
  }
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  S.ws = new WebSocket(`${scheme}://${location.host}/ws`);
  S.ws.onmessage = onMessage;
  S.ws.onclose = () => {
    setPlaying(false);
    document.body.dataset.closed = "1";
    if (!$("error").textContent) showError("The connection to the playground server closed: restart it and reload the page.");
  };
}

function number(id) {
  const text = $(id).value.trim();
  return text === "" || Number.isNaN(Number(text)) ? text : Number(text);
}

function wire() {
  $("play").onclick = () => { send({ type: S.playing ? "pause" : "play" }); setPlaying(!S.playing); };
  $("step").onclick = () => send({ type: "step" });
  $("reset").onclick = () => { showError(""); send({ type: "reset" }); };
  $("dataset").onchange = () => sendSettings({ dataset: $("dataset").value, noise: null, n_samples: null });
  $("noise").oninput = () => { $("noise-out").textContent = Number($("noise").value).toFixed(2); };
  $("noise").onchange = () => sendSettings({ noise: number("noise") });
  $("train_ratio").oninput = () => { $("ratio-out").textContent = `${$("train_ratio").value}%`; };
  $("train_ratio").onchange = () => sendSettings({ train_ratio: number("train_ratio") / 100 });
  for (const id of ["n_samples", "seed", "lr", "batch_size", "l2"]) {
    $(id).onchange = () => sendSettings({ [id]: number(id) });
  }
  for (const id of ["activation", "optimizer"]) $(id).onchange = () => sendSettings({ [id]: $(id).value });
  $("add-layer").onclick = () => sendSettings({ hidden: S.settings.hidden.concat([4]) });
  $("remove-layer").onclick = () => sendSettings({ hidden: S.settings.hidden.slice(0, -1) });
  $("show-test").onchange = schedule;
  $("upload").onchange = async () => {
    const file = $("upload").files[0];
    if (!file) return;
    showError("");
    try {
      const response = await fetch(
        `/api/session/${S.session}/upload?name=${encodeURIComponent(file.name)}`,
        { method: "POST", headers: { "Content-Type": "text/csv" }, body: file });
      const result = await response.json();
      if (!response.ok) throw new Error(result.error || response.statusText);
      sendSettings({ dataset: "upload" });
    } catch (error) {
      showError(error.message);
    }
    $("upload").value = "";
  };
  $("boundary").onclick = (event) => {
    const rect = $("boundary").getBoundingClientRect();
    const cx = ((event.clientX - rect.left) / rect.width) * $("boundary").width;
    const cy = ((event.clientY - rect.top) / rect.height) * $("boundary").height;
    let best = null;
    const parts = $("show-test").checked ? ["train", "test"] : ["train"];
    for (const part of parts) {
      S.data[part].forEach((p, index) => {
        const [x, y] = TG.toCanvas($("boundary"), S.data.domain, p[0], p[1]);
        const d = (x - cx) ** 2 + (y - cy) ** 2;
        if (!best || d < best.d) best = { d, part, index };
      });
    }
    if (best) TGPanels.select(best.part, best.index);
  };
  $("net").onclick = (event) => {
    const t = event.target;
    if (t.dataset.testid === "neuron") TGPanels.showUnit(+t.dataset.layer, +t.dataset.unit);
    else if (t.dataset.testid === "weight") TGPanels.showWeight(+t.dataset.layer, +t.dataset.j, +t.dataset.k);
  };
  $("backprop-step").onclick = () => TGPanels.walkStep();
  $("gradcheck").onclick = () => TGPanels.gradcheck();
}

window.addEventListener("DOMContentLoaded", async () => {
  S.choices = await (await fetch("/api/choices")).json();
  fill($("activation"), S.choices.activations);
  fill($("optimizer"), S.choices.optimizers);
  wire();
  connect();
});
