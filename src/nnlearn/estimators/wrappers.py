"""Any compiled nnlearn model as a scikit-learn estimator: :class:`ModelClassifier` and
:class:`ModelRegressor` (fit, predict, score, get_params and set_params, clone), for
pipelines, cross-validation and searches.
"""

from __future__ import annotations

import inspect

import numpy as np

from .. import activations as activations_module
from .. import autograd as ag
from ..base import (BaseEstimator, ClassifierMixin, RegressorMixin, validate_fit, validate_predict)
from ..models import Model
from .parameters import FLOATS, check_random_state


# -- any compiled nnlearn model as a scikit-learn estimator ------------------------------------
class _ModelWrapper(BaseEstimator):
    """Base of ModelClassifier / ModelRegressor (what scikeras's KerasClassifier does for
    Keras): ``model`` is a function returning a compiled nnlearn Model; keyword arguments
    named like its parameters are its hyperparameters (so GridSearchCV can tune them),
    and it also receives ``n_features_in`` and ``n_outputs`` (regression) or ``n_classes``
    (classification) when it takes parameters of those names."""

    _meta = ()

    def __init__(self, model=None, *, epochs=10, batch_size=32, shuffle=True,
                 validation_split=0.0, callbacks=None, verbose=0, random_state=None,
                 **model_params):
        self.model = model
        self.epochs = epochs
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.validation_split = validation_split
        self.callbacks = callbacks
        self.verbose = verbose
        self.random_state = random_state
        for name, value in model_params.items():
            setattr(self, name, value)
        self._model_params = tuple(model_params)

    def get_params(self, deep=True):
        params = {name: getattr(self, name) for name in
                  ("model", "epochs", "batch_size", "shuffle", "validation_split",
                   "callbacks", "verbose", "random_state")}
        params.update({name: getattr(self, name) for name in self._model_params})
        return params

    def set_params(self, **params):
        fixed = set(self.get_params())
        for name, value in params.items():
            if name not in fixed:
                if not self._accepts(name):
                    raise ValueError(f"Invalid parameter {name!r} for estimator "
                                     f"{type(self).__name__}(): the model function takes "
                                     "no parameter of that name.")
                self._model_params = (*self._model_params, name)
            setattr(self, name, value)
        return self

    def _accepts(self, name) -> bool:
        if self.model is None:
            return False
        parameters = inspect.signature(self.model).parameters
        return name in parameters or any(p.kind is p.VAR_KEYWORD for p in parameters.values())

    def _build_model(self, meta: dict) -> Model:
        if not callable(self.model):
            raise ValueError("model must be a function returning a compiled nnlearn model; "
                             f"got {self.model!r}")
        kwargs = {name: getattr(self, name) for name in self._model_params}
        parameters = inspect.signature(self.model).parameters
        kwargs.update({k: v for k, v in meta.items() if k in parameters})
        model = self.model(**kwargs)
        if not isinstance(model, Model) or model.loss is None:
            raise ValueError("model must return a compiled nnlearn Model (call "
                             "model.compile(optimizer, loss) in the function)")
        if not model.built:
            model.build((meta["n_features_in"],))
        return model

    def _train(self, X, targets, model):
        seed = None if self.random_state is None else int(
            check_random_state(self.random_state).randint(2**31 - 1))
        self.model_ = model
        if self.model_.seed is None and seed is not None and not self.model_.built:
            self.model_.seed = seed
        X = X.astype(self.model_.dtype, copy=False)
        self.history_ = self.model_.fit(
            X, targets, epochs=self.epochs, batch_size=min(self.batch_size, len(X)),
            shuffle=self.shuffle, validation_split=self.validation_split,
            callbacks=list(self.callbacks or []), verbose=self.verbose, seed=seed)
        return self

    def _outputs(self, X):
        X = validate_predict(self, X, "model_", dtype=FLOATS, accept_sparse=True)
        return self.model_.predict(X.astype(self.model_.dtype, copy=False)).astype(
            np.float64).reshape(len(X), -1)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = self.random_state is None
        tags.input_tags.sparse = True
        return tags


#: The constructor parameters of ModelClassifier and ModelRegressor (one text for both).
_MODEL_WRAPPER_PARAMETERS = """
    Parameters
    ----------
    model : callable
        A function returning a compiled nnlearn model. It receives the keyword
        arguments named like its parameters (the hyperparameters below), and
        ``n_features_in`` and ``n_classes`` (classifier) or ``n_outputs`` (regressor)
        when it takes parameters of those names.
    epochs : int, default=10
        The passes over the training data in ``fit``.
    batch_size : int, default=32
        Samples per minibatch (at most the number of samples).
    shuffle : bool, default=True
        Whether the samples are shuffled at each epoch.
    validation_split : float, default=0.0
        The share of the training data held out to report validation metrics, as
        ``Model.fit(validation_split=...)`` does.
    callbacks : list of nnlearn Callback, default=None
        Callbacks passed to ``Model.fit``.
    verbose : int, default=0
        ``Model.fit``'s progress output: 0 silent, 1 a progress bar, 2 a line per epoch.
    random_state : int, RandomState or None, default=None
        The source of the model's seed (initial weights, shuffling, dropout masks); an
        int gives reproducible fits.
    **model_params
        The model function's hyperparameters (``units=32``): estimator parameters
        that ``get_params`` reports and ``GridSearchCV`` can tune.
"""


class ModelClassifier(ClassifierMixin, _ModelWrapper):
    __doc__ = ("""Any function building a compiled nnlearn classifier as a scikit-learn classifier::

        def build(n_features_in, n_classes, units=32):
            model = nl.Sequential([nl.layers.Input(n_features_in),
                                   nl.layers.Dense(units, activation="relu"),
                                   nl.layers.Dense(n_classes, activation="softmax")])
            model.compile("adam", loss="sparse_categorical_crossentropy")
            return model

        GridSearchCV(ModelClassifier(build, units=32, epochs=20), {"units": [16, 64]})

    The targets given to the model follow its loss: class indices for a sparse loss,
    one-hot rows for a categorical one, a 0/1 column for a single output.  The outputs
    are read as probabilities (softmax / sigmoid applied when the loss takes logits).
    """ + _MODEL_WRAPPER_PARAMETERS)

    def fit(self, X, y):
        """Build the model for (X, y) and train it; returns self."""
        X, y = validate_fit(self, X, y, dtype=FLOATS, accept_sparse=True)
        self.classes_, index = np.unique(y, return_inverse=True)
        meta = {"n_features_in": X.shape[1], "n_classes": len(self.classes_)}
        model = self._build_model(meta)
        return self._train(X, self._targets_for(model, index), model)

    def _targets_for(self, model, index):
        if model.output_units == 1:
            return index.astype(np.float64)
        if model.loss.targets == "one_hot":
            return np.eye(len(self.classes_))[index]
        return index

    def predict_proba(self, X):
        """Class probabilities, columns in the order of ``classes_`` (the model's
        outputs, through softmax or sigmoid when its loss takes logits)."""
        output = self._outputs(X)
        if self.model_.loss.from_logits:
            output = (activations_module.sigmoid if output.shape[1] == 1 else
                      activations_module.softmax)(ag.Tensor(output)).data
        if output.shape[1] == 1:
            return np.hstack([1 - output, output])
        return output

    def predict(self, X):
        """The most probable class of each sample, as a label of ``classes_``."""
        probabilities = self.predict_proba(X)
        if len(self.classes_) == 1:
            return np.repeat(self.classes_, len(probabilities))
        return self.classes_[np.argmax(probabilities, axis=1)]


class ModelRegressor(RegressorMixin, _ModelWrapper):
    __doc__ = ("""Any function building a compiled nnlearn regressor as a scikit-learn
    regressor (the model function may take ``n_features_in`` and ``n_outputs``).

    A float32 model's outputs may differ in their last bits with the rows predicted
    together (the BLAS's kernels sum in an order that depends on the number of rows:
    1-3 ulps with OpenBLAS on an AMD EPYC); scikit-learn's ``check_estimator`` asks for
    the same outputs to 1e-7 on a subset of the rows, which a model built in float64
    (``dtype="float64"``) meets.
    """ + _MODEL_WRAPPER_PARAMETERS)

    def fit(self, X, y):
        """Build the model for (X, y) and train it; returns self."""
        X, y = validate_fit(self, X, y, dtype=FLOATS, multi_output=True, accept_sparse=True)
        y = np.asarray(y, dtype=np.float64)
        self._single_output = y.ndim == 1
        meta = {"n_features_in": X.shape[1], "n_outputs": 1 if y.ndim == 1 else y.shape[1]}
        return self._train(X, y, self._build_model(meta))

    def predict(self, X):
        """The model's outputs (a vector when fit was given one target column)."""
        output = self._outputs(X)
        return output[:, 0] if self._single_output else output

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags
