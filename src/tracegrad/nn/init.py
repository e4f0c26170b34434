"""Weight initializers.

Each takes the shape, an explicit ``numpy.random.Generator`` and a dtype, and
returns a new array, so a seed reproduces a network bit for bit. Shapes follow
``Linear``: a weight matrix is (units out, units in), so fan_in = shape[1].

Random initialization breaks symmetry: if every weight started equal, every
hidden unit would compute the same function and receive the same gradient.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "zeros",
    "constant",
    "uniform",
    "normal",
    "symmetric_uniform",
    "glorot_uniform",
    "glorot_normal",
    "xavier_uniform",
    "xavier_normal",
    "he_uniform",
    "he_normal",
    "kaiming_uniform",
    "kaiming_normal",
    "lecun_uniform",
    "lecun_normal",
    "torch_default",
    "get",
    "available",
]


def _fans(shape) -> tuple[int, int]:
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive = math.prod(shape[2:]) if len(shape) > 2 else 1
    return shape[1] * receptive, shape[0] * receptive


def zeros(shape, rng=None, dtype=np.float32):
    return np.zeros(shape, dtype=dtype)


def constant(shape, rng=None, dtype=np.float32, value: float = 0.0):
    return np.full(shape, value, dtype=dtype)


def uniform(shape, rng, dtype=np.float32, low: float = -0.05, high: float = 0.05):
    return rng.uniform(low, high, size=shape).astype(dtype)


def normal(shape, rng, dtype=np.float32, mean: float = 0.0, std: float = 0.05):
    return rng.normal(mean, std, size=shape).astype(dtype)


def symmetric_uniform(shape, rng, dtype=np.float32, epsilon: float | None = None):
    """Uniform in [−ε_init, ε_init] with ε_init = √6 / √(L_in + L_out) (Andrew Ng's notes).

    With the default ε this is the same distribution as Glorot uniform.
    """
    if epsilon is None:
        fan_in, fan_out = _fans(shape)
        epsilon = math.sqrt(6) / math.sqrt(fan_in + fan_out)
    return rng.uniform(-epsilon, epsilon, size=shape).astype(dtype)


def glorot_uniform(shape, rng, dtype=np.float32):
    """Glorot & Bengio (2010): U(±√(6/(fan_in + fan_out))), keeps variance for tanh/sigmoid."""
    fan_in, fan_out = _fans(shape)
    limit = math.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=shape).astype(dtype)


def glorot_normal(shape, rng, dtype=np.float32):
    fan_in, fan_out = _fans(shape)
    return rng.normal(0.0, math.sqrt(2.0 / (fan_in + fan_out)), size=shape).astype(dtype)


def he_uniform(shape, rng, dtype=np.float32):
    """He et al. (2015): U(±√(6/fan_in)), for ReLU layers, which zero half their inputs."""
    fan_in, _ = _fans(shape)
    limit = math.sqrt(6.0 / fan_in)
    return rng.uniform(-limit, limit, size=shape).astype(dtype)


def he_normal(shape, rng, dtype=np.float32):
    fan_in, _ = _fans(shape)
    return rng.normal(0.0, math.sqrt(2.0 / fan_in), size=shape).astype(dtype)


def lecun_uniform(shape, rng, dtype=np.float32):
    fan_in, _ = _fans(shape)
    limit = math.sqrt(3.0 / fan_in)
    return rng.uniform(-limit, limit, size=shape).astype(dtype)


def lecun_normal(shape, rng, dtype=np.float32):
    fan_in, _ = _fans(shape)
    return rng.normal(0.0, math.sqrt(1.0 / fan_in), size=shape).astype(dtype)


def torch_default(shape, rng, dtype=np.float32, fan_in: int | None = None):
    """PyTorch's ``nn.Linear`` default: U(±1/√fan_in), for weights and biases alike."""
    if fan_in is None:
        fan_in, _ = _fans(shape)
    bound = 1.0 / math.sqrt(fan_in)
    return rng.uniform(-bound, bound, size=shape).astype(dtype)


xavier_uniform, xavier_normal = glorot_uniform, glorot_normal
kaiming_uniform, kaiming_normal = he_uniform, he_normal

_BY_NAME = {
    "zeros": zeros,
    "uniform": uniform,
    "normal": normal,
    "symmetric_uniform": symmetric_uniform,
    "epsilon": symmetric_uniform,
    "glorot_uniform": glorot_uniform,
    "glorot_normal": glorot_normal,
    "xavier_uniform": glorot_uniform,
    "xavier_normal": glorot_normal,
    "glorot": glorot_uniform,
    "xavier": glorot_uniform,
    "he_uniform": he_uniform,
    "he_normal": he_normal,
    "he": he_normal,
    "kaiming_uniform": he_uniform,
    "kaiming_normal": he_normal,
    "lecun_uniform": lecun_uniform,
    "lecun_normal": lecun_normal,
    "lecun": lecun_normal,
    "torch": torch_default,
    "default": torch_default,
}


def get(name_or_fn):
    """Look an initializer up by name (``"he"``, ``"glorot_uniform"``, ...) or pass a callable."""
    if callable(name_or_fn):
        return name_or_fn
    try:
        return _BY_NAME[str(name_or_fn).lower().replace("-", "_")]
    except KeyError:
        names = ", ".join(sorted(_BY_NAME))
        raise ValueError(f"unknown initializer {name_or_fn!r}; choose one of: {names}") from None


def available() -> list[str]:
    """The names ``get`` accepts, one per initializer (its aliases left out), in table order."""
    seen, names = set(), []
    for name, fn in _BY_NAME.items():
        if fn not in seen:
            seen.add(fn)
            names.append(name)
    return names
