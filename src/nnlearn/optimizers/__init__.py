r"""Optimizers: update rules applied in place to parameter arrays.

The package, layer by layer:

* :mod:`.transforms`: the contract every first-order rule is built on, optax's
  (Babuschkin et al. 2020): a transform with ``init(params) -> state`` and
  ``update(grads, state, params) -> updates``, combined by :func:`chain`; the learning
  rate (:func:`scale_by_learning_rate`, a number or a schedule of
  :mod:`nnlearn.schedules`), decoupled weight decay (:func:`add_decayed_weights`,
  Loshchilov & Hutter 2019) and clipping (:func:`clip`, :func:`clip_by_norm`,
  :func:`clip_by_global_norm`; Pascanu, Mikolov & Bengio 2013) are transforms of their
  own.  Element-wise transforms declare their rule once, as its equation; a chain of them
  runs as one fused :mod:`nnlearn.lowering.loops` loop.
* :mod:`.rules`: each first-order rule as a transform with its state (momentum, Adagrad,
  Adadelta, RMSprop, Adam/AMSGrad, Nadam).
* :mod:`.first_order`: the Keras-style classes (``SGD``, ``Adam``, ``AdamW``, ...), each a
  chain, and the :class:`Optimizer` contract the training step calls
  (``minimize(params, closure)``, ``apply(params)``, ``full_batch``, the state saved in
  model files).
* :mod:`.objective`, :mod:`.line_search`, :mod:`.full_batch`, :mod:`.least_squares`,
  :mod:`.sign_rules`: the full-batch methods (L-BFGS, conjugate gradient,
  Levenberg-Marquardt, Rprop, iRprop+, Quickprop), which take an explicit
  :class:`Objective` (loss and gradient; residuals for least squares).
* :mod:`.registry`: :func:`get` and :func:`serialize` by name.

``compare`` (the experiment harness) lives in :mod:`nnlearn.experiments.compare`.
"""

from .first_order import (SGD, SGDW, Adadelta, Adagrad, Adam, AdamW, FromTransform, Nadam,
                          Optimizer, RMSprop)
from .full_batch import LBFGS, ConjugateGradient, FullBatchMethod
from .least_squares import LevenbergMarquardt, jacobian, least_squares_residuals
from .line_search import strong_wolfe_line_search
from .objective import Objective
from .registry import OPTIMIZERS, get, serialize
from .rules import (scale_by_adadelta, scale_by_adagrad, scale_by_adam, scale_by_momentum,
                    scale_by_nadam, scale_by_rms)
from .sign_rules import IRpropPlus, Quickprop, Rprop
from .transforms import (Chain, ElementwiseTransform, GradientClipping, State, Transform,
                         add_decayed_weights, apply_updates, chain, clip, clip_by_global_norm,
                         clip_by_norm, scale_by_learning_rate)

__all__ = ["OPTIMIZERS", "Optimizer", "FromTransform", "GradientClipping", "SGD", "SGDW",
           "Adagrad", "Adadelta", "RMSprop", "Adam", "AdamW", "Nadam", "LBFGS",
           "ConjugateGradient", "LevenbergMarquardt", "Rprop", "IRpropPlus",
           "Quickprop", "FullBatchMethod", "Objective", "strong_wolfe_line_search",
           "jacobian", "least_squares_residuals", "get", "serialize", "compare",
           "Transform", "ElementwiseTransform", "State", "Chain", "chain",
           "apply_updates", "scale_by_learning_rate", "add_decayed_weights", "clip",
           "clip_by_norm", "clip_by_global_norm", "scale_by_momentum",
           "scale_by_adagrad", "scale_by_adadelta", "scale_by_rms", "scale_by_adam",
           "scale_by_nadam"]


def __getattr__(name):
    """``compare``, imported from :mod:`nnlearn.experiments.compare` when first asked for
    (the experiments import the optimizers)."""
    if name == "compare":
        from ..experiments.compare import compare
        return compare
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
