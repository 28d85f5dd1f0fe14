"""Holding data out and tuning hyperparameters: train/test, k-fold; random search
(Bergstra & Bengio 2012) in log space, coarse then fine, and abort runs that explode
(as Karpathy's CS231n course recommends).

Searches and cross-validation run their trials one after another (``n_jobs=1``), in
parallel processes on this machine (``n_jobs=k`` or -1, with joblib), or on a Dask
cluster (``client=`` a ``dask.distributed.Client``).  Parameters and seeds are drawn in
the calling process from ``random_state``, so the results do not depend on the backend.
"""

from __future__ import annotations

import itertools
import math
import time

import numpy as np

from .base import check_array

__all__ = ["train_test_split", "KFold", "StratifiedKFold", "cross_val_score", "uniform",
           "log_uniform", "choice", "ModelTrial", "RandomSearch", "GridSearch",
           "coarse_to_fine", "SearchResults"]


# -- splitting -----------------------------------------------------------------------------
def _n_test(test_size, n: int) -> int:
    if isinstance(test_size, float):
        if not 0 < test_size < 1:
            raise ValueError(f"test_size must be in (0, 1) as a fraction; got {test_size!r}")
        n_test = int(math.ceil(test_size * n))
    elif isinstance(test_size, (int, np.integer)) and not isinstance(test_size, bool):
        n_test = int(test_size)
    else:
        raise ValueError(f"test_size must be a fraction in (0, 1) or a count; got "
                         f"{test_size!r}")
    if not 0 < n_test < n:
        raise ValueError(f"test_size={test_size!r} leaves {n_test} of {n} samples for "
                         "testing; both parts must be non-empty")
    return n_test


def train_test_split(*arrays, test_size=0.25, shuffle: bool = True, stratify=None,
                     random_state=None):
    """Split arrays into train and test parts: returns (a_train, a_test, b_train, ...).
    With ``stratify=y`` each class keeps its proportion in both parts.

    Parameters
    ----------
    *arrays : array-like
        Arrays of the same length, split by the same rows.
    test_size : float or int
        The test part: a fraction in (0, 1) (rounded up) or a number of rows.
    shuffle : bool
        Shuffle the rows first (else the test part is the last rows).
    stratify : array-like, optional
        Class labels whose proportions both parts keep.
    random_state : int, numpy.random.Generator or None
        Makes the random number generator of the shuffle.

    Returns
    -------
    list
        ``[a_train, a_test, b_train, b_test, ...]``.
    """
    if not arrays:
        raise ValueError("train_test_split needs at least one array")
    arrays = [np.asarray(a) for a in arrays]
    n = len(arrays[0])
    for i, a in enumerate(arrays[1:], 1):
        if len(a) != n:
            raise ValueError(f"all arrays must have the same length; arrays[0] has {n}, "
                             f"arrays[{i}] has {len(a)}")
    n_test = _n_test(test_size, n)
    rng = np.random.default_rng(random_state)
    if stratify is not None:
        labels = np.asarray(stratify)
        classes, counts = np.unique(labels, return_counts=True)
        if counts.min() < 2:
            raise ValueError(f"stratify: class {classes[np.argmin(counts)]!r} has only "
                             f"{counts.min()} member; each class needs at least 2")
        test = []
        # each class contributes its share of the test set (largest remainders first)
        shares = counts * n_test / n
        take = np.floor(shares).astype(int)
        for k in np.argsort(-(shares - take))[: n_test - take.sum()]:
            take[k] += 1
        take = np.clip(take, 1, counts - 1)
        for cls, k in zip(classes, take):
            members = np.flatnonzero(labels == cls)
            test.extend(rng.permutation(members)[:k] if shuffle else members[:k])
        test = np.sort(np.array(test))
        train = np.setdiff1d(np.arange(n), test)
        if shuffle:
            train, test = rng.permutation(train), rng.permutation(test)
    else:
        order = rng.permutation(n) if shuffle else np.arange(n)
        train, test = order[: n - n_test], order[n - n_test:]
    return [part for a in arrays for part in (a[train], a[test])]


class KFold:
    """k consecutive folds (shuffled first if ``shuffle``); each is the test set once."""

    def __init__(self, n_splits: int = 5, shuffle: bool = False, random_state=None):
        if not isinstance(n_splits, (int, np.integer)) or n_splits < 2:
            raise ValueError(f"n_splits must be an integer >= 2; got {n_splits!r}")
        self.n_splits, self.shuffle, self.random_state = n_splits, shuffle, random_state

    def _check(self, n: int) -> None:
        if self.n_splits > n:
            raise ValueError(f"n_splits={self.n_splits} is more folds than the {n} samples")

    def split(self, X, y=None):
        """(train indices, test indices) for each of the n_splits folds."""
        n = len(X)
        self._check(n)
        order = (np.random.default_rng(self.random_state).permutation(n) if self.shuffle
                 else np.arange(n))
        for test in np.array_split(order, self.n_splits):
            yield np.setdiff1d(order, test, assume_unique=True), test

    def get_n_splits(self, X=None, y=None) -> int:
        """The number of folds."""
        return self.n_splits


class StratifiedKFold(KFold):
    """k folds that keep each class's proportion: the members of every class are dealt
    round-robin to the folds."""

    def split(self, X, y):
        """(train, test) indices per fold, each fold keeping the class proportions."""
        y = np.asarray(y)
        self._check(len(y))
        classes, counts = np.unique(y, return_counts=True)
        if counts.min() < self.n_splits:
            raise ValueError(f"y: class {classes[np.argmin(counts)]!r} has {counts.min()} "
                             f"members, fewer than n_splits={self.n_splits}")
        rng = np.random.default_rng(self.random_state)
        fold_of = np.empty(len(y), dtype=int)
        for cls in classes:
            members = np.flatnonzero(y == cls)
            if self.shuffle:
                members = rng.permutation(members)
            fold_of[members] = np.arange(len(members)) % self.n_splits
        for k in range(self.n_splits):
            yield np.flatnonzero(fold_of != k), np.flatnonzero(fold_of == k)


# -- running trials on a backend ------------------------------------------------------------
def _map(fn, items: list, n_jobs=1, client=None) -> list:
    """[fn(item) for item in items], here, in joblib processes, or on a Dask cluster."""
    if client is not None:
        return client.gather(client.map(fn, items, pure=False))
    if n_jobs in (1, None) or len(items) <= 1:
        return [fn(item) for item in items]
    try:
        import joblib
    except ImportError:
        raise ImportError("n_jobs > 1 needs joblib: pip install joblib (nnlearn's parallel "
                          "extra)") from None
    return joblib.Parallel(n_jobs=n_jobs)(joblib.delayed(fn)(item) for item in items)


class ModelTrial:
    """A trial that builds a model from parameters, trains it and scores it.

    ``build_model(**params)`` returns a compiled :class:`nnlearn.Sequential`.  The model
    trains on (x, y) for ``epochs`` with a divergence guard (loss > ``divergence_factor``
    x its first value, or nan, stops the run and marks it "diverged") and is scored on
    ``validation_data`` by ``metric`` (a logged metric such as "accuracy"; "loss" is
    negated so that higher is always better).
    """

    def __init__(self, build_model, x, y, validation_data=None, validation_split=0.2,
                 epochs: int = 20, batch_size: int = 32, metric: str = "accuracy",
                 divergence_factor: float = 3.0):
        self.build_model, self.x, self.y = build_model, x, y
        self.validation_data, self.validation_split = validation_data, validation_split
        self.epochs, self.batch_size = epochs, batch_size
        self.metric, self.divergence_factor = metric, divergence_factor

    def __call__(self, params: dict) -> dict:
        from .callbacks import DivergenceGuard, StopKind

        params = dict(params)
        seed = params.pop("seed", None)
        model = self.build_model(**params)
        if seed is not None and hasattr(model, "seed") and not model.built:
            model.seed = seed
        x, y = self.x, self.y
        validation = self.validation_data
        if validation is None:
            x, x_val, y, y_val = train_test_split(x, y, test_size=self.validation_split,
                                                  random_state=seed)
            validation = (x_val, y_val)
        with np.errstate(all="ignore"):  # a diverging run may overflow on its way out
            model.fit(x, y, epochs=self.epochs, batch_size=self.batch_size, verbose=0,
                      seed=seed, callbacks=[DivergenceGuard(self.divergence_factor)])
        if model.stop_reason and model.stop_reason.kind is StopKind.DIVERGED:
            return {"score": float("nan"), "status": "diverged",
                    "message": str(model.stop_reason)}
        values = model.evaluate(*validation, return_dict=True)
        score = values[self.metric]
        if self.metric == "loss":
            score = -score
        if not math.isfinite(score):
            return {"score": float("nan"), "status": "diverged", "message": "nan score"}
        return {"score": float(score), "status": "ok"}


def _evaluate(task) -> dict:
    """Run one trial: task = (trial, params, index).  Never raises: failures become
    records with status "error"."""
    trial, params, index = task
    start = time.perf_counter()
    try:
        outcome = trial(params)
    except Exception as err:  # a crashed trial is a result too
        outcome = {"score": float("nan"), "status": "error",
                   "message": f"{type(err).__name__}: {err}"}
    if not isinstance(outcome, dict):
        score = float(outcome)
        outcome = {"score": score, "status": "ok" if math.isfinite(score) else "diverged"}
    return {"trial": index, "params": {k: v for k, v in params.items() if k != "seed"},
            "seconds": time.perf_counter() - start, **outcome}


class SearchResults(list):
    """Trial records (dicts with ``trial``, ``params``, ``score``, ``status``,
    ``seconds``), best first; ``best_params_``, ``best_score_``, ``to_dataframe()``."""

    def __init__(self, records):
        def key(r):
            ok = r["status"] == "ok" and math.isfinite(r["score"])
            return (not ok, -r["score"] if ok else 0.0, r["trial"])
        super().__init__(sorted(records, key=key))
        ok = [r for r in self if r["status"] == "ok"]
        self.best_params_ = dict(ok[0]["params"]) if ok else None
        self.best_score_ = ok[0]["score"] if ok else float("nan")

    def to_dataframe(self):
        """A pandas DataFrame, one row per trial, one column per parameter."""
        try:
            import pandas as pd
        except ImportError:
            raise ImportError("to_dataframe needs pandas: pip install pandas") from None

        return pd.DataFrame([{**r["params"], **{k: v for k, v in r.items() if k != "params"}}
                             for r in self])

    @property
    def diverged(self) -> list:
        """The trials whose training diverged."""
        return [r for r in self if r["status"] == "diverged"]


# -- search spaces -------------------------------------------------------------------------
class uniform:  # noqa: N801  (reads like scipy.stats)
    """Uniform on [low, high]."""

    def __init__(self, low: float, high: float):
        if not low < high:
            raise ValueError(f"uniform: low must be < high; got {low!r}, {high!r}")
        self.low, self.high = float(low), float(high)

    def sample(self, rng):
        """``size`` values drawn uniformly from [low, high]."""
        return float(rng.uniform(self.low, self.high))

    def narrowed(self, values):
        """The same kind of range around the best values (coarse-to-fine search)."""
        return uniform(min(values), max(values)) if max(values) > min(values) else self

    def __repr__(self):
        return f"{type(self).__name__}({self.low:g}, {self.high:g})"


class log_uniform(uniform):  # noqa: N801
    """Uniform in log space on [low, high] (search learning rates and regularization
    strengths as 10^uniform(a, b))."""

    def __init__(self, low: float, high: float):
        if not 0 < low < high:
            raise ValueError(f"log_uniform: need 0 < low < high; got {low!r}, {high!r}")
        super().__init__(low, high)

    def sample(self, rng):
        """``size`` values whose logarithm is uniform in [log low, log high]."""
        return float(math.exp(rng.uniform(math.log(self.low), math.log(self.high))))

    def narrowed(self, values):
        """The same kind of range around the best values (coarse-to-fine search)."""
        return log_uniform(min(values), max(values)) if max(values) > min(values) else self


class choice:  # noqa: N801
    """One of the given options, equally likely."""

    def __init__(self, options):
        self.options = list(options)
        if not self.options:
            raise ValueError("choice: options must not be empty")

    def sample(self, rng):
        """``size`` values drawn from the options."""
        value = self.options[rng.integers(len(self.options))]
        return value.item() if isinstance(value, np.generic) else value

    def narrowed(self, values):
        """The options that the best values use."""
        return choice(sorted(set(values), key=self.options.index))

    def __repr__(self):
        return f"choice({self.options!r})"


def _check_space(space, argument: str) -> dict:
    if not isinstance(space, dict) or not space:
        raise ValueError(f"{argument} must be a non-empty dict of parameter -> values; "
                         f"got {space!r}")
    return space


class _Search:
    def __init__(self, trial, n_jobs=1, client=None, random_state=None):
        if not callable(trial):
            raise TypeError("trial must be callable: params -> score, or a ModelTrial")
        self.trial, self.n_jobs, self.client = trial, n_jobs, client
        self.random_state = random_state

    def _candidates(self, rng) -> list:
        raise NotImplementedError

    def run(self) -> SearchResults:
        """Run every trial and return the results, best first."""
        rng = np.random.default_rng(self.random_state)
        candidates = self._candidates(rng)
        seeds = np.random.SeedSequence(self.random_state).generate_state(len(candidates))
        tasks = [(self.trial, {**params, "seed": int(seed)}, i)
                 for i, (params, seed) in enumerate(zip(candidates, seeds))]
        self.results_ = SearchResults(_map(_evaluate, tasks, self.n_jobs, self.client))
        self.best_params_, self.best_score_ = (self.results_.best_params_,
                                               self.results_.best_score_)
        return self.results_


class RandomSearch(_Search):
    """``n_iter`` trials with parameters drawn from ``space`` (name -> uniform,
    log_uniform, choice, or a fixed value).

    Random search (Bergstra & Bengio 2012) is better than a grid when only a few of the
    parameters matter: each trial tries a new value of every one.

    Parameters
    ----------
    trial : ModelTrial or callable
        Trains one model from a dict of parameters and returns its score.
    space : dict
        Parameter name -> :class:`uniform`, :class:`log_uniform`, :class:`choice` or a value.
    n_iter : int
        The number of trials.
    n_jobs : int
        Parallel processes (joblib); -1: one per CPU.
    client : dask.distributed.Client, optional
        Run the trials on a Dask cluster instead.
    random_state : int, numpy.random.Generator or None
        Makes the random number generator the parameters are drawn from.
    """

    def __init__(self, trial, space: dict, n_iter: int = 10, n_jobs=1, client=None,
                 random_state=None):
        super().__init__(trial, n_jobs, client, random_state)
        self.space = _check_space(space, "space")
        if not isinstance(n_iter, (int, np.integer)) or n_iter < 1:
            raise ValueError(f"n_iter must be a positive integer; got {n_iter!r}")
        self.n_iter = n_iter

    def _candidates(self, rng):
        return [{name: (d.sample(rng) if hasattr(d, "sample") else d)
                 for name, d in self.space.items()} for _ in range(self.n_iter)]


class GridSearch(_Search):
    """Every combination of the values listed in ``grid`` (name -> list)."""

    def __init__(self, trial, grid: dict, n_jobs=1, client=None, random_state=None):
        super().__init__(trial, n_jobs, client, random_state)
        self.grid = _check_space(grid, "grid")
        for name, values in self.grid.items():
            if not isinstance(values, (list, tuple, np.ndarray)) or len(values) == 0:
                raise ValueError(f"grid[{name!r}] must be a non-empty list; got {values!r}")

    def _candidates(self, rng):
        names = list(self.grid)
        return [dict(zip(names, combo)) for combo in itertools.product(*self.grid.values())]


def coarse_to_fine(trial, space: dict, n_coarse: int = 20, n_fine: int = 20, top: int = 5,
                   n_jobs=1, client=None, random_state=None) -> SearchResults:
    """Karpathy's CS231n recipe: a coarse random search over ``space``, then a fine one over the
    ranges spanned by the ``top`` best coarse trials.  Records carry ``stage``."""
    space = _check_space(space, "space")
    coarse = RandomSearch(trial, space, n_coarse, n_jobs, client, random_state).run()
    best = [r for r in coarse if r["status"] == "ok"][:top]
    if not best:
        raise ValueError("coarse_to_fine: every coarse trial diverged or failed; widen or "
                         "lower the search space")
    fine_space = {name: (d.narrowed([r["params"][name] for r in best])
                         if hasattr(d, "narrowed") else d) for name, d in space.items()}
    fine_seed = None if random_state is None else random_state + 1
    fine = RandomSearch(trial, fine_space, n_fine, n_jobs, client, fine_seed).run()
    records = [{**r, "stage": "coarse"} for r in coarse] + \
              [{**r, "stage": "fine", "trial": r["trial"] + n_coarse} for r in fine]
    results = SearchResults(records)
    results.fine_space = fine_space
    return results


# -- cross-validation ------------------------------------------------------------------------
class _FoldTrial:
    """Fit a fresh model on one fold's training part, score it on the rest."""

    def __init__(self, model, X, y, scoring, fit_params):
        self.model, self.X, self.y = model, X, y
        self.scoring, self.fit_params = scoring, fit_params

    def __call__(self, params):
        train, test = params["train"], params["test"]
        if hasattr(self.model, "fit"):  # an estimator: a fresh copy with the same params
            estimator = type(self.model)(**self.model.get_params())
            estimator.fit(self.X[train], self.y[train], **self.fit_params)
            return float(estimator.score(self.X[test], self.y[test]))
        model = self.model()  # a builder of compiled Sequential models
        model.fit(self.X[train], self.y[train], verbose=0, **self.fit_params)
        values = model.evaluate(self.X[test], self.y[test], return_dict=True)
        metric = self.scoring or ("accuracy" if "accuracy" in values else "loss")
        return -values["loss"] if metric == "loss" else float(values[metric])


def cross_val_score(model, X, y, cv=5, scoring=None, fit_params=None, n_jobs=1, client=None):
    """Scores of ``model`` on each fold: an estimator (fit / score / get_params) or a
    function returning a compiled Sequential (scored by ``scoring``, default accuracy,
    else minus the loss).  ``cv`` is a number of folds (stratified for classification
    labels) or a splitter.

    Parameters
    ----------
    model : estimator or callable
        An estimator, or a function returning a compiled Sequential.
    X, y : array-like
        The data.
    cv : int or splitter
        Folds (:class:`StratifiedKFold` for class labels, else :class:`KFold`) or a splitter
        with ``split(X, y)``.
    scoring : str, optional
        For a Sequential, the evaluated value a fold is scored by (default accuracy when
        compiled with it, else minus the loss).
    fit_params : dict, optional
        Keyword arguments for each fit (e.g. ``epochs``).
    n_jobs, client
        Parallel processes or a Dask client, as for :class:`RandomSearch`.

    Returns
    -------
    numpy.ndarray
        One score per fold.
    """
    X = check_array(X)
    y = np.asarray(y)
    if len(y) != len(X):
        raise ValueError(f"X and y must have the same number of samples; got {len(X)} and "
                         f"{len(y)}")
    if isinstance(cv, (int, np.integer)):
        labels = y.dtype.kind in "iubOUS"  # class labels: keep their proportions
        cv = StratifiedKFold(cv) if labels and y.ndim == 1 else KFold(cv)
    if not callable(model) and not hasattr(model, "fit"):
        raise TypeError("model must be an estimator or a function returning a compiled "
                        "Sequential")
    fit_params = dict(fit_params or {})
    fold_trial = _FoldTrial(model, X, y, scoring, fit_params)
    tasks = [(fold_trial, {"train": train, "test": test}, i)
             for i, (train, test) in enumerate(cv.split(X, y))]
    records = sorted(_map(_evaluate, tasks, n_jobs, client), key=lambda r: r["trial"])
    for r in records:
        if r["status"] == "error":
            raise RuntimeError(f"cross-validation fold {r['trial']} failed: {r['message']}")
    return np.array([r["score"] for r in records])
