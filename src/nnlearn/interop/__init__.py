"""Taking a trained nnlearn model out of Python (needs the ``onnx`` extra).

* :mod:`nnlearn.interop.onnx`: :func:`to_onnx` and :func:`save_onnx` write a model as
  an ONNX graph (the Open Neural Network Exchange format, run by onnxruntime, browsers,
  phones and C++ services); ``Model.export(path)`` and ``nnlearn export MODEL`` call them.
* :mod:`nnlearn.interop.skl2onnx`: importing it registers the estimators
  (:class:`nnlearn.estimators.MLPClassifier`, :class:`~nnlearn.estimators.MLPRegressor`)
  with skl2onnx, so that ``skl2onnx.to_onnx(estimator, X[:1])`` converts them alone or
  inside a scikit-learn pipeline.

Nothing here is imported by ``import nnlearn``: the modules import onnx (and skl2onnx)
when they are imported.
"""

from __future__ import annotations

__all__ = ["to_onnx", "save_onnx"]


def to_onnx(model, opset=None):
    """:func:`nnlearn.interop.onnx.to_onnx` (imports onnx on first use)."""
    from .onnx import to_onnx as convert

    return convert(model, opset)


def save_onnx(model, path, opset=None):
    """:func:`nnlearn.interop.onnx.save_onnx` (imports onnx on first use)."""
    from .onnx import save_onnx as save

    return save(model, path, opset)
