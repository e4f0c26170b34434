"""``tracegrad.ops``: every registered op by name (the primitives, composites such as
``mean``, and the fused ``linear``/``softmax``/``log_softmax``) and ``apply``.

The ops are defined in ``tracegrad.autograd.primitives`` and ``tracegrad.autograd.fused``;
this module only gathers them, from the one registry ``OPS``.
"""

from .autograd import OPS
from .autograd.registry import apply, primitive  # noqa: F401

globals().update(OPS)
__all__ = sorted(OPS)
