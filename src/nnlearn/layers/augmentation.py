"""Data augmentation as layers (active in training, the identity at inference): random
flips, translations, rotations and zooms of images, by one affine resampling
(:func:`affine_images`).
"""

from __future__ import annotations

import math

import numpy as np

from .. import autograd as ag
from ..config_schema import NUMBER
from ..autograd import Tensor
from .base import RandomLayer, check_sample_rank


class RandomFlip(RandomLayer):
    """Flips each image at random while training, each flip with probability 1/2;
    the identity at inference.

    Parameters
    ----------
    mode : {"horizontal", "vertical", "horizontal_and_vertical"}, default="horizontal_and_vertical"
        Left-right flips, upside-down flips, or either.
    seed : int, optional
        The layer's own random seed; None draws fresh randomness from ``fit(seed=...)`` at
        each epoch, so that a seeded fit is reproducible.
    name : str, optional
        The layer's name (in ``summary()`` and model files); None gives a generated one."""

    MODES = ("horizontal", "vertical", "horizontal_and_vertical")

    ARGUMENTS = {"mode": str}

    def __init__(self, mode: str = "horizontal_and_vertical", seed: int | None = None,
                 name: str | None = None):
        super().__init__(seed, name)
        if mode not in self.MODES:
            raise ValueError(f"RandomFlip: mode must be one of {self.MODES}; got {mode!r}")
        self.mode = mode

    def compute_output_shape(self, input_shape):
        check_sample_rank(input_shape, 3, "RandomFlip", "(height, width, channels)")
        return tuple(input_shape)

    def call(self, x, training=False):
        if not training:
            return x
        n = x.shape[0]
        if self.mode != "vertical":
            flip = self._rng.random(n) < 0.5
            x = ag.where(flip[:, None, None, None], x[:, :, ::-1, :], x)
        if self.mode != "horizontal":
            flip = self._rng.random(n) < 0.5
            x = ag.where(flip[:, None, None, None], x[:, ::-1, :, :], x)
        return x


_FILL_MODES = ("reflect", "wrap", "constant", "nearest")
_INTERPOLATIONS = ("bilinear", "nearest")


def _fold(coordinate: np.ndarray, n: int, fill_mode: str) -> tuple:
    """Source coordinates mapped into [0, n - 1] by the fill mode; and where they fall
    outside (only "constant" uses it)."""
    outside = (coordinate < -0.5) | (coordinate > n - 0.5)
    if fill_mode == "reflect":  # d c b a | a b c d | d c b a
        period = 2 * n
        u = np.mod(coordinate + 0.5, period)
        coordinate = np.where(u > n, period - u, u) - 0.5
    elif fill_mode == "wrap":  # a b c d | a b c d
        coordinate = np.mod(coordinate + 0.5, n) - 0.5
    return np.clip(coordinate, 0, n - 1), outside


def affine_images(images: np.ndarray, matrices: np.ndarray, fill_mode: str = "reflect",
                  interpolation: str = "bilinear", fill_value: float = 0.0) -> np.ndarray:
    """Each image (n, h, w, c) resampled at ``matrices[i] @ (row, col, 1)`` for every output
    pixel (row, col): the source point of the inverse transformation, as TensorFlow's
    ImageProjectiveTransform does (``matrices`` is (n, 2, 3))."""
    n, h, w, _ = images.shape
    rows, cols = np.meshgrid(np.arange(h, dtype=np.float64), np.arange(w, dtype=np.float64),
                             indexing="ij")
    grid = np.stack([rows, cols, np.ones_like(rows)])  # (3, h, w)
    source = np.einsum("nij,jhw->nihw", matrices, grid)
    r, r_out = _fold(source[:, 0], h, fill_mode)
    c, c_out = _fold(source[:, 1], w, fill_mode)
    flat = images.reshape(n * h * w, images.shape[-1])
    base = (np.arange(n) * (h * w))[:, None, None]

    def pick(rr, cc):  # one gather of flat indices: faster than three index arrays
        return np.take(flat, base + rr * w + cc, axis=0)

    if interpolation == "nearest":
        out = pick(np.rint(r).astype(np.intp), np.rint(c).astype(np.intp))
    else:
        r0, c0 = np.floor(r).astype(np.intp), np.floor(c).astype(np.intp)
        r1, c1 = np.minimum(r0 + 1, h - 1), np.minimum(c0 + 1, w - 1)
        fr = (r - r0).astype(images.dtype)[..., None]
        fc = (c - c0).astype(images.dtype)[..., None]
        top = pick(r0, c0)
        top += (pick(r0, c1) - top) * fc
        bottom = pick(r1, c0)
        bottom += (pick(r1, c1) - bottom) * fc
        out = top + (bottom - top) * fr
    if fill_mode == "constant":
        out = np.where((r_out | c_out)[..., None], fill_value, out)
    return out.astype(images.dtype, copy=False)


def _factor_range(factor, name: str, layer: str) -> tuple:
    """Keras's factor: a number f means (-f, f); a pair (lower, upper) is taken as is."""
    if isinstance(factor, (int, float)) and not isinstance(factor, bool):
        low, high = -abs(float(factor)), abs(float(factor))
    else:
        try:
            low, high = (float(v) for v in factor)
        except (TypeError, ValueError):
            raise ValueError(f"{layer}: {name} must be a number or a pair (lower, upper); "
                             f"got {factor!r}") from None
    if not low <= high or not math.isfinite(low) or not math.isfinite(high):
        raise ValueError(f"{layer}: {name} must satisfy lower <= upper; got {factor!r}")
    return low, high


class _RandomAffine(RandomLayer):
    """Shared part of RandomTranslation, RandomRotation and RandomZoom: a random affine
    map per image, resampled with ``interpolation`` and filled by ``fill_mode``
    ("reflect", "wrap", "constant" with ``fill_value``, "nearest").  No gradient flows to
    the input: these layers belong at the input of a model."""

    ARGUMENTS = {"factor": (NUMBER, [NUMBER]), "height_factor": (NUMBER, [NUMBER]),
                 "width_factor": (None, NUMBER, [NUMBER]), "fill_mode": str,
                 "interpolation": str, "fill_value": NUMBER}

    def __init__(self, fill_mode="reflect", interpolation="bilinear", seed=None,
                 fill_value=0.0, name=None):
        super().__init__(seed, name)
        layer = type(self).__name__
        if fill_mode not in _FILL_MODES:
            raise ValueError(f"{layer}: fill_mode must be one of {_FILL_MODES}; got "
                             f"{fill_mode!r}")
        if interpolation not in _INTERPOLATIONS:
            raise ValueError(f"{layer}: interpolation must be one of {_INTERPOLATIONS}; got "
                             f"{interpolation!r}")
        self.fill_mode, self.interpolation = fill_mode, interpolation
        self.fill_value = float(fill_value)

    def compute_output_shape(self, input_shape):
        check_sample_rank(input_shape, 3, type(self).__name__, "(height, width, channels)")
        return tuple(input_shape)

    def matrices(self, n: int, h: int, w: int) -> np.ndarray:
        """The (n, 2, 3) affine maps, one drawn per image of size h x w, from output
        pixel coordinates to the input coordinates they sample."""
        raise NotImplementedError

    def call(self, x, training=False):
        if not training:
            return x
        data = x.data if isinstance(x, Tensor) else np.asarray(x)
        n, h, w, _ = data.shape
        out = affine_images(data, self.matrices(n, h, w), self.fill_mode, self.interpolation,
                            self.fill_value)
        return Tensor(out)

    def get_config(self):
        return {"fill_mode": self.fill_mode, "interpolation": self.interpolation,
                **super().get_config(), "fill_value": self.fill_value}


def _about_center(linear: np.ndarray, h: int, w: int) -> np.ndarray:
    """(n, 2, 3) maps source = center + linear (output - center)."""
    center = np.array([(h - 1) / 2, (w - 1) / 2])
    shift = center - np.einsum("nij,j->ni", linear, center)
    return np.concatenate([linear, shift[..., None]], axis=-1)


class RandomTranslation(_RandomAffine):
    r"""Shifts each image by a random fraction of its height and width while
    training, as Keras's RandomTranslation.

    Parameters
    ----------
    height_factor : float or (float, float)
        The vertical shift as a fraction of the height: 0.1 draws shifts in
        $[-10\%, +10\%]$; a pair (lower, upper) sets the range.
    width_factor : float or (float, float)
        The same for the horizontal shift.
    fill_mode : {"reflect", "wrap", "constant", "nearest"}, default="reflect"
        How points that fall outside the image are filled.
    interpolation : {"bilinear", "nearest"}, default="bilinear"
        How the image is sampled between pixels.
    seed : int, optional
        The layer's own random seed; None draws fresh randomness from ``fit(seed=...)`` at
        each epoch, so that a seeded fit is reproducible.
    fill_value : float, default=0.0
        The value outside the image with ``fill_mode="constant"``.
    name : str, optional
        The layer's name (in ``summary()`` and model files); None gives a generated one."""

    def __init__(self, height_factor, width_factor, fill_mode="reflect",
                 interpolation="bilinear", seed=None, fill_value=0.0, name=None):
        super().__init__(fill_mode, interpolation, seed, fill_value, name)
        self.height_factor = _factor_range(height_factor, "height_factor", "RandomTranslation")
        self.width_factor = _factor_range(width_factor, "width_factor", "RandomTranslation")

    def matrices(self, n, h, w):
        dy = self._rng.uniform(*self.height_factor, n) * h
        dx = self._rng.uniform(*self.width_factor, n) * w
        m = np.zeros((n, 2, 3))
        m[:, 0, 0] = m[:, 1, 1] = 1
        m[:, 0, 2], m[:, 1, 2] = -dy, -dx  # the output at p shows the input at p - shift
        return m

    def get_config(self):
        return {"height_factor": list(self.height_factor),
                "width_factor": list(self.width_factor), **super().get_config()}


class RandomRotation(_RandomAffine):
    r"""Rotates each image about its center by a random angle while training, as
    Keras's RandomRotation (positive is counter-clockwise).

    Parameters
    ----------
    factor : float or (float, float)
        The angle as a fraction of a full turn: 0.1 draws angles up to $\pm 36°$; a pair
        (lower, upper) sets the range.
    fill_mode : {"reflect", "wrap", "constant", "nearest"}, default="reflect"
        How points that fall outside the image are filled.
    interpolation : {"bilinear", "nearest"}, default="bilinear"
        How the image is sampled between pixels.
    seed : int, optional
        The layer's own random seed; None draws fresh randomness from ``fit(seed=...)`` at
        each epoch, so that a seeded fit is reproducible.
    fill_value : float, default=0.0
        The value outside the image with ``fill_mode="constant"``.
    name : str, optional
        The layer's name (in ``summary()`` and model files); None gives a generated one."""

    def __init__(self, factor, fill_mode="reflect", interpolation="bilinear", seed=None,
                 fill_value=0.0, name=None):
        super().__init__(fill_mode, interpolation, seed, fill_value, name)
        self.factor = _factor_range(factor, "factor", "RandomRotation")

    def matrices(self, n, h, w):
        # positive: counter-clockwise as displayed (row 0 on top), as in Keras
        angle = -self._rng.uniform(*self.factor, n) * 2 * np.pi
        cos, sin = np.cos(angle), np.sin(angle)
        linear = np.stack([np.stack([cos, -sin], -1), np.stack([sin, cos], -1)], 1)
        return _about_center(linear, h, w)

    def get_config(self):
        return {"factor": list(self.factor), **super().get_config()}


class RandomZoom(_RandomAffine):
    r"""Zooms each image about its center by a random amount while training, as
    Keras's RandomZoom.

    Parameters
    ----------
    height_factor : float or (float, float)
        The vertical zoom: 0.2 draws from $[-20\%, +20\%]$, where a positive value zooms
        out (the image looks smaller) and a negative one zooms in.
    width_factor : float or (float, float), optional
        The same horizontally; None keeps the aspect ratio.
    fill_mode : {"reflect", "wrap", "constant", "nearest"}, default="reflect"
        How points that fall outside the image are filled.
    interpolation : {"bilinear", "nearest"}, default="bilinear"
        How the image is sampled between pixels.
    seed : int, optional
        The layer's own random seed; None draws fresh randomness from ``fit(seed=...)`` at
        each epoch, so that a seeded fit is reproducible.
    fill_value : float, default=0.0
        The value outside the image with ``fill_mode="constant"``.
    name : str, optional
        The layer's name (in ``summary()`` and model files); None gives a generated one."""

    def __init__(self, height_factor, width_factor=None, fill_mode="reflect",
                 interpolation="bilinear", seed=None, fill_value=0.0, name=None):
        super().__init__(fill_mode, interpolation, seed, fill_value, name)
        self.height_factor = _factor_range(height_factor, "height_factor", "RandomZoom")
        self.width_factor = (None if width_factor is None else
                             _factor_range(width_factor, "width_factor", "RandomZoom"))
        if self.height_factor[0] <= -1 or (self.width_factor and self.width_factor[0] <= -1):
            raise ValueError("RandomZoom: factors must be greater than -1")

    def matrices(self, n, h, w):
        zy = 1 + self._rng.uniform(*self.height_factor, n)
        zx = zy if self.width_factor is None else 1 + self._rng.uniform(*self.width_factor, n)
        linear = np.zeros((n, 2, 2))
        linear[:, 0, 0], linear[:, 1, 1] = zy, zx
        return _about_center(linear, h, w)

    def get_config(self):
        return {"height_factor": list(self.height_factor),
                "width_factor": None if self.width_factor is None else list(self.width_factor),
                **super().get_config()}
