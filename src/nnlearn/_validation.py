"""The argument checks of the whole library, in one place (NumPy only, so that importing
the Keras-style model never imports scikit-learn).  Each raises at the public boundary
with the argument's name, what was expected and what was given."""

from __future__ import annotations

import difflib
import functools
import inspect

import numpy as np

__all__ = ["all_finite", "check_array", "check_X_y", "check_fraction", "check_in_range",
           "check_sample_weight", "check_positive_int", "check_flag", "is_real_number",
           "check_positive", "check_nonnegative", "check_open_unit", "checking_keywords",
           "unknown_keyword", "check_verbose"]


def is_real_number(value) -> bool:
    """A finite real number (a bool is not one)."""
    return not isinstance(value, bool) and isinstance(
        value, (int, float, np.integer, np.floating)) and bool(np.isfinite(value))


def check_positive_int(value, name: str) -> int:
    """``value`` as an int >= 1 (a bool is not one)."""
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive integer; got {value!r}")
    return int(value)


def check_verbose(value, name: str = "verbose") -> int:
    """0 (silent), 1 (a progress bar) or 2 (one line per epoch), as in Keras; True and
    False are 1 and 0 (scikit-learn's convention)."""
    if isinstance(value, (bool, np.bool_)):
        return int(value)
    if not is_real_number(value) or value not in (0, 1, 2):
        raise ValueError(f"{name} must be 0 (silent), 1 (a progress bar) or 2 (one line per "
                         f"epoch); got {value!r}")
    return int(value)


def check_flag(value, name: str) -> bool:
    """``value`` as a bool (True/False, NumPy's too; not 0/1)."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False; got {value!r}")
    return bool(value)


def check_positive(value, name: str) -> float:
    """``value`` as a float > 0, finite."""
    if not is_real_number(value) or value <= 0:
        raise ValueError(f"{name} must be a positive number; got {value!r}")
    return float(value)


def check_nonnegative(value, name: str) -> float:
    """``value`` as a float >= 0, finite."""
    if not is_real_number(value) or value < 0:
        raise ValueError(f"{name} must be a non-negative number; got {value!r}")
    return float(value)


def check_open_unit(value, name: str) -> float:
    """``value`` as a float in (0, 1)."""
    if not is_real_number(value) or not 0 < value < 1:
        raise ValueError(f"{name} must be in (0, 1); got {value!r}")
    return float(value)


def check_in_range(values: np.ndarray, dtype, name: str) -> None:
    """ValueError when a finite value of ``values`` is beyond what ``dtype`` holds (1e39 in
    float32): cast, it would become infinite, and be reported as such."""
    dtype = np.dtype(dtype)
    if values.dtype.kind != "f" or dtype.kind != "f" or dtype.itemsize >= values.dtype.itemsize:
        return
    largest = np.finfo(dtype).max
    with np.errstate(invalid="ignore"):
        beyond = np.abs(values) > largest
    if beyond.any():
        first = tuple(int(i) for i in np.argwhere(beyond)[0])
        raise ValueError(f"{name} holds {values[first]:g} at index {first}, beyond the range "
                         f"of {dtype} (largest {largest:.3g}); rescale it")


def check_fraction(value, name: str) -> float:
    """``value`` as a float in [0, 1) (``validation_split``): TypeError for something that
    is not a real number (a string "0.2", a bool), ValueError for one outside."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer,
                                                         np.floating)):
        raise TypeError(f"{name} must be a number in [0, 1); got {value!r} "
                        f"({type(value).__name__})")
    if not 0 <= value < 1:
        raise ValueError(f"{name} must be a number in [0, 1); got {value!r}")
    return float(value)


def all_finite(values: np.ndarray) -> bool:
    """Whether every value of a numeric array is finite.

    For a large contiguous float array, one BLAS dot product ``v . v`` decides first: a sum
    of squares is NaN or infinite whenever a value is, and finite values give a finite sum
    unless it overflows, in which case the element-wise test decides.  That reads the
    data once on every BLAS thread, without the temporary boolean array of
    ``np.isfinite(v).all()`` (half the time on the 60,000 MNIST images)."""
    if values.dtype.kind not in "fc":
        return True  # integers and booleans are always finite
    if values.size > 65_536 and values.flags.c_contiguous and values.dtype.kind == "f":
        flat = values.reshape(-1)
        with np.errstate(over="ignore", invalid="ignore"):
            if np.isfinite(np.dot(flat, flat)):
                return True
    return bool(np.isfinite(values).all())


def check_array(X, name: str = "X", ensure_2d: bool = True, dtype=np.float64,
                allow_nd: bool = False) -> np.ndarray:
    """X as a finite float array of samples: shape (n_samples, n_features), or
    (n_samples, ...) with ``allow_nd`` (images); ``ensure_2d=False`` accepts any shape."""
    if hasattr(X, "to_numpy"):  # pandas
        X = X.to_numpy()
    try:
        X = np.asarray(X)
    except ValueError as err:
        raise ValueError(f"{name} must be a rectangular array: {err}") from None
    if X.dtype.kind not in "iubf":
        raise ValueError(f"{name} must be numeric; got dtype {X.dtype}")
    if ensure_2d and (X.ndim < 2 or (X.ndim > 2 and not allow_nd)):
        raise ValueError(f"Expected 2D array, got {X.ndim}D array instead: {name} has shape "
                         f"{X.shape}. Reshape your data either using X.reshape(-1, 1) if your "
                         "data has a single feature or X.reshape(1, -1) if it contains a "
                         "single sample.")
    original = X
    with np.errstate(over="ignore"):  # a finite value beyond the dtype's range: see below
        X = X.astype(dtype, copy=False)
    if not all_finite(X):
        first = tuple(int(i) for i in np.argwhere(~np.isfinite(X))[0])
        value = original[first]
        if np.isfinite(value):  # finite, but not in the narrower dtype (1e39 in float32)
            raise ValueError(f"Input {name} holds {value:g} at index {first}, beyond the "
                             f"range of {X.dtype} (largest {np.finfo(X.dtype).max:.3g}); "
                             "rescale the data (e.g. standardise it)")
        raise ValueError(f"Input {name} contains NaN or infinity (first at index {first}).")
    if len(X) == 0:
        raise ValueError(f"{name} has no samples (shape {X.shape}); at least 1 is required")
    if X.ndim >= 2 and 0 in X.shape:
        raise ValueError(f"{name} has shape {X.shape}: 0 features per sample; at least 1 "
                         "is required")
    return X


def check_X_y(X, y, dtype=np.float64):
    """(X, y) with X checked by :func:`check_array`, y as long as X (a column vector
    becomes 1-D)."""
    X = check_array(X, dtype=dtype)
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if len(y) != len(X):
        raise ValueError(f"Found input variables with inconsistent numbers of samples: "
                         f"[{len(X)}, {len(y)}]")
    return X, y


def check_sample_weight(sample_weight, n: int, argument: str) -> np.ndarray | None:
    """``sample_weight`` checked: None, or n finite non-negative numbers (float64)."""
    if sample_weight is None:
        return None
    w = np.asarray(sample_weight)
    if w.dtype.kind not in "iuf":
        raise ValueError(f"{argument} must be numeric; got dtype {w.dtype}")
    if w.shape != (n,) and w.shape != (n, 1):
        raise ValueError(f"{argument} must hold one weight per sample, shape ({n},); got "
                         f"shape {w.shape}")
    w = w.reshape(n).astype(np.float64)
    if not np.isfinite(w).all() or (w < 0).any():
        raise ValueError(f"{argument} must hold finite weights >= 0; got values from "
                         f"{w.min()} to {w.max()}")
    return w


def unknown_keyword(owner: str, name: str, known) -> TypeError:
    """The error for an unknown keyword argument ``name`` of ``owner`` (a class or a
    method): the argument, the closest known name and every known one (Python's own
    message names only the argument, and the class that defines the method)."""
    known = list(known)
    close = difflib.get_close_matches(name, known, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return TypeError(f"{owner}: unknown argument {name!r}{hint} "
                     f"(its arguments: {', '.join(known)})")


def checking_keywords(method):
    """``method`` with its keyword arguments checked first (:func:`unknown_keyword`),
    named after the object's own class: ``Dense: unknown argument 'activaton'; did you
    mean 'activation'?``, ``Sequential.fit: unknown argument 'epoch'; ...``.  A method
    that takes ``**kwargs`` is returned as it is."""
    parameters = inspect.signature(method).parameters
    if any(p.kind is p.VAR_KEYWORD for p in parameters.values()):
        return method
    known = [name for name in parameters if name != "self"]
    suffix = "" if method.__name__ == "__init__" else f".{method.__name__}"

    @functools.wraps(method)
    def checked(self, *args, **kwargs):
        for name in kwargs:
            if name not in parameters:
                raise unknown_keyword(type(self).__name__ + suffix, name, known)
        return method(self, *args, **kwargs)

    return checked
