"""In-place vector updates (``axpy``, ``axpby``) from the BLAS library NumPy already loaded.

Why: an optimizer step is a few elementwise passes over every weight matrix, and
NumPy has no fused multiply-add, so ``b <- mu b + g; w <- w - lr b`` costs four
passes and a temporary (nine array reads and writes). BLAS does the same in two
calls and six reads and writes, on the BLAS thread pool. In an MNIST epoch of
784-128-10 this took the momentum update of the first layer from about 140 to
about 70 microseconds a step, measured on the project's 2-core machine, where
the gradient and the buffers no longer sit in cache between steps.

Only NumPy's own BLAS is used (a second BLAS, such as SciPy's, would bring a
second thread pool fighting the first for the cores). The routines are found
through threadpoolctl, tried on a small problem before use, and checked to flush
subnormals in their worker threads as the calling thread does. Wherever
anything is missing (another BLAS, a platform without these symbols, an array
that is small, strided or of another dtype) the caller falls back to NumPy.
"""

from __future__ import annotations

import numpy as np

# Below this many elements the ctypes call costs more than the passes it saves.
MIN_SIZE = 4096

#: Set False to make every optimizer use plain NumPy (for A/B measurements).
enabled = True

_routines = None  # {dtype: (axpy, axpby)} once loaded; {} if unavailable


def _numpy_blas_path():
    import threadpoolctl

    blas = [i for i in threadpoolctl.threadpool_info() if i.get("user_api") == "blas"]
    own = [i for i in blas if "numpy" in i["filepath"].lower()]
    if own:
        return own[0]
    # NumPy linked to a system BLAS: only unambiguous when just one BLAS is loaded.
    return blas[0] if len(blas) == 1 else None


def _bind(lib, prefix: str, suffix: str, int_type):
    import ctypes

    found = {}
    kinds = ((np.float32, "s", ctypes.c_float), (np.float64, "d", ctypes.c_double))
    for dtype, letter, real in kinds:
        axpy = getattr(lib, f"{prefix}cblas_{letter}axpy{suffix}")
        axpby = getattr(lib, f"{prefix}cblas_{letter}axpby{suffix}")
        ptr = ctypes.c_void_p
        axpy.argtypes = [int_type, real, ptr, int_type, ptr, int_type]
        axpby.argtypes = [int_type, real, ptr, int_type, real, ptr, int_type]
        axpy.restype = axpby.restype = None
        found[np.dtype(dtype)] = (axpy, axpby)
    return found


def _load() -> dict:
    """The routines for float32 and float64, or {} where they cannot be used safely."""
    import ctypes

    try:
        info = _numpy_blas_path()
        if info is None or info.get("internal_api") != "openblas":
            return {}
        lib = ctypes.CDLL(info["filepath"])
    except Exception:  # no threadpoolctl, an unreadable library: plain NumPy it is
        return {}
    # NumPy's wheels ship OpenBLAS with 64-bit integers and a "64_" suffix on every symbol
    # (and, since NumPy 2, a "scipy_" prefix); a plain name is used only if the library
    # says which integer size it was built with.
    candidates = [("scipy_", "64_", ctypes.c_int64), ("", "64_", ctypes.c_int64)]
    for prefix in ("scipy_", ""):
        config = getattr(lib, f"{prefix}openblas_get_config", None)
        if config is not None:
            config.restype = ctypes.c_char_p
            wide = b"USE64BITINT" in (config() or b"")
            candidates.append((prefix, "", ctypes.c_int64 if wide else ctypes.c_int32))
    for prefix, suffix, int_type in candidates:
        try:
            routines = _bind(lib, prefix, suffix, int_type)
        except AttributeError:
            continue
        if _works(routines):
            return routines
    return {}


def _works(routines: dict) -> bool:
    """Try every routine on a problem large enough for the BLAS threads to join in."""
    from .. import fpmode

    rng = np.random.default_rng(0)
    for dtype, (axpy, axpby) in routines.items():
        x = rng.standard_normal(3 * MIN_SIZE).astype(dtype)
        y = rng.standard_normal(3 * MIN_SIZE).astype(dtype)
        want_axpby = 0.5 * x + 0.25 * y  # exact in binary floating point
        axpby(x.size, 0.5, x.ctypes.data, 1, 0.25, y.ctypes.data, 1)
        if not np.array_equal(y, want_axpby):
            return False
        axpy(x.size, -2.0, x.ctypes.data, 1, y.ctypes.data, 1)
        if not np.allclose(y, want_axpby - 2.0 * x, rtol=1e-6, atol=1e-6):
            return False
    if fpmode.flush_supported():
        # Worker threads must flush subnormals too (OpenBLAS passes the caller's MXCSR on
        # when built with CONSISTENT_FPCSR, as NumPy's wheels are); else the update would
        # be slow on half of every array, so BLAS is not used.
        tiny = np.full(40 * MIN_SIZE, 1e-37, dtype=np.float32)
        zeros = np.zeros_like(tiny)
        axpby = routines[np.dtype(np.float32)][1]
        with fpmode.flushing_denormals():  # tiny <- 1e-3 * tiny: subnormal unless flushed
            axpby(tiny.size, 1.0, zeros.ctypes.data, 1, 1e-3, tiny.ctypes.data, 1)
        if np.any(tiny.view(np.uint32) != 0):
            return False
    return True


def _get(dtype):
    global _routines
    if _routines is None:
        _routines = _load()
    return _routines.get(dtype)


def _usable(x: np.ndarray, y: np.ndarray):
    if not enabled or y.size < MIN_SIZE or x is y:
        return None
    if type(x) is not np.ndarray or x.dtype != y.dtype or x.shape != y.shape:
        return None
    # One pass over memory: both arrays contiguous in the same order (row-major, or
    # column-major as Linear keeps its weights), so element i of one meets element i of the other.
    xf, yf = x.flags, y.flags
    same = (xf.c_contiguous and yf.c_contiguous) or (xf.f_contiguous and yf.f_contiguous)
    if not (same and yf.writeable):
        return None
    if np.may_share_memory(x, y):
        return None
    return _get(y.dtype)


def axpy(alpha: float, x: np.ndarray, y: np.ndarray) -> bool:
    """``y <- alpha * x + y`` in place; False (nothing done) where BLAS cannot be used."""
    routines = _usable(x, y)
    if routines is None:
        return False
    routines[0](y.size, alpha, x.ctypes.data, 1, y.ctypes.data, 1)
    return True


def axpby(alpha: float, x: np.ndarray, beta: float, y: np.ndarray) -> bool:
    """``y <- alpha * x + beta * y`` in place; False (nothing done) where BLAS cannot be used."""
    routines = _usable(x, y)
    if routines is None:
        return False
    routines[1](y.size, alpha, x.ctypes.data, 1, beta, y.ctypes.data, 1)
    return True
