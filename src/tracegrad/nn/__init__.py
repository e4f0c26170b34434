"""Layers and models: ``tracegrad.nn``."""

from . import init
from .layers import (
    MLP,
    Dropout,
    Identity,
    LeakyReLU,
    Linear,
    LogSoftmax,
    ReLU,
    Sigmoid,
    Softmax,
    Softplus,
    Tanh,
    activation,
)
from .module import Module, Parameter, Sequential
from .preprocessing import Denormalization, Normalization
from .utils import parameters_to_vector, vector_to_parameters

__all__ = [
    "Module",
    "Parameter",
    "Sequential",
    "Linear",
    "Sigmoid",
    "Tanh",
    "ReLU",
    "LeakyReLU",
    "Softplus",
    "Softmax",
    "LogSoftmax",
    "Identity",
    "Dropout",
    "Denormalization",
    "Normalization",
    "MLP",
    "activation",
    "init",
    "parameters_to_vector",
    "vector_to_parameters",
]
