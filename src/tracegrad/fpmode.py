"""Moved to :mod:`tracegrad.compile.fpmode` (subnormal flushing lives behind the compiled step).

Kept as an alias of that module (the same module object, so its settings are shared)
until every caller has moved.
"""

import sys

from .compile import fpmode as _fpmode

sys.modules[__name__] = _fpmode
