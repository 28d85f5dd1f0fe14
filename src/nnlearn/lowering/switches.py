"""The switches that allow or forbid each fast path (a *lowering* that
:mod:`nnlearn.lowering.planner` may choose), one per path, each on its own.

Each environment variable is read once, when first needed:

==========================  =======================  ==========================================
environment variable        :func:`settings` name    what it switches
==========================  =======================  ==========================================
``NNLEARN_KERNELS``         ``kernels``              element-wise rules: "numba" or "numpy"
``NNLEARN_COMPILED_STEP``   ``compiled_step``        the compiled Dense step: "auto" or "off"
``NNLEARN_CONV_LOOPS``      ``conv_loops``           numba loops in convolutions: "auto"/"off"
``NNLEARN_RECURRENT_CELL``  ``recurrent_cell``       the compiled recurrent cell: "auto"/"off"
``NNLEARN_HEAP``            (none)                   glibc keeps freed blocks: "auto"/"off"
==========================  =======================  ==========================================

``with nnlearn.lowering.planner.settings(kernels="numpy", compiled_step=False):`` sets any of them
for a block (in this thread or task).  ``NNLEARN_HEAP`` has no :func:`settings` name: the
heap's thresholds are the process's and cannot be restored once set
(:mod:`nnlearn.lowering.heap`).

They live below the engine and the planner (both read them), so that neither imports the
other.
"""

from __future__ import annotations

import contextlib
import contextvars
import os

from . import loops


__all__ = ["settings", "compiled_step_enabled", "conv_loops_enabled", "recurrent_cell_enabled",
           "heap_policy_enabled"]

_compiled_step = contextvars.ContextVar("nnlearn_compiled_step", default=None)
_conv_loops = contextvars.ContextVar("nnlearn_conv_loops", default=None)
_recurrent_cell = contextvars.ContextVar("nnlearn_recurrent_cell", default=None)


_environment: dict = {}  # variable -> its switch, read once (tests clear it)


def _switch(variable: str) -> bool:
    if variable not in _environment:
        value = os.environ.get(variable, "auto").strip().lower() or "auto"
        if value not in ("auto", "off", "on"):
            raise ValueError(f"{variable} must be 'auto', 'on' or 'off'; got {value!r}")
        _environment[variable] = value != "off"
    return _environment[variable]


def compiled_step_enabled() -> bool:
    """Whether the compiled Dense step may be chosen (``NNLEARN_COMPILED_STEP`` or
    :func:`settings`)."""
    chosen = _compiled_step.get()
    if chosen is None:
        chosen = _environment.get("NNLEARN_COMPILED_STEP")  # (read every step: no call)
        return _switch("NNLEARN_COMPILED_STEP") if chosen is None else chosen
    return chosen


def conv_loops_enabled() -> bool:
    """Whether convolutions and pooling may use their numba loops (``NNLEARN_CONV_LOOPS``
    or :func:`settings`; numba must be installed)."""
    chosen = _conv_loops.get()
    enabled = _switch("NNLEARN_CONV_LOOPS") if chosen is None else chosen
    return enabled and "numba" in loops.available_backends()


def recurrent_cell_enabled() -> bool:
    """Whether the fused recurrent ops may run their steps in the compiled cell
    (``NNLEARN_RECURRENT_CELL`` or :func:`settings`)."""
    chosen = _recurrent_cell.get()
    return _switch("NNLEARN_RECURRENT_CELL") if chosen is None else chosen


def heap_policy_enabled() -> bool:
    """Whether a model may set glibc's heap thresholds for the process (``NNLEARN_HEAP``;
    :mod:`nnlearn.lowering.heap`)."""
    return _switch("NNLEARN_HEAP")


@contextlib.contextmanager
def settings(kernels: str | None = None, compiled_step: bool | None = None,
             conv_loops: bool | None = None, recurrent_cell: bool | None = None):
    """``with settings(...):`` the switches of the module for a block: ``kernels``
    ("numba" or "numpy"), ``compiled_step``, ``conv_loops`` and ``recurrent_cell``
    (True/False); None leaves one as it is."""
    for name, value in (("compiled_step", compiled_step), ("conv_loops", conv_loops),
                        ("recurrent_cell", recurrent_cell)):
        if value is not None and not isinstance(value, bool):
            raise TypeError(f"settings: {name} must be True, False or None; got {value!r}")
    using = loops.use(kernels) if kernels is not None else contextlib.nullcontext()
    tokens = [(variable, variable.set(value)) for variable, value in
              ((_compiled_step, compiled_step), (_conv_loops, conv_loops),
               (_recurrent_cell, recurrent_cell)) if value is not None]
    try:
        with using:
            yield
    finally:
        for variable, token in reversed(tokens):
            variable.reset(token)
