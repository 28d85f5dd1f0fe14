"""Small helpers shared by users and the library."""

from __future__ import annotations

import platform

import numpy as np

__all__ = ["to_categorical", "environment"]


def to_categorical(y, num_classes: int | None = None, dtype="float32") -> np.ndarray:
    """One-hot rows for integer class labels (Keras's ``to_categorical``):
    label k becomes a row of zeros with a 1 at position k."""
    y = np.asarray(y)
    if y.ndim > 1 and y.shape[-1] == 1:
        y = y[..., 0]
    labels = y.astype(np.intp)
    if y.dtype.kind not in "iuf" or not np.array_equal(labels, y):
        raise ValueError(f"y must hold integer class labels; got dtype {y.dtype}")
    if labels.size and labels.min() < 0:
        raise ValueError(f"y: class labels must be >= 0; got {labels.min()}")
    n = int(labels.max()) + 1 if num_classes is None else int(num_classes)
    if labels.size and labels.max() >= n:
        raise ValueError(f"y: label {labels.max()} does not fit num_classes={n}")
    return np.eye(n, dtype=dtype)[labels]


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _blas() -> str:
    """The BLAS library NumPy calls, its CPU kernel and threads (threadpoolctl when
    installed; else the library's name from NumPy's build configuration)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        try:
            config = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
            return f"{config.get('name', '?')} {config.get('version', '')}".strip()
        except Exception:  # noqa: BLE001  (an old NumPy without mode="dicts")
            return "unknown"
    pools = [p for p in threadpool_info() if p.get("user_api") == "blas"]
    return "; ".join(f"{p['internal_api']} {p['version']} ({p.get('architecture')} kernel, "
                     f"{p['num_threads']} threads)" for p in pools) or "unknown"


def environment() -> dict:
    """What a timing depends on: versions, the CPU, the BLAS kernel, the backend of
    nnlearn's element-wise kernels (numba with the ``fast`` extra, else NumPy) and
    whether a Dense stack's step can run compiled (:mod:`nnlearn.lowering.dense_step`)."""
    import os

    from .lowering import loops
    from ._version import __version__

    backend = loops.backend()
    if backend == "numba":
        import numba

        backend = f"numba {numba.__version__}"
    from .lowering.planner import compiled_step_unavailable, conv_loops_enabled

    why_not = compiled_step_unavailable()
    return {"nnlearn": __version__, "python": platform.python_version(),
            "numpy": np.__version__, "kernels": backend,
            "dense step": "compiled (nnlearn.lowering.dense_step)" if why_not is None
            else f"engine ({why_not})",
            "conv loops": "numba" if conv_loops_enabled() else "NumPy",
            "cpu": _cpu_model(), "cores": os.cpu_count(), "blas": _blas()}
