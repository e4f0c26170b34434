"""Optimizers, learning-rate schedules and a bridge to SciPy's minimizers."""

from .adaptive import Adagrad, Adam, AdamW, RMSProp, RMSprop
from .minimize import SUPPORTED_METHODS, minimize
from .optimizer import Optimizer
from .schedules import CosineDecay, ExponentialDecay, InverseTimeDecay, Schedule, StepDecay
from .sgd import SGD

__all__ = [
    "Optimizer",
    "SGD",
    "Adagrad",
    "RMSProp",
    "RMSprop",
    "Adam",
    "AdamW",
    "Schedule",
    "InverseTimeDecay",
    "StepDecay",
    "ExponentialDecay",
    "CosineDecay",
    "minimize",
    "SUPPORTED_METHODS",
]
