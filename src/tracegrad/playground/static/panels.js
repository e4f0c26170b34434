// The panels that explain a number: a unit's z, a and δ with the rule that made δ (BP1/BP2),
// a weight's gradient and update (BP4), the backward walk layer by layer, the gradient check.
"use strict";
const fmt = (v) => Number(v).toPrecision(6);
const sup = (l) => `<sup>(${l})</sup>`;

function num(testid, value) {
  return `<span class="num" data-testid="${testid}" data-value="${value}">${fmt(value)}</span>`;
}

function panel(id, html) {
  document.getElementById(id).innerHTML = html;
}

function failed(id, title, error) {
  panel(id, `<h3>${title}</h3><p class="bad">${error.message}</p>`);
}

function sampleText() {
  const s = TGState.selected, p = TGState.data ? TGState.data[s.part][s.index] : null;
  return p ? `${s.part} #${s.index} at (${p[0].toFixed(3)}, ${p[1].toFixed(3)}), class ${TGState.data.class_names[p[2]]}` : "";
}

const TGPanels = {
  select(part, index) {
    TGState.selected = { part, index };
    TGState.walk = null;
    this.refresh();
    TGRender();
  },

  refresh() {
    document.getElementById("sample").textContent = sampleText();
    if (TGState.unit) this.showUnit(TGState.unit.layer, TGState.unit.unit);
    if (TGState.weight) this.showWeight(TGState.weight.layer, TGState.weight.j, TGState.weight.k);
    if (TGState.walk) {
      TGState.walk = null;
      panel("backprop-panel", `<p class="hint">The network changed: press Backprop step to walk it again.</p>`);
    }
  },

  async showUnit(layer, unit) {
    TGState.unit = { layer, unit };
    TGRender();
    const s = TGState.selected;
    let u;
    try {
      u = await TGPost("unit", { layer, j: unit, part: s.part, index: s.index });
    } catch (error) {
      return failed("neuron-detail", "Unit", error);
    }
    const head = `<h3>Unit ${unit} of layer ${layer} ${layer === 0 ? "(input)" : layer === u.L ? "(output)" : "(hidden)"}</h3>
      <p class="hint">sample ${sampleText()}</p>`;
    if (u.rule === "input") {
      panel("neuron-detail", `${head}<div class="formula">a${sup(0)}<sub>${unit}</sub> = x<sub>${unit + 1}</sub> scaled = ${num("a", u.a)}   (raw ${fmt(u.raw)})</div>`);
      return;
    }
    let rule;
    if (u.rule === "BP1") {
      rule = `<span class="rule">BP1</span> δ${sup(layer)}<sub>${unit}</sub> = ∂C/∂z${sup(layer)}<sub>${unit}</sub> = softmax(z${sup(layer)})<sub>${unit}</sub> − y<sub>${unit}</sub>
   = ${fmt(u.p)} − ${fmt(u.y)} = ${num("delta", u.delta)}
   (cross-entropy of a softmax output: ∇ₐC ⊙ σ′(z) reduces to a − y)`;
    } else {
      const terms = u.terms.map(([w, d]) => `${fmt(w)}·${fmt(d)}`).join(" + ");
      rule = `<span class="rule">BP2</span> δ${sup(layer)}<sub>${unit}</sub> = (Σₖ w${sup(layer + 1)}<sub>k${unit}</sub> δ${sup(layer + 1)}<sub>k</sub>) · f′(z${sup(layer)}<sub>${unit}</sub>)
   Σₖ w δ = ${terms} = ${num("back", u.back)}
   f′(z) = ${u.activation}′(${fmt(u.z)}) = ${num("fprime", u.fprime)}
   δ = ${fmt(u.back)} × ${fmt(u.fprime)} = ${num("delta", u.delta)}`;
    }
    panel("neuron-detail", `${head}<div class="formula">z${sup(layer)}<sub>${unit}</sub> = Σₖ w${sup(layer)}<sub>${unit}k</sub> a${sup(layer - 1)}<sub>k</sub> + b${sup(layer)}<sub>${unit}</sub> = ${num("z", u.z)}
a${sup(layer)}<sub>${unit}</sub> = ${layer === u.L ? "z (logits; the softmax is in the cost)" : `${TGState.settings.activation}(z)`} = ${num("a", u.a)}
${rule}
<span class="rule">BP3</span> ∂C/∂b${sup(layer)}<sub>${unit}</sub> = δ = ${fmt(u.db)}</div>`);
  },

  async showWeight(layer, j, k) {
    TGState.weight = { layer, j, k };
    const s = TGState.selected;
    let w;
    try {
      w = await TGPost("weight", { layer, j, k, part: s.part, index: s.index });
    } catch (error) {
      return failed("weight-detail", "Weight", error);
    }
    const name = `w${sup(layer)}<sub>${j}${k}</sub>`;
    const note = w.optimizer === "sgd" ? "" : `\n   (this is plain gradient descent; ${w.optimizer} rescales the step)`;
    panel("weight-detail", `<h3>Weight ${name}: unit ${k} of layer ${layer - 1} → unit ${j} of layer ${layer}</h3>
      <p class="hint">sample ${sampleText()}</p><div class="formula">${name} = ${num("w", w.w)}
<span class="rule">BP4</span> ∂Cₓ/∂w = a${sup(layer - 1)}<sub>${k}</sub> δ${sup(layer)}<sub>${j}</sub> = ${fmt(w.a_prev)} × ${fmt(w.delta)} = ${num("grad-sample", w.grad_sample)}   (this sample)
∂C/∂w over the training set (with L2) = ${num("grad", w.grad)}
update −η ∂C/∂w = −${fmt(w.lr)} × ${fmt(w.grad)} = ${num("update", w.update)}${note}</div>`);
  },

  async walkStep() {
    const W = TGState.walk;
    if (!W || W.stage === 0) {
      const s = TGState.selected;
      let t;
      try {
        t = await TGPost("backprop", { part: s.part, index: s.index });
      } catch (error) {
        return failed("backprop-panel", "Backprop", error);
      }
      TGState.walk = { trace: t, stage: t.layers.length, deltas: {} };
    } else {
      W.stage -= 1;
    }
    const walk = TGState.walk, t = walk.trace, l = walk.stage, L = t.layers.length;
    if (l === 0) {
      const lines = t.layers.map((r) => `∂C/∂W${sup(r.l)} = δ${sup(r.l)} (a${sup(r.l - 1)})ᵀ  (BP4),  ∂C/∂b${sup(r.l)} = δ${sup(r.l)}  (BP3)`);
      panel("backprop-panel", `<p><b>Gradients</b> of C = ${fmt(t.cost)} for sample ${t.part} #${t.index}:</p>
        <div class="formula">${lines.reverse().join("\n")}\nthen every W ← W − η ∂C/∂W with η = ${fmt(t.lr)}, after all gradients are known.</div>`);
      TGRender();
      return;
    }
    const r = t.layers[l - 1];
    r.delta.forEach((d, j) => { walk.deltas[`${l}:${j}`] = d; });
    let rows, head;
    if (l === L) {
      head = `<span class="rule">BP1</span> layer ${l} (output): δ${sup(l)} = softmax(z${sup(l)}) − y`;
      rows = r.delta.map((d, j) => `<tr><td>${j}</td><td>${fmt(r.z[j])}</td><td>${fmt(t.probs[j])}</td><td>${t.target[j]}</td><td data-testid="walk-delta">${fmt(d)}</td></tr>`);
      rows.unshift("<tr><th>j</th><th>z</th><th>softmax</th><th>y</th><th>δ</th></tr>");
    } else {
      head = `<span class="rule">BP2</span> layer ${l}: δ${sup(l)} = ((W${sup(l + 1)})ᵀ δ${sup(l + 1)}) ⊙ f′(z${sup(l)})`;
      rows = r.delta.map((d, j) => `<tr><td>${j}</td><td>${fmt(r.z[j])}</td><td>${fmt(r.back[j])}</td><td>${fmt(r.fprime[j])}</td><td data-testid="walk-delta">${fmt(d)}</td></tr>`);
      rows.unshift("<tr><th>j</th><th>z</th><th>(Wᵀδ)<sub>j</sub></th><th>f′(z)</th><th>δ</th></tr>");
    }
    panel("backprop-panel", `<p data-testid="walk-layer" data-layer="${l}">${head}</p><table>${rows.join("")}</table>
      <p class="hint">Press again for layer ${l - 1 || "gradients"}.</p>`);
    TGRender();
  },

  async gradcheck() {
    panel("gradcheck-result", "<p class='hint'>checking…</p>");
    let g;
    try {
      g = await TGPost("gradcheck", {});
    } catch (error) {
      return failed("gradcheck-result", "", error);
    }
    const rows = g.parameters.map((p) => `<tr><td>${p.name}</td><td>${p.relative_difference.toExponential(2)}</td><td>${fmt(p.backprop[0])}</td><td>${fmt(p.numerical[0])}</td></tr>`);
    panel("gradcheck-result", `<p>relative difference <b data-testid="gradcheck-difference">${g.relative_difference.toExponential(3)}</b>
      <span class="${g.passed ? "ok" : "bad"}">${g.passed ? "passed" : "FAILED"}</span> (tolerance ${g.tolerance}, float64, ${g.samples} samples)</p>
      <table><tr><th>parameter</th><th>rel. diff.</th><th>backprop</th><th>finite diff.</th></tr>${rows.join("")}</table>`);
  },
};
window.TGPanels = TGPanels;
