"""The array backend and the dtype policy.

nnlearn computes on NumPy arrays.  The dtype policy, float32 by default and float64
wherever exactness is checked, is:

* a floating-point array keeps its dtype (float64 stays float64, as
  ``torch.tensor(ndarray)`` does);
* Python numbers, lists of numbers and integer or boolean arrays become
  :func:`floatx` (float32 unless changed with :func:`set_floatx`);
* strings, objects and complex numbers are rejected with a ``TypeError``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["floatx", "set_floatx", "as_float_array"]

_FLOATX = np.dtype(np.float32)
_FLOAT_DTYPES = (np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64))


def floatx() -> np.dtype:
    """The default floating dtype for data that does not carry one (float32)."""
    return _FLOATX


def set_floatx(dtype) -> None:
    """Set the default floating dtype: ``"float16"``, ``"float32"`` or ``"float64"``."""
    global _FLOATX
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"set_floatx: dtype must name a float dtype; got {dtype!r}") from None
    if dt not in _FLOAT_DTYPES:
        raise ValueError(f"set_floatx: dtype must be float16, float32 or float64; got {dt}")
    _FLOATX = dt


def as_float_array(value, dtype=None, copy: bool = True, name: str = "data") -> np.ndarray:
    """Convert ``value`` to a floating ndarray following the dtype policy.

    Parameters
    ----------
    value : number, sequence of numbers or ndarray
    dtype : dtype, optional
        Force this floating dtype instead of applying the policy.
    copy : bool
        Always return a new array (default); when False, an ndarray that already has
        the right dtype is returned as it is.
    name : str
        The argument's name, used in error messages.
    """
    if type(value) is np.ndarray and value.dtype.kind == "f" and not copy \
            and (dtype is None or value.dtype == dtype):
        return value  # already what is asked for (an op's array operand: the common case)
    if isinstance(value, (str, bytes)) or not isinstance(
        value, (np.ndarray, np.generic, bool, int, float, list, tuple)
    ):
        raise TypeError(
            f"{name} must be a number, a sequence of numbers or a numpy array; "
            f"got {type(value).__name__}"
        )
    try:
        arr = np.asarray(value)
    except ValueError as err:  # ragged nested lists
        raise ValueError(f"{name} must be a rectangular sequence of numbers: {err}") from None
    if arr.dtype.kind not in "iubf":
        raise TypeError(f"{name} must be numeric; got {type(value).__name__} of dtype {arr.dtype}")
    if dtype is not None:
        target = np.dtype(dtype)
        if target.kind != "f":
            raise TypeError(f"dtype must be a floating dtype; got {target}")
    elif arr.dtype.kind == "f" and isinstance(value, (np.ndarray, np.generic)):
        target = arr.dtype  # an array's own float dtype is kept
    else:
        target = _FLOATX  # Python numbers, lists, integer and boolean data
    if copy:
        return np.array(arr, dtype=target, copy=True)
    return arr.astype(target, copy=False)
