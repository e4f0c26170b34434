"""One training step as a self-contained HTML page: the network diagram and every number.

``trace_html(step)`` turns a :class:`tracegrad.tracing.StepTrace` into one HTML file with
inline CSS, SVG and a few lines of plain JavaScript (no CDN: it works offline). The page
steps forward -> backward -> update; with JavaScript off every number is still there as
text, and each number stands beside the formula (BP1-BP4, the delta rule) that made it.
"""

from __future__ import annotations

from html import escape

import numpy as np

#: Bounds of a page that stays readable: wider networks are traced as text (``str(step)``).
MAX_UNITS, MAX_LAYERS, MAX_SAMPLES = 12, 6, 16

COST_FORMULAS = {
    "half_sse": "E = Σ ½ (t − a<sup>(L)</sup>)²",
    "quadratic": "C = 1/(2n) Σ ‖y − a<sup>(L)</sup>‖²",
    "mse": "C = mean (y − a<sup>(L)</sup>)²",
    "cross_entropy": "C = −mean log softmax(a<sup>(L)</sup>)<sub>y</sub>",
    "binary_cross_entropy": "C = −mean [y log a + (1 − y) log(1 − a)]",
}

CSS = """
body{font-family:system-ui,sans-serif;margin:1.5em;color:#111827;max-width:1100px}
.num{font-family:monospace}
table{border-collapse:collapse;margin:.4em 0 1em}
td,th{border:1px solid #d1d5db;padding:2px 8px;text-align:left;vertical-align:top}
.formula{font-family:Georgia,serif;color:#1f2937;background:#f3f4f6;padding:1px 5px}
.s1,.k1{color:#1d4ed8}.s2,.k2{color:#b91c1c}.s3,.k3{color:#047857}
svg .s1{fill:#1d4ed8}svg .s2{fill:#b91c1c}svg .s3{fill:#047857}
#controls{display:none;margin:.5em 0;gap:.5em;align-items:center}
body[data-stage] #controls{display:flex}
body[data-stage="1"] .s2,body[data-stage="1"] .s3,body[data-stage="2"] .s3{visibility:hidden}
"""

JS = """
(function(){
  var names=['','forward pass','backward pass','update'];
  var slider=document.getElementById('stage');
  function show(n){n=Math.max(1,Math.min(3,n));document.body.dataset.stage=n;
    slider.value=n;document.getElementById('stage-name').textContent=names[n];}
  document.getElementById('prev').onclick=function(){show(+document.body.dataset.stage-1);};
  document.getElementById('next').onclick=function(){show(+document.body.dataset.stage+1);};
  slider.oninput=function(){show(+slider.value);};
  show(1);
})();
"""


def _f(v) -> str:
    return f"{float(v):.9f}"


def _sup(l) -> str:
    return f"<sup>({l})</sup>"


def _check(step) -> None:
    sizes = [step.x.shape[1]] + [lt.W.shape[0] for lt in step.layers]
    if len(step.layers) > MAX_LAYERS or max(sizes) > MAX_UNITS or len(step.x) > MAX_SAMPLES:
        raise ValueError(
            f"to_html draws small networks (at most {MAX_LAYERS} layers of {MAX_UNITS} units, "
            f"{MAX_SAMPLES} samples); this one has sizes {sizes} and {len(step.x)} samples: "
            "print the trace as text instead (str(step))"
        )


def _weight_names(step) -> list:
    """w1, w2, ... numbered row by row across layers, as Mazur numbers his weights."""
    names, n = [], 1
    for lt in step.layers:
        rows, cols = lt.W.shape
        names.append([[f"w{n + j * cols + k}" for k in range(cols)] for j in range(rows)])
        n += rows * cols
    return names


def _diagram(step, wnames, sample: int = 0) -> str:
    """SVG of the network: units with z, a, δ; edges with w, ∂C/∂w and the new w."""
    sizes = [step.x.shape[1]] + [lt.W.shape[0] for lt in step.layers]
    col_gap, row_gap, bw, bh = 420, 130, 150, 64
    height = max(sizes) * row_gap + 40
    width = (len(sizes) - 1) * col_gap + bw + 40

    def centre(l, j):
        top = (height - sizes[l] * row_gap) / 2
        return 20 + l * col_gap + bw / 2, top + j * row_gap + row_gap / 2

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="monospace" font-size="11" '
        'role="img" aria-label="network diagram">'
    ]
    labels = max(sizes) <= 4  # edge labels stay readable only on small layers
    texts = []  # drawn after every line, so no line runs over a label
    for l, lt in enumerate(step.layers, start=1):
        rows, cols = lt.W.shape
        for j in range(rows):
            for k in range(cols):
                (x0, y0), (x1, y1) = centre(l - 1, k), centre(l, j)
                x0, x1 = x0 + bw / 2, x1 - bw / 2
                name = wnames[l - 1][j][k]
                tip = (
                    f"{name} = W{_plain_sup(l)}[{j},{k}] = {_f(lt.W[j, k])}; "
                    f"dC/d{name} = {_f(lt.dW[j, k])}; new {_f(lt.W_new[j, k])}"
                )
                out.append(
                    f'<line x1="{x0}" y1="{y0}" x2="{x1}" y2="{y1}" stroke="#9ca3af">'
                    f"<title>{escape(tip)}</title></line>"
                )
                if labels:
                    # Near the target, edges into one unit are a label apart, and edges
                    # that cross have already parted.
                    lx, ly = x0 + 0.7 * (x1 - x0), y0 + 0.7 * (y1 - y0)
                    texts.append(  # a white card under the label, so lines do not cross it
                        f'<rect x="{lx - 68:.1f}" y="{ly - 19:.1f}" width="136" height="38" '
                        'fill="white" fill-opacity="0.9"/>'
                    )
                    texts.append(
                        f'<text class="edge" x="{lx:.1f}" y="{ly - 9:.1f}" '
                        'text-anchor="middle" font-size="10">'
                        f'<tspan class="s1" x="{lx:.1f}">{name} = {_f(lt.W[j, k])}</tspan>'
                        f'<tspan class="s2" x="{lx:.1f}" dy="12">∂C/∂{name} = '
                        f"{_f(lt.dW[j, k])}</tspan>"
                        f'<tspan class="s3" x="{lx:.1f}" dy="12">new {_f(lt.W_new[j, k])}'
                        "</tspan></text>"
                    )
    out += texts
    for l, n in enumerate(sizes):
        for j in range(n):
            cx, cy = centre(l, j)
            x, y = cx - bw / 2, cy - bh / 2
            out.append(
                f'<rect x="{x}" y="{y}" width="{bw}" height="{bh}" rx="8" '
                'fill="#f9fafb" stroke="#374151"/>'
            )
            if l == 0:
                rows = [("s1", f"x{j + 1}"), ("s1", f"a = {_f(step.x[sample, j])}")]
            else:
                lt = step.layers[l - 1]
                rows = [
                    ("s1", f"unit {j + 1} of layer {l}"),
                    ("s1", f"z = {_f(lt.z[sample, j])}"),
                    ("s1", f"a = {_f(lt.a[sample, j])}"),
                    ("s2", f"δ = {_f(lt.delta[sample, j])}"),
                ]
            for i, (cls, text) in enumerate(rows):
                out.append(
                    f'<text class="{cls}" x="{x + 8}" y="{y + 15 + i * 14}">{escape(text)}</text>'
                )
    out.append("</svg>")
    return "\n".join(out)


def _plain_sup(l) -> str:
    return f"^({l})"


def _forward(step) -> list:
    out = ["<h2 class='s1'>1. Forward pass</h2>"]
    prev = step.x
    for lt in step.layers:
        l = lt.l
        out.append(
            f"<h3>Layer {l}</h3><p><span class='formula'>z{_sup(l)} = W{_sup(l)} "
            f"a{_sup(l - 1)} + b{_sup(l)}</span>, <span class='formula'>a{_sup(l)} = "
            f"f(z{_sup(l)})</span></p><table><tr><th>sample</th><th>unit</th>"
            "<th>z = Σ<sub>k</sub> w<sub>jk</sub> a<sub>k</sub> + b<sub>j</sub></th>"
            "<th>a = f(z)</th></tr>"
        )
        for s in range(len(prev)):
            for j in range(lt.W.shape[0]):
                terms = " + ".join(
                    f"{lt.W[j, k]:.6g}×{prev[s, k]:.6g}" for k in range(lt.W.shape[1])
                )
                if lt.b is not None:
                    terms += f" + {lt.b[j]:.6g}"
                out.append(
                    f"<tr><td>{s + 1}</td><td>{j + 1}</td><td class='num'>{terms} = "
                    f"{_f(lt.z[s, j])}</td><td class='num'>{_f(lt.a[s, j])}</td></tr>"
                )
        out.append("</table>")
        prev = lt.a
    return out


def _backward(step, wnames) -> list:
    L = len(step.layers)
    out = ["<h2 class='s2'>2. Backward pass: δ = ∂C/∂z, from the output back</h2>"]
    for idx in range(L - 1, -1, -1):
        lt = step.layers[idx]
        l = lt.l
        prev = step.x if idx == 0 else step.layers[idx - 1].a
        head = "(W<sup>T</sup>δ)<sub>j</sub>"
        if idx == L - 1:
            rule = f"BP1: δ{_sup(l)} = ∇<sub>a</sub>C ⊙ f′(z{_sup(l)})"
            back = None
            if step.cost_name == "half_sse":  # E = Σ ½ (t − a)²: ∂E/∂a = a − t
                back, head = lt.a - np.asarray(step.targets), "∂C/∂a<sub>j</sub> = a − t"
        else:
            nxt = step.layers[idx + 1]
            rule = (
                f"BP2: δ{_sup(l)} = ((W{_sup(l + 1)})<sup>T</sup> δ{_sup(l + 1)}) ⊙ f′(z{_sup(l)})"
            )
            back = nxt.delta @ nxt.W  # (W^(l+1))^T delta^(l+1), one row per sample
        out.append(
            f"<h3 class='s2'>Layer {l}</h3><p class='s2'><span class='formula'>{rule}</span></p>"
            "<table class='s2'><tr><th>sample</th><th>unit</th>"
            + (f"<th>{head}</th>" if back is not None else "")
            + "<th>δ<sub>j</sub></th></tr>"
        )
        for s in range(len(prev)):
            for j in range(lt.W.shape[0]):
                cell = f"<td class='num'>{_f(back[s, j])}</td>" if back is not None else ""
                out.append(
                    f"<tr><td>{s + 1}</td><td>{j + 1}</td>{cell}"
                    f"<td class='num'>{_f(lt.delta[s, j])}</td></tr>"
                )
        out.append(
            "</table><p class='s2'><span class='formula'>BP4: ∂C/∂w<sub>jk</sub> = "
            f"Σ<sub>samples</sub> a<sub>k</sub>{_sup(l - 1)} δ<sub>j</sub>{_sup(l)}</span>"
            + (
                f" <span class='formula'>BP3: ∂C/∂b<sub>j</sub> = Σ<sub>samples</sub> "
                f"δ<sub>j</sub>{_sup(l)}</span>"
                if lt.db is not None
                else ""
            )
            + "</p><table class='s2'><tr><th>weight</th><th>a<sub>k</sub> δ<sub>j</sub></th>"
            "<th>∂C/∂w</th></tr>"
        )
        for j in range(lt.W.shape[0]):
            for k in range(lt.W.shape[1]):
                prods = " + ".join(
                    f"{prev[s, k]:.9g}×{lt.delta[s, j]:.9g}" for s in range(len(prev))
                )
                out.append(
                    f"<tr><td>{wnames[idx][j][k]} = W{_sup(l)}<sub>{j + 1}{k + 1}</sub></td>"
                    f"<td class='num'>{prods}</td><td class='num'>∂C/∂{wnames[idx][j][k]} = "
                    f"{_f(lt.dW[j, k])}</td></tr>"
                )
        if lt.db is not None:
            for j in range(lt.W.shape[0]):
                out.append(
                    f"<tr><td>b{_sup(l)}<sub>{j + 1}</sub></td><td></td><td class='num'>"
                    f"∂C/∂b = {_f(lt.db[j])}</td></tr>"
                )
        out.append("</table>")
    return out


def _update(step, wnames) -> list:
    eta = f"{step.lr:g}"
    out = [
        "<h2 class='s3'>3. Update, after every gradient is known</h2>",
        f"<p class='s3'><span class='formula'>w ← w − η ∂C/∂w</span>, η = {eta}</p>",
        "<table class='s3'><tr><th>weight</th><th>w − η ∂C/∂w</th><th>new w</th></tr>",
    ]
    for idx, lt in enumerate(step.layers):
        for j in range(lt.W.shape[0]):
            for k in range(lt.W.shape[1]):
                out.append(
                    f"<tr><td>{wnames[idx][j][k]}</td><td class='num'>{_f(lt.W[j, k])} − "
                    f"{eta} × {_f(lt.dW[j, k])}</td><td class='num'>{_f(lt.W_new[j, k])}</td></tr>"
                )
        if lt.b_new is not None:
            for j in range(lt.W.shape[0]):
                out.append(
                    f"<tr><td>b{_sup(lt.l)}<sub>{j + 1}</sub></td><td class='num'>"
                    f"{_f(lt.b[j])} → </td><td class='num'>{_f(lt.b_new[j])}</td></tr>"
                )
    out.append("</table>")
    return out


def trace_html(step, title: str | None = None, note: str = "") -> str:
    """The page for one traced step (``tg.trace(...)``) as an HTML string.

    Parameters
    ----------
    step : tracegrad.tracing.StepTrace
        What ``tg.trace`` returned: the forward pass, the backward pass and the update.
    title : str, optional
        The page's title; by default "One training step, every number".
    note : str, default ""
        A paragraph shown under the title (escaped: plain text).

    Returns
    -------
    str
        A complete HTML page, with its styles and script inline.

    Raises
    ------
    ValueError
        For networks too wide to read (over ``MAX_UNITS`` units in a layer,
        ``MAX_LAYERS`` layers or ``MAX_SAMPLES`` samples).
    """
    _check(step)
    title = title or "One training step, every number"
    wnames = _weight_names(step)
    cost = COST_FORMULAS.get(getattr(step, "cost_name", ""), "C = cost(a<sup>(L)</sup>, y)")
    n = len(step.x)
    caption = "" if n == 1 else f" (diagram: sample 1 of {n}; tables: every sample)"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        f"<p>{escape(note)}</p>" if note else "",
        '<div id="controls"><button id="prev" type="button">◀ back</button>'
        '<input id="stage" type="range" min="1" max="3" step="1" value="1" '
        'aria-label="stage"><button id="next" type="button">next ▶</button>'
        '<span id="stage-name"></span></div>',
        "<p><span class='k1'>blue: forward (z, a)</span> · <span class='k2'>red: backward "
        "(δ = ∂C/∂z, ∂C/∂w)</span> · <span class='k3'>green: update</span>"
        f"{escape(caption)}</p>",
        _diagram(step, wnames),
        f"<p class='s1'>Cost <span class='formula'>{cost}</span> = "
        f"<span class='num'>{_f(step.cost)}</span>; targets "
        f"<span class='num'>{escape(np.array2string(np.asarray(step.targets)))}</span></p>",
        *_forward(step),
        *_backward(step, wnames),
        *_update(step, wnames),
        f"<script>{JS}</script></body></html>",
    ]
    return "\n".join(p for p in parts if p) + "\n"
