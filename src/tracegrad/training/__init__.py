"""Training: the loop (``fit`` / ``Trainer``), its callbacks, and scoring a trained model.

The trainer owns the loop and nothing else; everything around it is a callback:
``History`` (always attached), ``ProgressBar``, ``EarlyStopping``,
``LearningRateScheduler``, ``TerminateOnNonFinite``, ``CSVLogger`` and
``Checkpoint`` (resume with ``fit(..., resume_from=path)``); ``fit_lbfgs`` runs
SciPy's L-BFGS with the same callbacks, one iteration per epoch.
"""

from .callback import Callback, History
from .checkpoint import Checkpoint, CheckpointError, load_checkpoint, save_checkpoint
from .csv_logger import CSVLogger
from .early_stopping import EarlyStopping
from .lr_scheduler import LearningRateScheduler
from .metrics import (
    confusion_matrix,
    evaluate,
    is_regression,
    predict,
    predict_proba,
    regression_scores,
)
from .non_finite import TerminateOnNonFinite
from .progress import ProgressBar
from .quasi_newton import IterationProgress, fit_lbfgs
from .trainer import Trainer, fit

__all__ = [
    "Trainer",
    "fit",
    "fit_lbfgs",
    "evaluate",
    "predict",
    "predict_proba",
    "confusion_matrix",
    "is_regression",
    "regression_scores",
    "Callback",
    "History",
    "ProgressBar",
    "IterationProgress",
    "EarlyStopping",
    "LearningRateScheduler",
    "TerminateOnNonFinite",
    "CSVLogger",
    "Checkpoint",
    "CheckpointError",
    "save_checkpoint",
    "load_checkpoint",
]
