// Drawing only: the decision boundary with its points, the loss curves and the network.
// Every number drawn arrives from the server, computed by tracegrad; nothing is computed here
// except where on the screen it goes.
"use strict";
window.TG = window.TG || {};

TG.palette = ["#f59322", "#0877bd", "#2e7d32", "#8e24aa", "#c62828", "#00838f", "#6d4c41", "#546e7a"];

function hexRgb(hex) {
  const n = parseInt(hex.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

function mix(rgb, t) {  // t = 0: white, t = 1: the colour
  return rgb.map((c) => Math.round(255 + (c - 255) * t));
}

// The heat map: P(class 1) from orange to blue for two classes, else the winning class's
// colour as strong as its probability is above chance.
TG.drawBoundary = function (canvas, data, frame, showTest, selected) {
  const ctx = canvas.getContext("2d");
  const n = data.grid, k = data.class_names.length;
  const img = ctx.createImageData(n, n);
  const colours = TG.palette.map(hexRgb);
  for (let i = 0; i < n * n; i++) {
    const level = frame.level[i] / 255;
    let rgb;
    if (k === 2) {
      rgb = level >= 0.5 ? mix(colours[1], (level - 0.5) * 2 * 0.75) : mix(colours[0], (0.5 - level) * 2 * 0.75);
    } else {
      rgb = mix(colours[frame.classes[i] % colours.length], Math.max(0, (level - 1 / k) / (1 - 1 / k)) * 0.75);
    }
    img.data.set([rgb[0], rgb[1], rgb[2], 255], i * 4);
  }
  const off = document.createElement("canvas");
  off.width = off.height = n;
  off.getContext("2d").putImageData(img, 0, 0);
  ctx.imageSmoothingEnabled = true;
  ctx.drawImage(off, 0, 0, canvas.width, canvas.height);
  const parts = showTest ? [["train", data.train], ["test", data.test]] : [["train", data.train]];
  for (const [part, points] of parts) {
    points.forEach((p, index) => {
      const [x, y] = TG.toCanvas(canvas, data.domain, p[0], p[1]);
      ctx.beginPath();
      ctx.arc(x, y, 3.2, 0, 2 * Math.PI);
      ctx.fillStyle = TG.palette[p[2] % TG.palette.length];
      ctx.fill();
      ctx.lineWidth = part === "test" ? 1.5 : 1;
      ctx.strokeStyle = part === "test" ? "#000" : "#fff";
      ctx.stroke();
      if (selected && selected.part === part && selected.index === index) {
        ctx.beginPath();
        ctx.arc(x, y, 7, 0, 2 * Math.PI);
        ctx.lineWidth = 2;
        ctx.strokeStyle = "#000";
        ctx.stroke();
      }
    });
  }
};

TG.toCanvas = function (canvas, domain, x, y) {
  const [x0, x1, y0, y1] = domain;
  return [((x - x0) / (x1 - x0)) * canvas.width, ((y1 - y) / (y1 - y0)) * canvas.height];
};

TG.drawCurves = function (canvas, train, test) {
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  const all = train.concat(test).filter(Number.isFinite);
  if (all.length < 2) return;
  const top = Math.max(...all) * 1.05, pad = 4;
  const line = (values, colour) => {
    ctx.beginPath();
    values.forEach((v, i) => {
      const x = pad + (i / Math.max(1, values.length - 1)) * (canvas.width - 2 * pad);
      const y = canvas.height - pad - (v / top) * (canvas.height - 2 * pad);
      i ? ctx.lineTo(x, y) : ctx.moveTo(x, y);
    });
    ctx.strokeStyle = colour;
    ctx.lineWidth = 1.5;
    ctx.stroke();
  };
  line(test, "#aaa");
  line(train, "#333");
};

const SVG = "http://www.w3.org/2000/svg";
function el(name, attrs, parent) {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  parent.appendChild(node);
  return node;
}

// Where unit j of layer l sits (layer 0 holds the two inputs).
TG.unitPosition = function (svg, sizes, l, j) {
  const w = +svg.getAttribute("width"), h = +svg.getAttribute("height");
  const x = 30 + (l / (sizes.length - 1)) * (w - 120);  // room for the δ labels on the right
  const gap = Math.min(36, (h - 40) / Math.max(...sizes));
  const y = h / 2 + (j - (sizes[l] - 1) / 2) * gap;
  return [x, y];
};

// Units as circles (data-testid="neuron"), weights as lines coloured by sign, as wide as |w|.
TG.drawNetwork = function (svg, sizes, frame, marks) {
  while (svg.firstChild) svg.removeChild(svg.firstChild);
  const edges = el("g", {}, svg), units = el("g", {}, svg);
  frame.weights.forEach((W, li) => {
    const l = li + 1;
    W.forEach((row, j) => row.forEach((w, k) => {
      const [x1, y1] = TG.unitPosition(svg, sizes, l - 1, k);
      const [x2, y2] = TG.unitPosition(svg, sizes, l, j);
      const line = el("line", {
        x1, y1, x2, y2, class: "edge", "data-testid": "weight", "data-layer": l, "data-j": j,
        "data-k": k, stroke: w >= 0 ? "#0877bd" : "#f59322",
        "stroke-width": Math.min(7, 0.4 + 2.2 * Math.abs(w)).toFixed(2),
        "stroke-opacity": Math.min(1, 0.25 + 0.6 * Math.abs(w)).toFixed(2),
      }, edges);
      el("title", {}, line).textContent = `w(${l})[${j},${k}] = ${w.toPrecision(4)}`;
    }));
  });
  sizes.forEach((n, l) => {
    for (let j = 0; j < n; j++) {
      const [x, y] = TG.unitPosition(svg, sizes, l, j);
      const bias = l > 0 ? frame.biases[l - 1][j] : 0;
      const key = `${l}:${j}`;
      const classes = ["neuron"];
      if (marks.selected === key) classes.push("selected");
      if (marks.active && marks.active.layer === l) classes.push("active");
      el("circle", {
        cx: x, cy: y, r: 11, class: classes.join(" "), "data-testid": "neuron",
        "data-layer": l, "data-unit": j,
        fill: l === 0 ? "#eee" : bias >= 0 ? "#d6e9f5" : "#fde3c4",
      }, units);
      const label = l === 0 ? `x${j + 1}` : l === sizes.length - 1 ? `o${j}` : "";
      if (label) el("text", { x: x - 6, y: y + 3 }, units).textContent = label;
      const delta = marks.deltas ? marks.deltas[key] : undefined;
      if (delta != null) {
        el("text", { x: x + 13, y: y - 8, class: "delta" }, units).textContent = `δ=${delta.toPrecision(3)}`;
      }
    }
  });
};
