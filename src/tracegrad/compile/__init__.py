"""The compiled training step: where tracegrad's speed lives, behind one seam.

``compile_step(model, loss, optimizer)`` returns a step that runs forward, backward and
the optimizer update as straight-line NumPy code with preallocated buffers and in-place
updates (``step.py``, ``plan.py``, and the kernels in ``layers.py``, ``losses.py`` and
``updates.py``). Subnormal flushing during the update (``fpmode.py``) lives here too.
``training.fit`` uses it by default. The eager engine stays plain: nothing outside this
package knows about it.

Imports are lazy so that ``tracegrad.compile.fpmode`` can be loaded by the engine
without pulling in the layers and optimizers it compiles.
"""

from __future__ import annotations

__all__ = [
    "compile_step",
    "CompiledStep",
    "CompileWarning",
    "eager_step",
    "with_l2_penalty",
    "WithL2Penalty",
    "label_loss",
    "LabelLoss",
    "set_flush_denormal",
    "flush_supported",
]


def __getattr__(name):
    if name in ("compile_step", "CompiledStep", "CompileWarning", "eager_step"):
        from . import step

        return getattr(step, name)
    if name in ("with_l2_penalty", "WithL2Penalty", "label_loss", "LabelLoss"):
        from . import losses

        return getattr(losses, name)
    if name in ("set_flush_denormal", "flush_supported"):
        from . import fpmode

        return getattr(fpmode, name)
    raise AttributeError(f"module 'tracegrad.compile' has no attribute {name!r}")
