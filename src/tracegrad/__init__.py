"""tracegrad: neural networks trained by backpropagation, on NumPy.

Every number of a forward and backward pass can be seen, gradients can be
checked numerically, and multilayer perceptrons train on a CPU.

Every op of the engine is also a top-level function, as in PyTorch:
``tg.sigmoid(tg.matmul(L2, W2) + b2)``. They come from one registry,
``tracegrad.autograd.OPS``, which also gives ``Tensor`` its methods.
"""

from . import autograd, compile, datasets, functional, io, losses, nn, ops, optim, training
from . import export as export  # the package, callable: tg.export(model, "model.onnx")
from .autograd import OPS
from .checking import GradcheckResult, check_model_gradients, gradcheck
from .compile import compile_step
from .compile.fpmode import set_flush_denormal
from .io import ModelFileError, load, save
from .tensor import Tensor, is_grad_enabled, no_grad
from .tracing import trace
from .viz import draw

__version__ = "0.1.0"

globals().update(OPS)  # tg.exp, tg.matmul, tg.sum, ... (the registry's functions)

__all__ = [
    "Tensor",
    "no_grad",
    "compile_step",
    "set_flush_denormal",
    "is_grad_enabled",
    "gradcheck",
    "check_model_gradients",
    "GradcheckResult",
    "trace",
    "draw",
    "save",
    "load",
    "ModelFileError",
    "autograd",
    "compile",
    "datasets",
    "functional",
    "io",
    "losses",
    "nn",
    "ops",
    "optim",
    "training",
    "viz",
    "__version__",
    *sorted(OPS),
]
