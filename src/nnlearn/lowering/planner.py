"""The plan of a training step: one place decides how each part of a model's step runs,
and says why.

A step has parts that can run more than one way, each a *lowering* of the same
declarations (the activations' element rules, the loss's head, the optimizer's rule):

* **gradients**: the engine (:mod:`nnlearn.autograd`: a graph of the forward pass walked
  back; always correct, any model) or the compiled Dense step (:mod:`nnlearn.lowering.dense_step`:
  one numba function for a stack of Dense layers whose loss has a canonical link);
* **updates**: the optimizer's element-wise rule run by numba loops or by NumPy
  (:mod:`nnlearn.lowering.loops`), its own ``update()`` per parameter, or a method that calls
  the loss itself (line searches, Levenberg-Marquardt);
* **convolution and pooling**: numba loops (im2col's tap copies, col2im's adds, max
  pooling and its gradient: :mod:`nnlearn.lowering._conv_loops`) or NumPy's strided
  passes (:mod:`nnlearn.autograd.conv`), the same numbers either way;
* **predict**: the engine's forward pass, or the forward part of the fused Dense step
  (:class:`nnlearn.lowering.dense_step.DenseForward`) for a stack of Dense layers whose
  hidden activations are not costly (:func:`compiled_forward`);
* **recurrent layers**: one fused op with its backpropagation through time, or the
  graph of every step unrolled (:mod:`nnlearn.autograd.recurrent`); the fused op's steps
  run as one compiled loop per sequence batch (:mod:`nnlearn.lowering.recurrent_cell`: the
  activations' rules with float32 exp and tanh lowered to :mod:`nnlearn.lowering.fastmath`) or as
  NumPy passes, and the BLAS runs a loop of small per-step products on one thread
  (:func:`recurrent_threads`), the compiled loop on groups of the batch's sequences side
  by side, one thread each (:func:`recurrent_parts`);
* **heap**: glibc's thresholds set so that the step's large temporaries stay mapped
  between batches (:mod:`nnlearn.lowering.heap`), or the C library's defaults.

:func:`plan` returns a :class:`StepPlan` listing every part with the choice and the
reason; :meth:`StepPlan.explain` prints it (``nnlearn info MODEL``, ``fit(verbose=2)``,
``nnlearn demo``).  The choices depend on the switches below, on what is installed and on
the model; the batch size only moves a Dense stack with costly activations back to the
engine for large batches (NumPy's vectorized functions are faster there).

The switches that allow or forbid each lowering are in :mod:`nnlearn.lowering.switches`
(``NNLEARN_KERNELS``, ``NNLEARN_COMPILED_STEP``, ``NNLEARN_CONV_LOOPS``,
``NNLEARN_RECURRENT_CELL``, ``NNLEARN_HEAP`` and :func:`settings`, re-exported here).
"""

from __future__ import annotations

import weakref

import numpy as np

from . import blas, heap, loops
from .recurrent_cell import (PART_ROWS, SMALL_PRODUCT, recurrent_cell_reason, recurrent_parts,
                             recurrent_threads)
from .switches import compiled_step_enabled, conv_loops_enabled, settings

__all__ = ["plan", "settings", "StepPlan", "Part", "compiled_step_enabled",
           "conv_loops_enabled", "compiled_step_unavailable", "compiled_gradients",
           "recurrent_cell_reason", "recurrent_threads", "recurrent_parts", "compiled_forward",
           "step_threads"]


class Part:
    """One part of a step: what it is, how it runs, and why."""

    def __init__(self, part: str, choice: str, reason: str):
        self.part, self.choice, self.reason = part, choice, reason

    def __repr__(self):
        return f"Part({self.part!r}, {self.choice!r}, {self.reason!r})"


class StepPlan:
    """How a model's training step runs: ``parts`` (a list of :class:`Part`) and, when
    the gradients are compiled, the :class:`~nnlearn.lowering.dense_step.DenseStepGradients` that
    computes them (``gradients``; None on the engine)."""

    def __init__(self, parts: list, gradients=None):
        self.parts, self.gradients = parts, gradients

    @property
    def compiled(self) -> bool:
        """Whether the gradients run compiled."""
        return self.gradients is not None

    def explain(self) -> str:
        """One line per part: ``part: choice (reason)``."""
        width = max(len(p.part) for p in self.parts) + 1
        return "\n".join(f"{(p.part + ':').ljust(width)} {p.choice} ({p.reason})"
                         for p in self.parts)

    def __repr__(self):
        return f"StepPlan({self.parts!r})"


# -- gradients ------------------------------------------------------------------------------
def compiled_step_unavailable() -> str | None:
    """Why no model's step can run compiled here, or None."""
    if not compiled_step_enabled():
        return "the compiled step is switched off (NNLEARN_COMPILED_STEP=off or settings)"
    if "numba" not in loops.available_backends():
        return "numba is not installed (the fast extra)"
    from .dense_step import scipy_importable, numpy_gemm

    if numpy_gemm(np.float64) is None and not scipy_importable():
        return ("SciPy is not installed (numba's matrix product needs it with this build "
                "of NumPy)")
    return None


def _head_or_reason(model):
    """The loss's Head for the model's output, or the reason there is none."""
    own = model.own_step_methods()
    if own:
        return None, f"{type(model).__name__} defines its own {', '.join(own)}"
    head = model.loss.head(model.output_activation, model.output_units)
    if head is None:
        return None, (f"the loss {model.loss.name} after the "
                      f"{model.output_activation or 'custom'} output has no compiled head "
                      "(softmax + cross-entropy, sigmoid + binary cross-entropy, linear + mean "
                      "squared error, as the loss's own class declares them)")
    return head, None


def _dense_stack_reason(model):
    """(Dense layers, None) when the model is a stack the compiled step takes (each
    layer says so: :meth:`Layer.compiled_step_reason <nnlearn.layers.Layer.compiled_step_reason>`),
    else (None, reason)."""
    from .. import layers as layers_module

    if np.dtype(model.dtype) not in (np.dtype(np.float32), np.dtype(np.float64)):
        return None, f"the model computes in {np.dtype(model.dtype)} (float32 and float64 compile)"
    if not model.built:
        return None, "the model is not built yet (its first batch builds it)"
    chain_reason = getattr(model, "chain_reason", None)  # a functional model's graph
    if chain_reason is not None and chain_reason() is not None:
        return None, (f"{chain_reason()}: the compiled Dense step takes a plain chain of "
                      "layers; the engine evaluates the graph")
    stack = [layer for layer in model.layers if not isinstance(layer, layers_module.Input)]
    if not stack:
        return None, "the model has no layers"
    if any(type(layer) is not layers_module.Dense for layer in stack):
        others = sorted({type(layer).__name__ for layer in stack
                         if type(layer) is not layers_module.Dense})
        return None, f"the model is not a stack of Dense layers ({', '.join(others)})"
    if len({id(layer) for layer in stack}) < len(stack):
        return None, "a Dense layer appears twice (shared weights: the engine adds their " \
            "gradients)"
    for i, layer in enumerate(stack, 1):
        reason = layer.compiled_step_reason(last=i == len(stack))
        if reason is not None:
            return None, f"Dense layer {i}: {reason}"
    return stack, None


def _gradients_part(model):
    """(Part, DenseStepGradients or None) for the gradients."""
    reason = compiled_step_unavailable()
    stack = head = None
    if reason is None:
        stack, reason = _dense_stack_reason(model)
    if reason is None:
        head, reason = _head_or_reason(model)
    if reason is not None:
        return Part("gradients", "engine", reason), None
    from .dense_step import DenseStepGradients

    gradients = DenseStepGradients(model, stack, head)
    names = [model.loss.name, head.link]
    return Part("gradients", "compiled Dense step",
                f"{len(stack)} Dense layers, {names[0]} through its {names[1]} link; "
                f"batches over {gradients.largest_batch} samples on the engine"), gradients


_cache: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # model -> (key, gradients)


def compiled_gradients(model, x):
    """The compiled gradients for the batch ``x`` (the per-step lookup of
    :meth:`Model.train_step <nnlearn.models.Model.train_step>`), or None when the engine
    computes them: the plan's choice, samples of more than one axis, or a batch larger
    than ``DenseStepGradients.largest_batch``.  Cached per model, for its loss, optimizer,
    layers and the switch (this runs every step: the key is built inline)."""
    if (x.ndim if type(x) is np.ndarray else np.ndim(x)) != 2:
        return None
    key = (model.loss, model.optimizer, model.built, len(model.layers),
           compiled_step_enabled())
    cached = _cache.get(model)
    if cached is not None and cached[0] == key and \
            (cached[1] is None or cached[1].still_fits(model)):
        gradients = cached[1]
    else:
        gradients = _gradients_part(model)[1] if model.loss is not None else None
        if gradients is not None:
            gradients.reuse = _one_gradient_per_step(model.optimizer)
        _cache[model] = (key, gradients)
    if gradients is None or not 0 < len(x) <= gradients.largest_batch:
        return None
    return gradients


def forget(model) -> None:
    """Drop ``model``'s cached choice (after its loss or layers changed in place)."""
    _cache.pop(model, None)
    _forward_cache.pop(model, None)
    model.__dict__.pop(_STEP_SHAPES, None)


# -- BLAS threads ---------------------------------------------------------------------------
#: where _step_shapes keeps its answer: on the model itself (a dict lookup, where a
#: weak-keyed table costs ~0.5 us, 3% of the XOR network's step)
_STEP_SHAPES = "_planner_step_shapes"


def _step_shapes(model) -> tuple:
    """(the entries of the model's largest kernel when every layer with parameters is a
    Dense layer (each product of its step is then a batch times a kernel), else None;
    the threads chosen per batch size so far).  Cached per model, built state and
    number of layers."""
    key = (model.built, len(model.layers))
    cached = model.__dict__.get(_STEP_SHAPES)
    if cached is not None and cached[0] == key:
        return cached[1]
    from .. import layers as layers_module

    largest = None
    if model.built:
        sizes = [layer.kernel.data.size if type(layer) is layers_module.Dense else None
                 for layer in model.layers if layer.params]
        largest = max(sizes) if sizes and None not in sizes else None
    shapes = (largest, {})
    model.__dict__[_STEP_SHAPES] = (key, shapes)  # (not a tracked attribute)
    return shapes


def step_threads(model, n: int) -> int | None:
    """The BLAS threads for a training step of ``model`` on a batch of ``n`` (the
    per-step lookup of :meth:`Model.train_step <nnlearn.models.Model.train_step>`): 1
    when the model is Dense layers and parameter-free layers whose largest product,
    n x its largest kernel, is small (:func:`nnlearn.lowering.blas.step_threads`),
    else None (the BLAS's own count).  The same for the engine and the compiled step,
    and for data in memory or read from a file.  Cached per batch size (this runs every
    step: a microsecond matters to the XOR network's 17 us step)."""
    largest, chosen = _step_shapes(model)
    threads = chosen.get(n, 0)
    if threads == 0:
        threads = chosen[n] = None if largest is None else \
            blas.step_threads(n * largest, np.dtype(model.dtype).itemsize)
    return threads


def _threads_part(model, batch_size: int | None):
    largest = _step_shapes(model)[0]
    if largest is None:
        return None
    if batch_size is None:
        return Part("BLAS threads", "1 thread for a step of small products",
                    f"where batch x largest kernel ({largest:,} entries) is at most "
                    f"{blas.SMALL_STEP_PRODUCT:,} multiply-adds (float32; half in float64): "
                    "two threads gain nothing there")
    size = batch_size * largest
    if step_threads(model, batch_size) == 1:
        return Part("BLAS threads", "1 thread for the step",
                    f"its largest product ({size:,} multiply-adds) is small: two threads "
                    "gain nothing there")
    return Part("BLAS threads", "BLAS's own threads",
                f"its largest product has {size:,} multiply-adds"
                + (" (OpenBLAS keeps it on one thread)"
                   if size <= blas.OPENBLAS_ONE_THREAD else ""))


# -- predict -------------------------------------------------------------------------------
def _forward_reason(model) -> str | None:
    """Why ``predict`` runs the engine rather than the compiled Dense forward, or None."""
    from .. import activations
    from .dense_step import activation_code

    reason = compiled_step_unavailable()
    if reason is not None:
        return reason
    own = model.own_step_methods(("call", "predict_step", "__call__"))
    if own:
        return f"{type(model).__name__} defines its own {', '.join(own)}"
    stack, reason = _dense_stack_reason(model)
    if reason is not None:
        return reason
    last = stack[-1].activation
    if last is not activations.softmax and activation_code(last) is None:
        return f"the output activation {last!r} has no compiled form"
    costly = [i for i, layer in enumerate(stack[:-1], 1) if layer.activation.costly]
    if costly:
        return (f"hidden Dense layer {costly[0]} has a costly activation "
                f"({stack[costly[0] - 1].activation.name}: numba calls the C library one "
                "element at a time, NumPy's vectorized functions are faster)")
    return None


_forward_cache: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def compiled_forward(model, x):
    """The compiled forward of ``model``'s Dense stack for ``predict``'s batch ``x``
    (:class:`nnlearn.lowering.dense_step.DenseForward`), or None when the engine computes the
    outputs (:func:`_forward_reason`; samples of more than one axis).  Cached per model,
    for its layers and the switch."""
    if np.ndim(x) != 2:
        return None
    key = (model.built, len(model.layers), compiled_step_enabled())
    cached = _forward_cache.get(model)
    if cached is not None and cached[0] == key and \
            (cached[1] is None or cached[1].still_fits(model)):
        return cached[1]
    forward = None
    if _forward_reason(model) is None:
        from .dense_step import DenseForward

        forward = DenseForward(model, _dense_stack_reason(model)[0])
    _forward_cache[model] = (key, forward)
    return forward


def _predict_part(model) -> Part:
    reason = _forward_reason(model)
    if reason is None:
        return Part("predict", "compiled Dense forward",
                    "the forward part of the compiled step, one numba call per batch")
    return Part("predict", "engine", reason)


# -- updates -------------------------------------------------------------------------------
def _one_gradient_per_step(optimizer) -> bool:
    """Whether the optimizer evaluates the gradient once per step and is done with it by
    the next (the library's rules): the compiled step may then reuse its arrays."""
    return optimizer.update_kind() == "rule"


def _updates_part(model) -> Part:
    optimizer = model.optimizer
    name = type(optimizer).__name__
    kind = optimizer.update_kind()
    if kind == "method":
        what = ("the full batch's loss" if optimizer.full_batch else "the loss")
        return Part("updates", f"{name}'s own method",
                    f"it evaluates {what} itself (line search, trust region)")
    if kind == "update":
        return Part("updates", f"{name}.update per parameter",
                    "its rule is not an element-wise kernel")
    backend = loops.backend()
    dtype = np.dtype(model.dtype)
    chain = optimizer.describe()  # its transforms, fused into one kernel where element-wise
    if backend == "numba" and dtype in (np.dtype(np.float32), np.dtype(np.float64)):
        return Part("updates", f"{name}'s rule, numba loops",
                    f"{chain} fused into one compiled call over all {len(model.params)} "
                    "parameter arrays")
    why = ("NNLEARN_KERNELS=numpy or settings(kernels='numpy')"
           if "numba" in loops.available_backends() else "numba is not installed")
    if backend == "numba":
        why = f"{dtype} has no compiled loop"
    return Part("updates", f"{name}'s rule, NumPy",
                f"{why}; {chain} fused into one pass per parameter")


# -- layers ---------------------------------------------------------------------------------
def _layer_parts(model, batch_size: int | None = None) -> list:
    from .. import layers as layers_module

    parts = []
    conv = [layer for layer in model.layers if isinstance(layer, (layers_module.BaseConv,
                                                                  layers_module.BasePooling))]
    if conv:
        if conv_loops_enabled():
            parts.append(Part("convolution", "numba loops (im2col, col2im, max pooling)",
                              f"{len(conv)} convolution and pooling layers; the same copies "
                              "and sums as NumPy's strided passes, in one compiled pass each"))
        else:
            why = ("numba is not installed" if "numba" not in loops.available_backends()
                   else "NNLEARN_CONV_LOOPS=off or settings(conv_loops=False)")
            parts.append(Part("convolution", "NumPy strided passes", why))
    for layer in model.layers:
        fused = getattr(layer, "fused", None)
        if fused is None or not callable(fused):
            continue
        name = type(layer).__name__
        if fused() and getattr(layer, "reset_after", True):  # GRU: reset after U only
            why = recurrent_cell_reason(model.dtype)
            steps = ("compiled cell (numba), one call per batch of sequences each way"
                     if why is None else "NumPy passes per step")
            parts.append(Part(f"recurrent {name}",
                              f"fused op, backpropagation through time; {steps}",
                              "its activations have derivatives from their outputs"
                              + ("" if why is None else f"; steps in NumPy: {why}")))
            if batch_size is None:
                parts.append(Part(f"recurrent {name} threads",
                                  "BLAS on 1 thread around the steps of small batches",
                                  f"where batch x units x gates x units <= {SMALL_PRODUCT:,}"
                                  " multiply-adds per step"))
            else:
                gates = {"LSTM": 4, "GRU": 3}.get(name, 1)
                threads = recurrent_threads(batch_size, layer.units, gates)
                groups = recurrent_parts(batch_size, layer.units, gates) if why is None \
                    else 1
                how = "BLAS on 1 thread around the steps" if threads == 1 \
                    else "BLAS's own threads"
                if groups > 1:
                    how += (f"; the batch's sequences in {groups} groups of rows side by "
                            "side, one thread each")
                parts.append(Part(f"recurrent {name} threads", how,
                                  f"each step multiplies ({batch_size}, {layer.units}) by "
                                  f"({layer.units}, {gates * layer.units}): "
                                  + ("small" if threads == 1 else "large enough to split")
                                  + (f"; {groups} BLAS threads allowed, at least "
                                     f"{PART_ROWS} sequences a group" if groups > 1 else "")))
        else:
            parts.append(Part(f"recurrent {name}", "unrolled graph, one node per step",
                              "an activation without a fused derivative" if not fused()
                              else "reset_after=False (the fused GRU resets after U)"))
    return parts


def plan(model, batch_size: int | None = None) -> StepPlan:
    """The :class:`StepPlan` of ``model``'s training step (compiled with a loss and an
    optimizer; built, or its Dense stack cannot be judged yet).  ``batch_size`` adds
    whether batches of that size stay on the compiled step."""
    if model.loss is None:
        raise RuntimeError("plan: call model.compile(optimizer, loss) first")
    part, gradients = _gradients_part(model)
    if gradients is not None and batch_size is not None and \
            batch_size > gradients.largest_batch:
        part = Part("gradients", "engine",
                    f"batches of {batch_size} exceed the compiled step's "
                    f"{gradients.largest_batch} (NumPy's vectorized activations are faster)")
        gradients = None
    loss = Part("loss", f"{model.loss.name}",
                "fused with the output activation, from the logits"
                if model.fused_loss is not None else "computed on the outputs")
    if len(getattr(model, "outputs", ())) > 1:  # a functional model's outputs
        terms = [f"{w:g} * {item.name}({name})" for name, item, w in
                 zip(model.output_names, model.output_losses, model.loss_weights) if item]
        loss = Part("loss", " + ".join(terms), "the weighted sum of the outputs' losses "
                    "(loss_weights), each fused with its output's activation where it can")
    threads = _threads_part(model, batch_size)
    return StepPlan([part, loss, _updates_part(model), *_layer_parts(model, batch_size),
                     *([threads] if threads else []), _predict_part(model),
                     Part("heap", *heap.heap_policy())], gradients)
