"""tracegrad: neural networks trained by backpropagation, on NumPy.

Every number of a forward and backward pass can be seen, gradients can be
checked numerically, and multilayer perceptrons train fast on a CPU.
"""

from . import functional, losses, nn, ops, optim
from .checking import GradcheckResult, check_model_gradients, gradcheck
from .tensor import Tensor, is_grad_enabled, no_grad

__version__ = "0.1.0"

__all__ = [
    "Tensor",
    "no_grad",
    "is_grad_enabled",
    "gradcheck",
    "check_model_gradients",
    "GradcheckResult",
    "functional",
    "losses",
    "nn",
    "ops",
    "optim",
    "__version__",
]
