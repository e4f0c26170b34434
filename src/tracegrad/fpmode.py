"""Moved to :mod:`tracegrad.compile.fpmode` (subnormal flushing lives behind the compiled step).

Kept as a thin alias so that existing imports keep working until every caller has moved.
"""

from .compile.fpmode import (  # noqa: F401
    begin_flush,
    end_flush,
    flush_denormal_enabled,
    flush_supported,
    flushing_denormals,
    set_flush_denormal,
)
