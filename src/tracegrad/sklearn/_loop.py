"""scikit-learn's end-of-epoch rules as one tracegrad callback.

``training.fit`` runs the epochs; this callback does what scikit-learn's
``_fit_stochastic`` does after each one: record ``loss_`` and ``loss_curve_``, count
epochs without improvement (of the training loss, or of the validation score with
``early_stopping``), keep the best weights, update the learning rate (``invscaling``,
``adaptive``), stop, and warn when ``max_iter`` is reached first.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from ..training import Callback
from . import _network


def set_lr(optimizer, lr: float) -> None:
    """Change SGD's learning rate the way scikit-learn does.

    tracegrad's SGD keeps an lr-free momentum buffer b and steps by -lr * b; scikit-learn
    keeps the velocity v = -lr * b, so a new rate applies only to new gradients. Scaling
    b by old / new keeps v, and with it every later step, the same as scikit-learn's.
    """
    scale = optimizer.lr / lr
    for state in optimizer.state.values():
        if "momentum_buffer" in state:
            state["momentum_buffer"] *= scale
    optimizer.lr = lr


class SklearnEpochs(Callback):
    """Parameters: the estimator (its fitted attributes are updated in place), the
    ``Objective`` whose reported loss is the epoch's ``loss_``, the number of training
    samples, the validation pair or None, and whether this is ``partial_fit``."""

    def __init__(self, est, objective, n_samples, val, incremental):
        self.est, self.objective, self.n_samples = est, objective, n_samples
        self.val, self.incremental = val, incremental

    def on_epoch_begin(self, trainer, epoch) -> None:
        self.objective.reset()

    def on_epoch_end(self, trainer, epoch, logs) -> None:
        est = self.est
        est.n_iter_ += 1
        est.loss_ = self.objective.reported()
        est.t_ += self.n_samples
        est.loss_curve_.append(est.loss_)
        self._count_no_improvement(trainer)
        sgd = est.solver == "sgd"
        if sgd and est.learning_rate == "invscaling":
            set_lr(trainer.optimizer, est.learning_rate_init / (est.t_ + 1) ** est.power_t)
        if est._no_improvement_count > est.n_iter_no_change:
            what = "Validation score" if est.early_stopping else "Training loss"
            msg = (
                f"{what} did not improve more than tol={est.tol:f} for "
                f"{est.n_iter_no_change} consecutive epochs."
            )
            if sgd and est.learning_rate == "adaptive" and trainer.optimizer.lr > 1e-6:
                set_lr(trainer.optimizer, trainer.optimizer.lr / 5.0)
                est._no_improvement_count = 0
                if est.verbose:
                    print(f"{msg} Setting learning rate to {trainer.optimizer.lr:f}")
            else:
                trainer.stop_training, trainer.stop_reason = True, msg
                return
        if not self.incremental and est.n_iter_ == est.max_iter:
            warnings.warn(
                f"Stochastic Optimizer: Maximum iterations ({est.max_iter}) reached and "
                "the optimization hasn't converged yet.",
                ConvergenceWarning,
                stacklevel=2,
            )

    def _count_no_improvement(self, trainer) -> None:
        est = self.est
        if est.early_stopping:
            X_val, y_val = self.val
            score = est._score_output(
                _network.output(trainer.model, X_val, est.out_activation_), y_val
            )
            est.validation_scores_.append(score)
            if score < est.best_validation_score_ + est.tol:
                est._no_improvement_count += 1
            else:
                est._no_improvement_count = 0
            if score > est.best_validation_score_:
                est.best_validation_score_ = score
                est._best_coefs, est._best_intercepts = _network.store(trainer.model)
        else:
            if est.loss_curve_[-1] > est.best_loss_ - est.tol:
                est._no_improvement_count += 1
            else:
                est._no_improvement_count = 0
            est.best_loss_ = min(est.best_loss_, est.loss_curve_[-1])
        if not np.isfinite(est.loss_):
            trainer.stop_training, trainer.stop_reason = True, "the loss is not finite"


class SklearnAdamEpsilon(Callback):
    """Move Adam's epsilon where scikit-learn puts it.

    tracegrad's Adam (as PyTorch's) divides by sqrt(v_hat) + eps; scikit-learn's by
    sqrt(v) + eps, with the bias correction folded into the step size. The two agree
    when tracegrad's eps is eps / sqrt(1 - beta_2 ** t) at step t, set before each step.
    """

    def __init__(self, epsilon, beta_2):
        self.epsilon, self.beta_2 = epsilon, beta_2

    def _set(self, trainer) -> None:
        opt = trainer.optimizer
        t = max((s["step"] for s in opt.state.values()), default=0) + 1
        opt.eps = self.epsilon / np.sqrt(1 - self.beta_2**t)

    def on_train_begin(self, trainer) -> None:
        self._set(trainer)

    def on_batch_end(self, trainer, batch, logs) -> None:
        self._set(trainer)
