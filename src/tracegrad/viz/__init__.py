"""Pictures of backpropagation, drawn from tracegrad's own numbers.

``draw(tensor)``
    The computational graph of a tensor: ops, values and gradients (SVG, PNG, DOT).
``record(model)``
    Tag the tensors each layer makes during a forward pass, so ``draw`` boxes layers.
``trace_html(step)``
    One training step (``tg.trace``) as a self-contained HTML page.
"""

from .draw import Drawing, draw
from .html_trace import trace_html
from .record import record

__all__ = ["draw", "Drawing", "record", "trace_html"]
