"""The neurons that came before backpropagation, in plain NumPy.

McCulloch-Pitts threshold units with designed weights (McCulloch & Pitts 1943), Hebb's
rule (Hebb 1949), Rosenblatt's perceptron (Rosenblatt 1958), Widrow and Hoff's Adaline
(Widrow & Hoff 1960), and Hopfield's associative memory (Hopfield 1982).  Samples are
rows; a bias is a weight on a constant input 1.
"""

from __future__ import annotations

import warnings

import numpy as np

from ..base import (BaseEstimator, ClassifierMixin, check_array, check_is_fitted, check_X_y,
                    validate_fit, validate_predict)

__all__ = ["MCPNeuron", "MCPNetwork", "AND", "OR", "NOT", "NAND", "XOR", "BLUEBERRY_BIRD",
           "HebbNeuron", "Perceptron", "Adaline", "HopfieldNetwork", "separating_line"]


def _check_values(a: np.ndarray, allowed: tuple, name: str) -> None:
    bad = ~np.isin(a, allowed)
    if bad.any():
        raise ValueError(f"{name} must contain only {allowed}; got {a[bad].flat[0].item()!r} at "
                         f"index {tuple(int(i) for i in np.argwhere(bad)[0])}")


def _augment(X: np.ndarray) -> np.ndarray:
    """Append the constant input 1 (the perceptron's x = (x_1, ..., x_n, 1))."""
    return np.hstack([X, np.ones((len(X), 1))])


def separating_line(w1: float, w2: float, b: float) -> str:
    """The decision boundary $w_1 x_1 + w_2 x_2 + b = 0$ written as ``x2 = ...`` (or
    ``x1 = ...``), as in Fausett's (1994) Hebb-net examples."""
    def number(v):
        return f"{v:g}"

    if w2 == 0:
        return "none (all weights are zero)" if w1 == 0 else f"x1 = {number(-b / w1)}"
    slope, intercept = -w1 / w2 + 0.0, -b / w2 + 0.0  # + 0.0 turns -0.0 into 0.0
    parts = []
    if slope:
        parts.append({1.0: "x1", -1.0: "-x1"}.get(slope, f"{number(slope)} x1"))
    if intercept or not parts:
        sign = "-" if intercept < 0 else "+"
        parts.append(f"{sign} {number(abs(intercept))}" if parts else number(intercept))
    return "x2 = " + " ".join(parts)


# --------------------------------------------------------------------------------------
# McCulloch-Pitts
# --------------------------------------------------------------------------------------
class MCPNeuron:
    r"""A McCulloch-Pitts neuron (McCulloch & Pitts 1943): binary inputs $x$, fixed weights
    $w$ and a threshold $\theta$ designed by hand:

    $$
    y = \begin{cases} 1 & \text{if } \sum_i w_i x_i \ge \theta, \\ 0 & \text{otherwise.}
    \end{cases}
    $$

    There is no learning: "the weights are fixed and the threshold is pre-designed"."""

    def __init__(self, weights, threshold: float):
        self.weights = np.asarray(weights, dtype=float).ravel()
        self.threshold = float(threshold)

    def __call__(self, X) -> np.ndarray:
        r"""The unit's output for each row $x$ of ``X``: 1 if $\sum_i w_i x_i \ge \theta$,
        else 0 (McCulloch & Pitts 1943)."""
        X = np.asarray(X)
        single = X.ndim == 1
        X = np.atleast_2d(X)
        if X.shape[1] != len(self.weights):
            raise ValueError(f"x must have {len(self.weights)} inputs per sample; got "
                             f"{X.shape[1]}")
        _check_values(X, (0, 1), "x")
        y = (X @ self.weights >= self.threshold).astype(int)
        return y[0] if single else y

    predict = __call__

    def __repr__(self):
        return f"MCPNeuron(weights={self.weights.tolist()}, threshold={self.threshold:g})"


class MCPNetwork:
    """Layers of MCP neurons, each layer's outputs feeding the next (e.g. XOR)."""

    def __init__(self, layers):
        self.layers = [list(layer) for layer in layers]

    def __call__(self, X) -> np.ndarray:
        """The last layer's outputs after passing ``X`` through every layer of threshold units."""
        X = np.asarray(X)
        single = X.ndim == 1
        out = np.atleast_2d(X)
        for layer in self.layers:
            out = np.stack([neuron(out) for neuron in layer], axis=1)
        out = out[:, 0] if out.shape[1] == 1 else out
        return out[0] if single else out

    predict = __call__


AND = MCPNeuron([1, 1], threshold=2)
OR = MCPNeuron([1, 1], threshold=1)
NOT = MCPNeuron([-1], threshold=0)
NAND = MCPNeuron([-1, -1], threshold=-1)          # x1' + x2'
XOR = MCPNetwork([[OR, NAND], [AND]])             # (x1 + x2) . (x1' + x2')
# The blueberry bird eats an object that is purple AND round: inputs (purple, round).
BLUEBERRY_BIRD = MCPNeuron([1, 1], threshold=2)


# --------------------------------------------------------------------------------------
# Hebb
# --------------------------------------------------------------------------------------
class HebbNeuron(BaseEstimator):
    r"""Hebb's rule (Hebb 1949), one pass over the training pairs in order:

    $$
    w_i \leftarrow w_i + x_i\, y, \qquad b \leftarrow b + y .
    $$

    ``encoding`` is "binary" (inputs and targets in $\{0, 1\}$) or "bipolar"
    ($\{-1, 1\}$).  The output is 1 when $w^\top x + b \ge 0$, else 0 (binary) or -1
    (bipolar).

    Attributes
    ----------
    weights_, bias_ : the learned values
    history_ : list of dict, one per training pair: ``input``, ``target``, ``delta``
        (the weight changes (dw_1 ... dw_n, db)), ``weights`` (w_1 ... w_n, b) after the
        pair, and ``line`` (the separating line then, for two inputs) - the
        tables of Fausett's (1994) AND examples.
    misclassified_ : indices of the training pairs the final weights get wrong.

    Parameters
    ----------
    encoding : {"bipolar", "binary"}
        The values of inputs and targets: $\{-1, 1\}$ or $\{0, 1\}$.  With binary targets
        a target 0 changes nothing, which is why Hebb's rule needs the bipolar form for
        AND.
    epochs : int
        Passes over the training pairs (Hebb's rule makes one)."""

    def __init__(self, encoding: str = "bipolar", epochs: int = 1):
        self.encoding = encoding
        self.epochs = epochs

    def _values(self):
        if self.encoding not in ("binary", "bipolar"):
            raise ValueError(f"encoding must be 'binary' or 'bipolar'; got {self.encoding!r}")
        return (0, 1) if self.encoding == "binary" else (-1, 1)

    def fit(self, X, y):
        r"""One pass of Hebb's rule over the pairs ($w \leftarrow w + x t$, $b \leftarrow b + t$);
        returns self."""
        values = self._values()
        X, y = check_X_y(X, y)
        _check_values(X, values, "X")
        _check_values(y, values, "y")
        w = np.zeros(X.shape[1] + 1)
        self.history_ = []
        for _ in range(self.epochs):
            for x, target in zip(_augment(X), y):
                delta = x * target
                w = w + delta
                record = {"input": x.tolist(), "target": float(target),
                          "delta": delta.tolist(), "weights": w.tolist()}
                if X.shape[1] == 2:
                    record["line"] = separating_line(*w)
                self.history_.append(record)
        self.weights_, self.bias_ = w[:-1], w[-1]
        self.misclassified_ = np.flatnonzero(self.predict(X) != y)
        if len(self.misclassified_):
            warnings.warn(f"Hebb's rule did not find weights that classify every training "
                          f"pair: pairs {self.misclassified_.tolist()} are misclassified "
                          f"by (w, b) = {w.tolist()}", stacklevel=2)
        return self

    def decision_function(self, X) -> np.ndarray:
        """The net input $X w + b$."""
        check_is_fitted(self, "weights_")
        return check_array(X) @ self.weights_ + self.bias_

    def predict(self, X) -> np.ndarray:
        """1 where the net input is >= 0, else the low label (0 or -1)."""
        low = 0 if self.encoding == "binary" else -1
        return np.where(self.decision_function(X) >= 0, 1, low)

    def table(self) -> str:
        """The training record as a table, laid out as in Fausett's (1994) examples."""
        check_is_fitted(self, "history_")

        def vector(v) -> str:
            return "(" + " ".join(f"{x:g}" for x in v) + ")"

        lines = all("line" in r for r in self.history_)
        header = ["INPUT", "TARGET", "WEIGHT CHANGES", "WEIGHTS"] + \
            (["SEPARATING LINE"] if lines else [])
        rows = [[vector(r["input"]), f"{r['target']:g}", vector(r["delta"]),
                 vector(r["weights"])] + ([r["line"]] if lines else []) for r in self.history_]
        widths = [max(len(row[k]) for row in [header, *rows]) for k in range(len(header))]
        return "\n".join(" | ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip()
                         for row in [header, *rows])


# --------------------------------------------------------------------------------------
# Perceptron and Adaline
# --------------------------------------------------------------------------------------
class _LinearUnit(ClassifierMixin, BaseEstimator):
    """Shared by the perceptron and Adaline: labels, one-vs-all, prediction."""

    def _prepare(self, X, y):
        X, y = validate_fit(self, X, y)
        self.classes_ = np.unique(y)
        if len(self.classes_) < 2:
            raise ValueError(f"y must contain at least two classes; got 1 class: "
                             f"{self.classes_.tolist()}")
        if not (isinstance(self.max_epochs, (int, np.integer)) and self.max_epochs > 0):
            raise ValueError(f"max_epochs must be a positive integer; got {self.max_epochs!r}")
        self._check_rate()
        return _augment(X), y

    def _check_rate(self):
        if not (isinstance(self.learning_rate, (int, float)) and self.learning_rate > 0):
            raise ValueError(f"learning_rate must be positive; got {self.learning_rate!r}")

    def _targets(self, y):
        """One column of +1 / -1 targets per binary problem (one-vs-all for K > 2)."""
        if len(self.classes_) == 2:
            return np.where(y == self.classes_[1], 1.0, -1.0)[:, None]
        return np.where(y[:, None] == self.classes_[None, :], 1.0, -1.0)

    def decision_function(self, X) -> np.ndarray:
        """The net inputs $X w + b$: one column per one-vs-all unit (a vector for two classes)."""
        scores = validate_predict(self, X, "coef_") @ self.coef_.T + self.intercept_
        return scores[:, 0] if len(self.classes_) == 2 else scores

    def predict(self, X) -> np.ndarray:
        """The class of each row: the sign of the net input for two classes, else the unit
        with the largest net input."""
        scores = self.decision_function(X)
        if len(self.classes_) == 2:
            return self.classes_[(scores > 0).astype(int)]
        return self.classes_[np.argmax(scores, axis=1)]


class Perceptron(_LinearUnit):
    r"""Rosenblatt's (1958) perceptron with its error-correction algorithm: pick $x$
    (cyclically or at random), then

    $$
    w \leftarrow \begin{cases}
    w + \eta x & \text{if } x \in P \text{ and } w^\top x \le 0 \quad \text{(add)}, \\
    w - \eta x & \text{if } x \in N \text{ and } w^\top x \ge 0 \quad \text{(subtract)},
    \end{cases}
    $$

    with $x = (x_1, \dots, x_n, 1)$.  An epoch presents every sample once; training stops
    when an epoch makes no update (``converged_``) or after ``max_epochs``.  The
    perceptron criterion $J(w) = -\sum_{i \in \mathcal M} y_i\, w^\top x_i$ over the
    misclassified samples $\mathcal M$ ($y \in \{-1, +1\}$) is recorded after each epoch.
    Several classes: one perceptron per class against the rest (one-vs-all), prediction by
    the largest $w^\top x$.

    Attributes
    ----------
    coef_, intercept_, classes_, converged_, n_updates_, n_epochs_, cost_history_,
    updates_history_ (the corrections made in each epoch: its mistakes)

    Parameters
    ----------
    learning_rate : float
        $\eta > 0$, the step of each correction (with zero initial weights it only scales
        $w$).
    max_epochs : int
        The most passes over the samples.
    presentation : {"cyclic", "random"}
        The samples in order each epoch, or in a new random order each epoch.
    initial_weights : {"zeros", "random"}
        $w$ at the start: zero, or standard normal.
    random_state : int, numpy.random.Generator or None
        Makes the random number generator (None: a fresh one each fit)."""

    def __init__(self, learning_rate: float = 1.0, max_epochs: int = 100,
                 presentation: str = "cyclic", initial_weights: str = "zeros",
                 random_state=None):
        self.learning_rate = learning_rate
        self.max_epochs = max_epochs
        self.presentation = presentation
        self.initial_weights = initial_weights
        self.random_state = random_state

    def fit(self, X, y):
        """Rosenblatt's rule until an epoch without mistakes or max_epochs; returns self."""
        if self.presentation not in ("cyclic", "random"):
            raise ValueError(f"presentation must be 'cyclic' or 'random'; got "
                             f"{self.presentation!r}")
        if self.initial_weights not in ("zeros", "random"):
            raise ValueError(f"initial_weights must be 'zeros' or 'random'; got "
                             f"{self.initial_weights!r}")
        Xa, y = self._prepare(X, y)
        T = self._targets(y)
        rng = np.random.default_rng(self.random_state)
        W = (rng.standard_normal((T.shape[1], Xa.shape[1])) if self.initial_weights == "random"
             else np.zeros((T.shape[1], Xa.shape[1])))
        self.n_updates_, self.cost_history_, self.converged_ = 0, [], False
        self.updates_history_ = []
        for epoch in range(1, self.max_epochs + 1):
            order = (rng.permutation(len(Xa)) if self.presentation == "random"
                     else range(len(Xa)))
            updates = 0
            for i in order:
                for k in range(T.shape[1]):
                    if T[i, k] * (W[k] @ Xa[i]) <= 0:   # wrong side (or on the line)
                        W[k] += self.learning_rate * T[i, k] * Xa[i]
                        updates += 1
            self.n_updates_ += updates
            self.updates_history_.append(updates)
            margins = T * (Xa @ W.T)
            self.cost_history_.append(0.0 - float(np.sum(margins[margins <= 0])))
            self.n_epochs_ = epoch
            if updates == 0:
                self.converged_ = True
                break
        if not self.converged_:
            warnings.warn(f"the perceptron did not converge in {self.max_epochs} epochs: "
                          "the classes may not be linearly separable", stacklevel=2)
        self.coef_, self.intercept_ = W[:, :-1], W[:, -1]
        return self


class Adaline(_LinearUnit):
    r"""Adaline (Widrow and Hoff 1960): the linear output $w^\top x$ is fitted to
    targets $\pm 1$ by the LMS (Widrow-Hoff, delta) rule, on the cost
    $J(w) = \frac12 \operatorname{mean}_i (y_i - w^\top x_i)^2$:

    $$
    \begin{aligned}
    \text{online:}\quad & w \leftarrow w + \eta\, (y_i - w^\top x_i)\, x_i
      && \text{for each sample,} \\
    \text{batch:}\quad & w \leftarrow w + \eta \operatorname{mean}_i (y_i - w^\top x_i)\, x_i
      && \text{once per epoch,}
    \end{aligned}
    $$

    and classifies by the sign of $w^\top x$.  ``cost_history_`` holds $J$ after each
    epoch.  ``learning_rate="auto"`` uses $\eta = 1 / \operatorname{tr} R$ (batch) or
    $0.1 / \operatorname{tr} R$ (online, where a smaller step keeps the LMS misadjustment
    small), $R = \operatorname{mean}_i x_i x_i^\top$: inside Widrow's stability bound
    $0 < \eta < 2 / \lambda_\text{max}(R)$ whatever the inputs' scale.

    Parameters
    ----------
    learning_rate : float or "auto"
        $\eta$; "auto" as above.
    max_epochs : int
        The most epochs.
    mode : {"online", "batch"}
        LMS updates after each sample (in a random order) or once per epoch.
    tol : float
        Stop when $J$ changes by less than this between two epochs.
    random_state : int, numpy.random.Generator or None
        Makes the random number generator (None: a fresh one each fit)."""

    def __init__(self, learning_rate="auto", max_epochs: int = 100, mode: str = "online",
                 tol: float = 1e-8, random_state=None):
        self.learning_rate = learning_rate
        self.max_epochs = max_epochs
        self.mode = mode
        self.tol = tol
        self.random_state = random_state

    def _check_rate(self):
        if self.learning_rate != "auto":
            super()._check_rate()

    def fit(self, X, y):
        """The Widrow-Hoff (LMS) rule on the net input; returns self."""
        if self.mode not in ("online", "batch"):
            raise ValueError(f"mode must be 'online' or 'batch'; got {self.mode!r}")
        Xa, y = self._prepare(X, y)
        trace = np.mean(np.sum(Xa * Xa, axis=1))  # trace of R = mean x x^T
        auto = (0.1 if self.mode == "online" else 1.0) / trace
        eta = auto if self.learning_rate == "auto" else self.learning_rate
        T = self._targets(y)
        rng = np.random.default_rng(self.random_state)
        W = np.zeros((T.shape[1], Xa.shape[1]))
        self.cost_history_ = []
        for epoch in range(1, self.max_epochs + 1):
            if self.mode == "online":
                for i in rng.permutation(len(Xa)):
                    error = T[i] - W @ Xa[i]
                    W += eta * np.outer(error, Xa[i])
            else:
                error = T - Xa @ W.T
                W += eta * error.T @ Xa / len(Xa)
            cost = 0.5 * float(np.mean((T - Xa @ W.T) ** 2))
            if not np.isfinite(cost):
                raise ValueError(f"Adaline diverged at epoch {epoch}: learning_rate {eta} is "
                                 "too large for these inputs (try learning_rate='auto')")
            self.cost_history_.append(cost)
            self.n_epochs_ = epoch
            if epoch > 1 and abs(self.cost_history_[-2] - cost) < self.tol:
                break
        self.coef_, self.intercept_ = W[:, :-1], W[:, -1]
        return self


# --------------------------------------------------------------------------------------
# Hopfield
# --------------------------------------------------------------------------------------
class HopfieldNetwork(BaseEstimator):
    r"""Hopfield's associative memory (Hopfield 1982) for bipolar patterns of $N$ units.

    Storage (Hebbian), with a zero diagonal, and recall:

    $$
    W = \frac1N \sum_p p\, p^\top, \qquad
    s_i \leftarrow \operatorname{sign}\Big(\sum_j W_{ij} s_j\Big)
    $$

    (unchanged when the sum is 0), all units at once ("synchronous") or one at a time in
    random order ("asynchronous", which never increases the energy
    $E(s) = -\frac12 s^\top W s$), until nothing changes.  About $0.138 N$ random patterns
    can be stored (Amit, Gutfreund & Sompolinsky 1985); more gives a warning.

    Parameters
    ----------
    mode : {"asynchronous", "synchronous"}
        How :meth:`recall` updates the units (it may override it per call).
    max_iter : int
        The most sweeps of recall.
    random_state : int, numpy.random.Generator or None
        Makes the random number generator (None: a fresh one each fit)."""

    CAPACITY = 0.138

    def __init__(self, mode: str = "asynchronous", max_iter: int = 100, random_state=None):
        self.mode = mode
        self.max_iter = max_iter
        self.random_state = random_state

    def fit(self, patterns):
        """Store the patterns by Hebb's outer-product rule (zero diagonal); returns self."""
        P = check_array(patterns, "patterns")
        _check_values(P, (-1, 1), "patterns")
        n_patterns, n = P.shape
        if n_patterns > self.CAPACITY * n:
            warnings.warn(f"storing {n_patterns} patterns in {n} units exceeds the capacity "
                          f"of about {self.CAPACITY} N = {self.CAPACITY * n:.1f}: recall will "
                          "be unreliable", stacklevel=2)
        self.weights_ = P.T @ P / n
        np.fill_diagonal(self.weights_, 0)
        self.patterns_ = P
        return self

    def energy(self, state) -> float:
        r"""$E = -\frac12 s^\top W s$, which never increases under asynchronous updates."""
        check_is_fitted(self, "weights_")
        s = np.asarray(state, dtype=float)
        return float(-0.5 * s @ self.weights_ @ s)

    def recall(self, state, mode: str | None = None) -> np.ndarray:
        """The stable state reached from ``state`` (one pattern, or one per row)."""
        check_is_fitted(self, "weights_")
        mode = mode or self.mode
        if mode not in ("synchronous", "asynchronous"):
            raise ValueError(f"mode must be 'synchronous' or 'asynchronous'; got {mode!r}")
        S = np.atleast_2d(np.asarray(state, dtype=float)).copy()
        if S.shape[1] != len(self.weights_):
            raise ValueError(f"state must have {len(self.weights_)} units; got {S.shape[1]}")
        _check_values(S, (-1, 1), "state")
        rng = np.random.default_rng(self.random_state)
        for s in S:
            for _ in range(self.max_iter):
                previous = s.copy()
                if mode == "synchronous":
                    field = self.weights_ @ s
                    s[:] = np.where(field > 0, 1, np.where(field < 0, -1, s))
                else:
                    for i in rng.permutation(len(s)):
                        field = self.weights_[i] @ s
                        if field:
                            s[i] = 1.0 if field > 0 else -1.0
                if np.array_equal(s, previous):
                    break
        return S[0] if np.ndim(state) == 1 else S
