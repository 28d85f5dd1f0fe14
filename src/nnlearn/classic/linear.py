r"""Regression models that a single neuron is, in plain NumPy with the formulas written
out.  Rows of $X$ are samples; the intercept is $w_0$ on the constant feature $x_0 = 1$;
$\alpha$ is the learning rate of gradient descent (Cauchy 1847) and $N$ the number of
samples.

* LinearRegression (Legendre 1805; Gauss 1809): $h(x) = w^\top x$; the normal equation,
  or gradient descent on $L(w) = \frac{1}{2N} \sum_i (h(x_i) - y_i)^2$ with
  $w_j \leftarrow w_j - \frac{\alpha}{N} \sum_i (h(x_i) - y_i)\, x_{ij}$.
* LogisticRegression (Cox 1958): $h(x) = 1 / (1 + e^{-w^\top x})$;
  $L = -\frac1N \sum_i [y_i \ln h(x_i) + (1 - y_i) \ln(1 - h(x_i))]$ with the same update
  $w_j \leftarrow w_j - \frac{\alpha}{N} \sum_i (h(x_i) - y_i)\, x_{ij}$.
* SoftmaxRegression: $P(y = k \mid x) = e^{w_k^\top x} / \sum_j e^{w_j^\top x}$;
  $L = -\frac1N \sum_i \ln P(y_i \mid x_i)$ with
  $w_{ab} \leftarrow w_{ab} - \frac{\alpha}{N} \sum_i (P(a \mid x_i) - [y_i = a])\, x_{ib}$.
* Ridge (Hoerl & Kennard 1970): minimises
  $\lVert y - X w\rVert^2 + \alpha \lVert w\rVert^2$ (intercept not penalised).
* Lasso (Tibshirani 1996): minimises
  $\frac{1}{2N} \lVert y - X w\rVert^2 + \alpha \lVert w\rVert_1$ by coordinate descent.

Ridge and Lasso have scikit-learn's objectives."""

from __future__ import annotations

import numpy as np

from ..numerics import log_softmax, sigmoid
from ..base import (BaseEstimator, ClassifierMixin, RegressorMixin, validate_fit,
                    validate_predict)

__all__ = ["LinearRegression", "LogisticRegression", "SoftmaxRegression", "Ridge", "Lasso"]


class _Linear(BaseEstimator):
    r"""Shared: the design matrix with $x_0 = 1$ and prediction $w^\top x$."""

    def _design(self, X) -> np.ndarray:
        """X with the constant feature $x_0 = 1$ in front (when fitting an intercept)."""
        return np.hstack([np.ones((len(X), 1)), X]) if self.fit_intercept else X

    def _set_weights(self, w: np.ndarray) -> None:
        """w has the intercept first (when fitted) and one column per output."""
        if self.fit_intercept:
            self.intercept_, self.coef_ = w[0], w[1:]
        else:
            self.intercept_, self.coef_ = np.zeros(w.shape[1:]), w
        self.coef_ = self.coef_.T  # scikit-learn's (n_outputs, n_features) layout
        if self.coef_.shape[0] == 1 and self._single_output:
            self.coef_, self.intercept_ = self.coef_[0], float(np.ravel(self.intercept_)[0])

    def _weights(self) -> np.ndarray:
        coef = np.atleast_2d(self.coef_).T
        return np.vstack([np.atleast_1d(self.intercept_)[None, :], coef]) \
            if self.fit_intercept else coef

    def _scores(self, X) -> np.ndarray:
        return self._design(validate_predict(self, X, "coef_")) @ self._weights()

    def _gradient_descent(self, Xd, Y, gradient, cost, w0):
        r"""$w \leftarrow w - \alpha \nabla L(w)$ for n_epochs full-batch steps (or per
        sample with solver="sgd"), recording the cost before each step and snapshots."""
        rng = np.random.default_rng(self.random_state)
        w = w0.copy()
        self.cost_history_, self.snapshots_ = [], {}
        keep = set(self.snapshot_epochs or ())
        for epoch in range(self.n_epochs + 1):
            if epoch in keep:
                self.snapshots_[epoch] = w.copy()
            with np.errstate(over="ignore", invalid="ignore"):  # checked just below
                self.cost_history_.append(cost(Xd, Y, w))
            if not np.isfinite(self.cost_history_[-1]):
                raise ValueError(f"gradient descent diverged at epoch {epoch}: the cost is "
                                 f"not finite; learning_rate {self.learning_rate} is too large")
            if epoch == self.n_epochs:
                break
            with np.errstate(over="ignore", invalid="ignore"):
                if getattr(self, "solver", "gd") == "sgd":
                    for i in rng.permutation(len(Xd)):
                        w -= self.learning_rate * gradient(Xd[i:i + 1], Y[i:i + 1], w)
                else:
                    w -= self.learning_rate * gradient(Xd, Y, w)
        self.n_iter_ = self.n_epochs
        return w


def _check_gd(model):
    if not model.learning_rate > 0:
        raise ValueError(f"learning_rate must be positive; got {model.learning_rate!r}")
    if not isinstance(model.n_epochs, (int, np.integer)) or model.n_epochs < 0:
        raise ValueError(f"n_epochs must be a non-negative integer; got {model.n_epochs!r}")


class LinearRegression(RegressorMixin, _Linear):
    r"""Least squares (Legendre 1805; Gauss 1809): the normal equation
    (solver="normal", solved by an orthogonal factorisation with ``numpy.linalg.lstsq``,
    never by inverting $X^\top X$), or gradient descent (solver="gd", full batch; "sgd", one
    sample at a time) on the cost

    $$
    L(w) = \frac{1}{2N} \sum_i (w^\top x_i - y_i)^2, \qquad
    w \leftarrow w - \frac{\alpha}{N} X^\top (X w - y).
    $$

    (The cost $\frac1N \sum_i (\dots)^2$, without the $\frac12$, has a gradient twice as
    large: its $\alpha = 0.005$ corresponds to learning_rate = 0.01 here.)

    Parameters
    ----------
    initial_weights : array (intercept first), optional
        Starting point of gradient descent (the linear-regression experiment starts at
        b = 1.0, a = -0.5).
    snapshot_epochs : sequence of int
        Epochs whose weights are kept in ``snapshots_`` (e.g. 0, 10, 100, 500, 1000).

    Attributes
    ----------
    coef_, intercept_, cost_history_ (gd/sgd: the cost before each epoch's update and
    after the last), snapshots_ {epoch: weights, intercept first}"""

    def __init__(self, solver: str = "normal", learning_rate: float = 0.01,
                 n_epochs: int = 1000, fit_intercept: bool = True, initial_weights=None,
                 snapshot_epochs=(), random_state=None):
        self.solver = solver
        self.learning_rate = learning_rate
        self.n_epochs = n_epochs
        self.fit_intercept = fit_intercept
        self.initial_weights = initial_weights
        self.snapshot_epochs = snapshot_epochs
        self.random_state = random_state

    def fit(self, X, y):
        """Fit the weights by the normal equation or gradient descent; returns self."""
        if self.solver not in ("normal", "gd", "sgd"):
            raise ValueError(f"solver must be 'normal', 'gd' or 'sgd'; got {self.solver!r}")
        X, y = validate_fit(self, X, y, multi_output=True)
        self._single_output = y.ndim == 1
        Y = y.reshape(len(y), -1)
        Xd = self._design(X)
        if self.solver == "normal":
            w = np.linalg.lstsq(Xd, Y, rcond=None)[0]
        else:
            _check_gd(self)
            w0 = (np.zeros((Xd.shape[1], Y.shape[1])) if self.initial_weights is None
                  else np.asarray(self.initial_weights, dtype=float).reshape(Xd.shape[1], -1))
            w = self._gradient_descent(
                Xd, Y, w0=w0,
                gradient=lambda A, B, w: A.T @ (A @ w - B) / len(A),
                cost=lambda A, B, w: float(np.sum((A @ w - B) ** 2) / (2 * len(A))))
        self._set_weights(w)
        return self

    def predict(self, X) -> np.ndarray:
        """$X w + b$."""
        scores = self._scores(X)
        return scores[:, 0] if self._single_output else scores


class _Classifier(ClassifierMixin, _Linear):
    def _labels(self, X, y):
        X, y = validate_fit(self, X, y)
        self.classes_ = np.unique(y)
        if len(self.classes_) < 2:
            raise ValueError(f"y must contain at least two classes; got 1 class: "
                             f"{self.classes_.tolist()}")
        return X, np.searchsorted(self.classes_, y)

    def predict(self, X) -> np.ndarray:
        probabilities = self.predict_proba(X)  # checks fitted first
        return self.classes_[np.argmax(probabilities, axis=1)]

    def predict_log_proba(self, X) -> np.ndarray:
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))


class LogisticRegression(_Classifier):
    r"""Binary logistic regression (Cox 1958) by gradient descent on the mean
    cross-entropy (maximum likelihood): $w_j \leftarrow w_j - \frac{\alpha}{N} \sum_i
    (h(x_i) - y_i)\, x_{ij}$, $h(x) = \sigma(w^\top x)$."""

    def __init__(self, learning_rate: float = 0.1, n_epochs: int = 1000,
                 fit_intercept: bool = True, initial_weights=None, snapshot_epochs=(),
                 random_state=None):
        self.learning_rate = learning_rate
        self.n_epochs = n_epochs
        self.fit_intercept = fit_intercept
        self.initial_weights = initial_weights
        self.snapshot_epochs = snapshot_epochs
        self.random_state = random_state

    def fit(self, X, y):
        """Fit by gradient descent on the mean cross-entropy; returns self."""
        X, index = self._labels(X, y)
        if len(self.classes_) != 2:
            raise ValueError(f"Only binary classification is supported. The type of the "
                             f"target is multiclass ({len(self.classes_)} classes): use "
                             "SoftmaxRegression")
        _check_gd(self)
        self._single_output = True
        Xd = self._design(X)
        Y = index.reshape(-1, 1).astype(float)

        def cost(A, B, w):
            z = A @ w  # -[y ln h + (1-y) ln(1-h)] = softplus(z) - y z, stable
            return float(np.mean(np.logaddexp(0, z) - B * z))

        w0 = (np.zeros((Xd.shape[1], 1)) if self.initial_weights is None
              else np.asarray(self.initial_weights, dtype=float).reshape(-1, 1))
        w = self._gradient_descent(Xd, Y, w0=w0, cost=cost,
                                   gradient=lambda A, B, w: A.T @ (sigmoid(A @ w) - B) / len(A))
        self._set_weights(w)
        return self

    def decision_function(self, X) -> np.ndarray:
        """The logit $X w + b$."""
        return self._scores(X)[:, 0]

    def predict_proba(self, X) -> np.ndarray:
        r"""$[1 - \sigma(X w + b),\ \sigma(X w + b)]$ per sample."""
        p = sigmoid(self.decision_function(X))
        return np.stack([1 - p, p], axis=1)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        return tags


class SoftmaxRegression(_Classifier):
    r"""Multinomial logistic (softmax) regression by gradient descent:
    $w_{ab} \leftarrow w_{ab} - \frac{\alpha}{N} \sum_i \big(P(y = a \mid x_i) - [y_i = a]\big)
    \, x_{ib}$."""

    def __init__(self, learning_rate: float = 0.5, n_epochs: int = 1000,
                 fit_intercept: bool = True, snapshot_epochs=(), random_state=None):
        self.learning_rate = learning_rate
        self.n_epochs = n_epochs
        self.fit_intercept = fit_intercept
        self.snapshot_epochs = snapshot_epochs
        self.random_state = random_state

    @staticmethod
    def _probabilities(Z):
        return np.exp(log_softmax(Z, (1,)))

    def fit(self, X, y):
        """Fit by gradient descent on the mean cross-entropy; returns self."""
        X, index = self._labels(X, y)
        _check_gd(self)
        self._single_output = False
        Xd = self._design(X)
        Y = np.eye(len(self.classes_))[index]

        def cost(A, B, w):
            Z = A @ w
            return float(np.mean(-np.sum(B * log_softmax(Z, (1,)), axis=1)))  # cross-entropy

        w = self._gradient_descent(
            Xd, Y, w0=np.zeros((Xd.shape[1], Y.shape[1])), cost=cost,
            gradient=lambda A, B, w: A.T @ (self._probabilities(A @ w) - B) / len(A))
        self._set_weights(w)
        return self

    def decision_function(self, X) -> np.ndarray:
        r"""The scores $w_k^\top x$; for two classes, scikit-learn's single
        column $w_1^\top x - w_0^\top x$ (positive means the second class)."""
        scores = self._scores(X)
        return scores[:, 1] - scores[:, 0] if scores.shape[1] == 2 else scores

    def predict_proba(self, X) -> np.ndarray:
        r"""$\operatorname{softmax}(X W + b)$ per sample."""
        return self._probabilities(self._scores(X))


class Ridge(RegressorMixin, _Linear):
    r"""L2-regularised least squares (ridge regression; Hoerl & Kennard 1970): minimises
    $\lVert y - X w\rVert^2 + \alpha \lVert w\rVert^2$, the intercept unpenalised, solved as
    the least-squares problem $\begin{bmatrix} X \\ \sqrt\alpha\, I \end{bmatrix} w =
    \begin{bmatrix} y \\ 0 \end{bmatrix}$ on centred data."""

    def __init__(self, alpha: float = 1.0, fit_intercept: bool = True):
        self.alpha = alpha
        self.fit_intercept = fit_intercept

    def fit(self, X, y):
        r"""Solve $[X; \sqrt\alpha\, I]\, w = [y; 0]$ by least squares on centred data; returns
        self."""
        if not self.alpha >= 0:
            raise ValueError(f"alpha must be non-negative; got {self.alpha!r}")
        X, y = validate_fit(self, X, y)
        Xc, yc = self._centre(X, y)
        A = np.vstack([Xc, np.sqrt(self.alpha) * np.eye(X.shape[1])])
        b = np.concatenate([yc, np.zeros(X.shape[1])])
        self.coef_ = np.linalg.lstsq(A, b, rcond=None)[0]
        self.intercept_ = float(self._y_mean - self._x_mean @ self.coef_)
        return self

    def _centre(self, X, y):
        """Centre X and y (when fitting an intercept, which is then left unpenalised)."""
        self._x_mean = X.mean(axis=0) if self.fit_intercept else np.zeros(X.shape[1])
        self._y_mean = y.mean() if self.fit_intercept else 0.0
        return X - self._x_mean, y - self._y_mean

    def predict(self, X) -> np.ndarray:
        """$X w + b$."""
        return validate_predict(self, X, "coef_") @ self.coef_ + self.intercept_


class Lasso(Ridge):
    r"""L1-regularised least squares (the lasso; Tibshirani 1996): minimises
    $\frac{1}{2N} \lVert y - X w\rVert^2 + \alpha \lVert w\rVert_1$ by cyclic coordinate
    descent,

    $$
    w_j \leftarrow \frac{S(x_j^\top r_j / N,\ \alpha)}{x_j^\top x_j / N}, \qquad
    S(z, a) = \operatorname{sign}(z) \max(\lvert z\rvert - a, 0),
    $$

    with $r_j$ the residual without feature $j$.  Soft-thresholding sets weights exactly to
    zero: the lasso selects features."""

    def __init__(self, alpha: float = 1.0, fit_intercept: bool = True, max_iter: int = 10000,
                 tol: float = 1e-6):
        self.alpha = alpha
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol

    def fit(self, X, y):
        """Fit by coordinate descent with soft thresholding; returns self."""
        if not self.alpha >= 0:
            raise ValueError(f"alpha must be non-negative; got {self.alpha!r}")
        X, y = validate_fit(self, X, y)
        n, d = X.shape
        Xc, yc = self._centre(X, y)
        squared_norms = np.einsum("ij,ij->j", Xc, Xc) / n
        w = np.zeros(d)
        residual = yc.copy()
        self.n_iter_ = 0
        for _ in range(self.max_iter):
            self.n_iter_ += 1
            largest_change = 0.0
            for j in range(d):
                if squared_norms[j] == 0:
                    continue
                old = w[j]
                z = Xc[:, j] @ residual / n + squared_norms[j] * old
                w[j] = np.sign(z) * max(abs(z) - self.alpha, 0.0) / squared_norms[j]
                if w[j] != old:
                    residual -= Xc[:, j] * (w[j] - old)
                    largest_change = max(largest_change, abs(w[j] - old))
            if largest_change <= self.tol * max(np.max(np.abs(w)), 1e-12):
                break
        self.coef_, self.intercept_ = w, float(self._y_mean - self._x_mean @ w)
        return self
