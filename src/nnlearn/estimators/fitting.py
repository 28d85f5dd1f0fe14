"""How the estimators train their network as scikit-learn's MLP does: the network class
whose batches replay scikit-learn's shuffling, scikit-learn's initial weights, and its
stopping rules (the stochastic solvers' n_iter_no_change and tol, L-BFGS's ftol and
maxfun).
"""

from __future__ import annotations

import numpy as np

from ..callbacks import Callback, StopKind, StopReason
from ..models import Sequential


try:
    from sklearn.exceptions import ConvergenceWarning
except ImportError:  # pragma: no cover
    class ConvergenceWarning(UserWarning):
        """Training stopped at max_iter before the stopping criterion was met."""
SCIPY_FTOL = 2.220446049250313e-09  # scipy's L-BFGS-B default factr * machine epsilon
NON_FINITE = ("Solver produced non-finite parameter weights. The input data may contain "
               "large values and need to be preprocessed.")


# -- the network --------------------------------------------------------------------------
class Network(Sequential):
    """The estimators' network: a Sequential that draws each epoch's batches as
    scikit-learn does (the sample order permuted again by the estimator's RandomState,
    ``rng``) when ``rng`` is set, through :meth:`Model.batch_indices`, the documented way
    to draw batches differently.  Its loss is scikit-learn's objective
    (:class:`nnlearn.losses.SklearnMLPLoss`); saved, it is a plain Sequential."""

    rng = order = None

    def batch_indices(self, n, batch_size, shuffle, epoch_seed):
        if self.rng is None or self.optimizer.full_batch:
            return super().batch_indices(n, batch_size, shuffle, epoch_seed)
        if not shuffle:
            return [slice(start, start + batch_size) for start in range(0, n, batch_size)]
        if self.order is None or len(self.order) != n:
            self.order = np.arange(n)
        permutation = np.arange(n)
        self.rng.shuffle(permutation)  # sklearn.utils.shuffle's draw
        self.order = self.order[permutation]
        return [self.order[start:start + batch_size] for start in range(0, n, batch_size)]


def sklearn_weights(rng, sizes, activation, dtype):
    """scikit-learn's initialization (Glorot & Bengio 2010): W and b uniform in +-sqrt(6 /
    (fan_in + fan_out)) (2 instead of 6 for the logistic activation), layer by layer, W
    then b, drawn from ``rng`` in scikit-learn's order."""
    factor = 2.0 if activation == "logistic" else 6.0
    weights = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        bound = np.sqrt(factor / (fan_in + fan_out))
        weights.append(rng.uniform(-bound, bound, (fan_in, fan_out)).astype(dtype))
        weights.append(rng.uniform(-bound, bound, fan_out).astype(dtype))
    return weights


# -- the callbacks that implement scikit-learn's stopping rules ---------------------------------
class StochasticStopping(Callback):
    """scikit-learn's epoch end for the stochastic solvers (``_fit_stochastic``): record
    the loss; count the epochs without improvement of the training loss (or, with
    early_stopping, of the validation score) by tol; update the learning rate
    (invscaling); after n_iter_no_change + 1 such epochs stop, or with
    learning_rate='adaptive' divide the learning rate by 5 (until it is <= 1e-6)."""

    def __init__(self, estimator, n_samples, validation, incremental: bool):
        self.estimator, self.n_samples = estimator, n_samples
        self.validation, self.incremental = validation, incremental
        self.converged = False

    def on_epoch_end(self, epoch, logs=None):
        est, loss = self.estimator, float(logs["loss"])
        est.n_iter_ += 1
        est.loss_ = loss
        est.t_ += self.n_samples
        est.loss_curve_.append(loss)
        if est.verbose:
            print(f"Iteration {est.n_iter_}, loss = {loss:.8f}")
        if self.validation is not None:
            score = est._validation_score(*self.validation)
            est.validation_scores_.append(score)
            if est.verbose:
                print(f"Validation score: {score:f}")
            improved = not score < est.best_validation_score_ + est.tol
            if score > est.best_validation_score_:
                est.best_validation_score_ = score
                est._best_weights = self.model.get_weights()
        else:
            improved = not loss > est.best_loss_ - est.tol
            if loss < est.best_loss_:
                est.best_loss_ = loss
        est._no_improvement_count = 0 if improved else est._no_improvement_count + 1
        optimizer = self.model.optimizer
        sgd = est.solver == "sgd"
        if sgd and est.learning_rate == "invscaling":
            optimizer.learning_rate = float(est.learning_rate_init) / (est.t_ + 1) ** est.power_t
        if est._no_improvement_count > est.n_iter_no_change:
            what = "Validation score" if self.validation is not None else "Training loss"
            message = (f"{what} did not improve more than tol={est.tol:f} for "
                       f"{est.n_iter_no_change} consecutive epochs.")
            if sgd and est.learning_rate == "adaptive" and optimizer.learning_rate > 1e-6:
                optimizer.learning_rate /= 5.0
                est._no_improvement_count = 0
                if est.verbose:
                    print(f"{message} Setting learning rate to {optimizer.learning_rate:f}")
            else:
                if est.verbose:
                    print(f"{message} Stopping.")
                self.converged = True
                self.model.stop(StopReason(StopKind.CONVERGED, message))


class LbfgsStopping(Callback):
    """scikit-learn's L-BFGS stopping (scipy's L-BFGS-B with gtol=tol, maxiter=max_iter,
    maxfun=max_fun): stop when max |gradient| <= tol, when the relative decrease of the
    loss (f_k - f_k+1) / max(|f_k|, |f_k+1|, 1) <= 2.2e-9 (scipy's ftol), or when the
    loss has been evaluated max_fun times; each epoch is one L-BFGS iteration, whose
    line search is capped so that the evaluations stay within max_fun."""

    def __init__(self, estimator):
        self.estimator = estimator
        self.status, self.message = 1, "STOP: TOTAL NO. OF ITERATIONS REACHED LIMIT"

    def on_epoch_begin(self, epoch, logs=None):
        left = self.estimator.max_fun - self.model.loss_evaluations
        self.model.optimizer.max_line_search = int(max(1, min(25, left - 1)))

    def on_epoch_end(self, epoch, logs=None):
        est, model = self.estimator, self.model
        est.n_iter_ += 1
        before, after = float(logs["loss"]), float(model.optimizer.last_loss)
        est.loss_ = after
        if est.verbose:
            print(f"Iteration {est.n_iter_}, loss = {after:.8f}")
        gradient = max(float(np.max(np.abs(p.grad))) for p in model.params
                       if p.grad is not None)
        if model.loss_evaluations >= est.max_fun:
            self.message = "STOP: TOTAL NO. OF F,G EVALUATIONS EXCEEDS LIMIT"
        elif gradient <= est.tol:
            self.status, self.message = 0, "CONVERGENCE: NORM OF PROJECTED GRADIENT <= PGTOL"
        elif (before - after) / max(abs(before), abs(after), 1.0) <= SCIPY_FTOL:
            self.status = 0
            self.message = "CONVERGENCE: RELATIVE REDUCTION OF F <= FACTR*EPSMCH"
        else:
            return
        model.stop(StopReason(StopKind.CONVERGED if self.status == 0 else StopKind.REQUESTED,
                              self.message))
