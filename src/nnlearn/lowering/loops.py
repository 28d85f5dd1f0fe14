"""Element-wise kernels: a rule written once, as its equation, run by NumPy or by numba.

An optimizer's update, an activation's derivative, a loss's gradient: the element-wise
work of a training step is a formula applied to every element of a few arrays of one
shape.  Here such a formula is written once, as a Python function of element values::

    @elementwise(arrays=3, updates=2)
    def rmsprop(w, s, g, lr, rho, one_minus_rho, eps, tiny):
        s = rho * s + one_minus_rho * (g * g)
        s *= abs(s) >= tiny                     # flush denormals to zero
        return w - g / np.sqrt(s + eps) * lr, s

The first ``arrays`` arguments are arrays of one shape (the first ``updates`` of them are
overwritten with the values the rule returns, in order); the rest are numbers, converted
to the arrays' dtype before the rule sees them.  The rule then runs one of two ways,
chosen in one place (:func:`backend`):

* ``"numpy"``: the rule applied to blocks of 32,768 elements, each block's temporaries
  small enough to stay in the CPU's cache (measured on RMSprop's rule without the flush,
  407,050 float32 values: 726 us, against 711 us for hand-written in-place passes and
  2,600 us for the rule on the whole arrays, whose temporaries fall out of the cache);
* ``"numba"`` (the ``fast`` extra): one loop over the elements, compiled by numba with
  ``error_model="numpy"`` (no division-by-zero checks, so the loop vectorizes; NaN and
  inf propagate as in NumPy) and no fast-math flags.  It reads each array once and writes
  each updated array once, where NumPy makes one pass per operation.

Several rules applied one after the other (an optimizer's chain of transforms:
:mod:`nnlearn.optimizers.transforms`) become one kernel with :func:`fuse`: a generated
element function calling each rule in turn, so that the chain reads and writes every
array once, however many rules it has.

Neither path warns about overflow or invalid values: a diverging step shows up as a NaN
or infinite loss.

For the optimizers' rules both evaluate the same operations in the same order in the
arrays' own dtype, so they give the same bits (the test suite checks it): numbers inside
a rule are arguments, not literals, because numba would compute ``1 - rho`` with a
float32 ``rho`` in float64.  The activations' backward rules (:mod:`nnlearn.activations`)
write their constants in (0.3, the SELU's) and call transcendental functions whose NumPy
(vectorized) and C-library versions may differ in the last place: on the two backends
they agree to rounding, not bit for bit (relu, sigmoid and tanh, whose rules have
neither, agree bit for bit, the main job's fit included).

Denormals: a state that decays geometrically (a second moment whose gradient stays
zero, on rarely-lit pixels or dead units) reaches the denormal range, where every
operation costs about 100 times more.  The rules that keep such state flush values
below the dtype's smallest normal number to zero, as the CPU's flush-to-zero mode would;
it changes nothing a step can see (epsilon dominates them by orders of magnitude).

The backend is numba when it can be imported, unless the environment variable
``NNLEARN_KERNELS=numpy`` (read when the first kernel runs) says otherwise; :func:`use`
switches it (the tests run both).  numba is imported when the first kernel runs, not
with nnlearn.  Each rule's loop is compiled once and kept in numba's disk cache, in
:func:`kernel_cache_dir` (``~/.cache/nnlearn/kernels``, or ``$NNLEARN_KERNEL_CACHE``):
a new process loads it instead of compiling it again (~0.3 s saved per rule).
"""

from __future__ import annotations

import contextvars
import functools
import inspect
import os
import sys
import stat
import warnings
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["elementwise", "fuse", "backend", "use", "available_backends", "kernel_cache_dir",
           "compiled_module", "BLOCK"]

BLOCK = 32_768  # elements per block of the NumPy path
_COMPILED_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))  # others run on NumPy

_BACKENDS = ("numpy", "numba")
_chosen = contextvars.ContextVar("nnlearn_kernels", default=None)  # set by use()


@functools.lru_cache(maxsize=1)
def _numba_importable() -> bool:
    try:
        import numba  # noqa: F401
    except ImportError:
        return False
    return True


def available_backends() -> tuple:
    """The backends this installation can run: ("numpy",) or ("numpy", "numba")."""
    return _BACKENDS if _numba_importable() else ("numpy",)


def _from_environment() -> str:
    """The backend ``NNLEARN_KERNELS`` asks for: "numpy", "numba" or "auto" (the
    default: numba when installed)."""
    wanted = os.environ.get("NNLEARN_KERNELS", "auto").strip().lower() or "auto"
    if wanted not in (*_BACKENDS, "auto"):
        raise ValueError(f"NNLEARN_KERNELS must be 'numpy', 'numba' or 'auto'; got {wanted!r}")
    return wanted


_requested: list = []  # NNLEARN_KERNELS, parsed once, when the first kernel runs

_NO_NUMBA = ("numba is not installed: pip install numba (nnlearn's fast extra: "
             "pip install \".[fast]\" in nnlearn's folder)")


def backend() -> str:
    """The backend the kernels run on now: "numba" or "numpy".

    :func:`use` decides when active; otherwise the environment variable
    ``NNLEARN_KERNELS``, read once (a bad value is a ValueError here, at the first
    kernel, not at ``import nnlearn``)."""
    chosen = _chosen.get()
    if chosen:
        return chosen
    if not _requested:
        _requested.append(_from_environment())
    requested = _requested[0]
    if requested == "auto":
        return "numba" if _numba_importable() else "numpy"
    if requested == "numba" and not _numba_importable():
        raise ImportError(f"NNLEARN_KERNELS=numba, but {_NO_NUMBA}")
    return requested


class _Using:
    """The context manager :func:`use` returns."""

    def __init__(self, name: str):
        self.name = name

    def __enter__(self):
        self._token = _chosen.set(self.name)

    def __exit__(self, *exc):
        _chosen.reset(self._token)


def use(name: str) -> _Using:
    """``with use(name):`` runs the kernels on backend ``name`` ("numpy" or "numba") in
    the block (in this thread or task: a context variable, like NumPy's errstate).  The
    name is checked at once."""
    if name not in _BACKENDS:
        raise ValueError(f"use: name must be one of {_BACKENDS}; got {name!r}")
    if name not in available_backends():
        raise ImportError(f"the numba backend needs numba; {_NO_NUMBA}")
    return _Using(name)


class Elementwise:
    """A rule of element values, applied to whole arrays in place (see the module)."""

    def __init__(self, rule, arrays: int, updates: int):
        names = list(inspect.signature(rule).parameters)
        if not 1 <= updates <= arrays <= len(names):
            raise ValueError(f"elementwise: need 1 <= updates ({updates}) <= arrays "
                             f"({arrays}) <= the rule's arguments ({len(names)})")
        self.rule, self.arrays, self.updates = rule, arrays, updates
        self.names = names
        self._n_arguments = len(names)
        self._loop = self._loop_all = None
        functools.update_wrapper(self, rule)

    def __call__(self, *args) -> None:
        """Apply the rule to every element; the first ``updates`` arrays are overwritten."""
        if len(args) != self._n_arguments:
            raise TypeError(f"{self.rule.__name__}: expected {self._n_arguments} arguments "
                            f"({', '.join(self.names)}); got {len(args)}")
        arrays, numbers = args[:self.arrays], args[self.arrays:]
        dtype = arrays[0].dtype
        scalars = [dtype.type(value) for value in numbers]
        if (_chosen.get() or backend()) == "numba" and dtype in _COMPILED_DTYPES \
                and self._fits_loop(arrays, dtype):
            (self._loop or self.compiled())(*arrays, *scalars)
            return
        if any(array.shape != arrays[0].shape for array in arrays):
            self._refuse_shapes(arrays)
        self._run_general(arrays, scalars)

    def each(self, groups, numbers, fitting=None):
        """Apply the rule to every group of arrays (a tuple of ``arrays`` arrays) with the
        same ``numbers``: one optimizer step over all its parameters, the numbers
        converted and the backend looked up once.

        On numba, when the compiled loop takes every group as it is, all the groups go
        to it in one call (as tuples of flat views: the call's own cost, ~0.7 us, is
        most of a small parameter's update).  Returns, on numba, what was found about
        the groups (else None); a caller that passes the same arrays again may hand it
        back as ``fitting`` to skip the checks."""
        if not groups:
            return None
        dtype = groups[0][0].dtype
        if (_chosen.get() or backend()) != "numba" or dtype not in _COMPILED_DTYPES:
            for arrays in groups:
                self(*arrays, *numbers)
            return None
        scalars = [dtype.type(value) for value in numbers]
        if fitting is None:
            fitting = [self._fits_loop(arrays, dtype) for arrays in groups]
            if all(fitting):
                fitting = _Columns(tuple([a.reshape(-1) for a in column])
                                   for column in zip(*groups))
        if type(fitting) is _Columns:
            self.compiled()
            self._loop_all(*fitting, *scalars)
            return fitting
        loop = self._loop or self.compiled()
        for arrays, fits in zip(groups, fitting):
            if fits:
                loop(*arrays, *scalars)
            else:
                self(*arrays, *numbers)
        return fitting

    def _fits_loop(self, arrays, dtype) -> bool:
        """Whether the compiled loop takes these arrays as they are: ndarrays of one
        dtype and shape, C-ordered."""
        if len(arrays) != self.arrays:
            return False
        shape = arrays[0].shape
        for a in arrays:  # a plain loop: faster than all() on a few arrays
            if not (type(a) is np.ndarray and a.dtype == dtype and a.shape == shape
                    and a.flags.c_contiguous):
                return False
        return True

    def _refuse_shapes(self, arrays):
        for name, array in zip(self.names, arrays):
            if array.shape != arrays[0].shape:
                raise ValueError(f"{self.rule.__name__}: {name} has shape {array.shape}; "
                                 f"expected {arrays[0].shape}, the shape of {self.names[0]}")

    def _run_general(self, arrays, scalars) -> None:
        """Arrays the compiled loop cannot take as they are: on numba, with contiguous
        copies of the inputs (the outputs must be C-ordered); on NumPy, the rule on the
        whole arrays when small, else block by block."""
        first, dtype = arrays[0], arrays[0].dtype
        outputs = arrays[:self.updates]
        if (_chosen.get() or backend()) == "numba" and dtype in _COMPILED_DTYPES \
                and all(a.flags.c_contiguous for a in outputs):
            inputs = [np.ascontiguousarray(a, dtype) for a in arrays[self.updates:]]
            (self._loop or self.compiled())(*outputs, *inputs, *scalars)
            return
        n, inputs = first.size, [np.asarray(a, dtype) for a in arrays]
        views = [a.reshape(-1) if a.flags.c_contiguous else None for a in inputs]
        if any(v is None for v in views[:self.updates]) or n <= BLOCK:
            values = self._values(*inputs, *scalars)
            for out, value in zip(outputs, values):
                out[...] = value
            return
        views = [v if v is not None else a.reshape(-1) for v, a in zip(views, inputs)]
        for start in range(0, n, BLOCK):
            block = slice(start, start + BLOCK)
            values = self._values(*(v[block] for v in views), *scalars)
            for out, value in zip(views, values):
                out[block] = value

    def _values(self, *args) -> tuple:
        with np.errstate(all="ignore"):  # as the compiled loop: inf and NaN propagate quietly
            values = self.rule(*args)
        return values if isinstance(values, tuple) else (values,)

    def compiled(self):
        """The numba loop (compiled on first use, once per dtype); its twin over tuples of
        flat arrays is ``_loop_all``."""
        if self._loop is None:
            self._loop, self._loop_all = _compile_loops(self.rule, self.names, self.arrays,
                                                        self.updates)
        return self._loop


class _Columns(tuple):
    """Groups of arrays as tuples of flat views, one tuple per argument of the rule (what
    :meth:`Elementwise.each` hands to the loop over all groups)."""


def _compile_loops(rule, names, arrays, updates):
    """``loop(*arrays, *scalars)``: the rule on element i of every (C-contiguous) array,
    for every i, its values stored into the first ``updates`` arrays; and
    ``loop_all(*tuples, *scalars)``, the same on every k-th array of tuples of flat
    arrays.  Cached on disk (:func:`compiled_module`) when the cache folder is writable."""
    import numba

    from ..numerics import numba_lowerings

    numba_lowerings()  # the functions rules may call that NumPy lacks (erf)
    inline = numba.njit(error_model="numpy", inline="always")
    parts = getattr(rule, "parts", None)
    if parts is None:  # a rule written as a Python function
        namespace, header, dependencies = {"element": inline(rule)}, "", [rule]
    else:  # a fused rule (see fuse): its source defines element, calling its parts
        namespace = {key: inline(part) for key, part in parts.items()}
        header, dependencies = rule.source + "\n\n", list(parts.values())
    flat = [f"{name}_" for name in names[:arrays]]  # C-contiguous arrays seen as vectors
    arguments = [f"{name}[i]" for name in flat] + names[arrays:]
    targets = ", ".join(f"{name}[i]" for name in flat[:updates])

    def over_elements(indent: str) -> str:
        return (f"{indent}for i in range({flat[0]}.size):\n"
                f"{indent}    {targets} = element({', '.join(arguments)})\n")

    source = (header + f"def loop({', '.join(names)}):\n"
              + "".join(f"    {name}_ = {name}.reshape({name}.size)\n"
                        for name in names[:arrays])
              + over_elements("    ")
              + f"\n\ndef loop_all({', '.join(names)}):\n"
              f"    for k in range(len({names[0]})):\n"
              + "".join(f"        {name}_ = {name}[k]\n" for name in names[:arrays])
              + over_elements("        "))
    name = f"{rule.__module__}.{rule.__qualname__}"
    functions = ("loop", "loop_all") if parts is None else ("element", "loop", "loop_all")
    try:
        compiled = compiled_module(name, source, namespace, [*dependencies, _compile_loops],
                                   functions)
    except OSError:  # the rule's source cannot be read: compiled without a cache
        namespace = dict(namespace)
        exec(compile(source, f"<nnlearn kernel {rule.__name__}>", "exec"), namespace)
        for function in functions:
            namespace[function] = numba.njit(error_model="numpy")(namespace[function])
        compiled = tuple(namespace[function] for function in functions)
    return compiled[-2:]


def kernel_cache_dir() -> Path | None:
    """Where the generated loops and numba's cache of them live:
    ``$NNLEARN_KERNEL_CACHE``, else ``$XDG_CACHE_HOME/nnlearn/kernels``
    (``~/.cache/nnlearn/kernels``); None when there is no home folder to put it in."""
    from pathlib import Path  # here: pathlib, hashlib and tempfile are ~15 ms of import

    if os.environ.get("NNLEARN_KERNEL_CACHE"):
        return Path(os.environ["NNLEARN_KERNEL_CACHE"])
    if os.environ.get("XDG_CACHE_HOME"):
        return Path(os.environ["XDG_CACHE_HOME"]) / "nnlearn" / "kernels"
    try:
        return Path.home() / ".cache" / "nnlearn" / "kernels"
    except RuntimeError:  # no $HOME and a user the system cannot name
        return None


def _unsafe(folder: Path) -> str | None:
    """Why ``folder`` may not hold code this process runs, or None.  Created 0700 when
    absent; it must be a folder of this user that no one else can write to, and so must
    numba's ``__pycache__`` in it (numba unpickles its index files from there)."""
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        (folder / "__pycache__").mkdir(exist_ok=True, mode=0o700)
        for path in (folder, folder / "__pycache__"):
            info = os.stat(path)
            if not stat.S_ISDIR(info.st_mode):
                return f"{path} is not a folder"
            if hasattr(os, "getuid") and info.st_uid != os.getuid():
                return f"{path} belongs to another user"
            if info.st_mode & 0o022:
                return f"others can write to {path}"
    except OSError as error:
        return f"{folder} cannot be used ({error.strerror or error})"
    return None


_warned: set = set()


def _no_disk_cache(reason: str) -> None:
    """Say once per reason why generated code is compiled in memory (0.2-2 s more per
    process), never failing the caller."""
    if reason not in _warned:
        _warned.add(reason)
        warnings.warn(f"nnlearn's kernel cache is not used ({reason}): compiled loops are "
                      "kept in memory only; set NNLEARN_KERNEL_CACHE to a private folder",
                      UserWarning, stacklevel=4)


def compiled_module(name: str, source: str, namespace: dict, dependencies, functions,
                    nogil: bool = False, contract: bool = False):
    """The ``functions`` of the Python ``source`` compiled by numba and cached on disk:
    the one compile cache of nnlearn's generated code (the kernels' loops, the compiled
    Dense step, the recurrent cells, the convolution loops).  The source is written to a
    file of its own in :func:`kernel_cache_dir` (a function made by ``exec`` has no file
    for numba to cache against, and compiling takes 0.2-2 s in every new process), named
    after ``name`` and a digest of the source,
    of the ``dependencies`` (the functions bound in ``namespace`` that the source calls)
    and of this generator: changed code gets a new file and cache, never stale machine
    code.  ``namespace`` is bound into the module before compiling.  When the folder
    cannot be written the functions are compiled without a disk cache; OSError when a
    dependency's source cannot be read.  ``nogil``: the functions release Python's GIL
    while they run (so that threads can run them side by side).  ``contract``: LLVM may
    fuse a multiply and an add into one instruction, rounded once (an FMA, where the CPU
    has one; numba's ``fastmath={"contract"}``, no other fast-math flag): faster, and
    the results differ from NumPy's in the last place, so it is only for code compared
    to NumPy to rounding, never bit for bit."""
    import numba

    from ..numerics import numba_lowerings

    # everything the machine code depends on: the source, the functions it calls, the
    # lowerings numba is taught (erfc) and this generator
    import hashlib

    texts = [inspect.getsource(function) for function in (*dependencies, numba_lowerings)]
    generator = inspect.getsource(compiled_module)
    flags = f"nogil={nogil} contract={contract}"
    digest = hashlib.sha256("\n".join([source, generator, flags, *texts]).encode()
                            ).hexdigest()[:16]
    stem = name.replace(".", "_").replace("<", "_").replace(">", "_") + f"_{digest}"
    options = dict(error_model="numpy", nogil=nogil,
                   fastmath={"contract"} if contract else False)
    module = _cached_source(stem, source, name, namespace)
    if module is None:
        namespace = dict(namespace)
        exec(compile(source, f"<nnlearn {name}>", "exec"), namespace)
        for function in functions:
            namespace[function] = numba.njit(**options)(namespace[function])
        return tuple(namespace[function] for function in functions)
    for function in functions:  # each bound in the module, so the others call it compiled
        setattr(module, function, _tolerant_cache(
            numba.njit(cache=True, **options)(getattr(module, function))))
    return tuple(getattr(module, function) for function in functions)


def _tolerant_cache(dispatcher):
    """numba's disk cache of ``dispatcher`` made best-effort: an index it cannot read (a
    damaged file) is a miss, and a file it cannot write (a full disk, a quota) is
    skipped, each with one warning: the function compiles in memory, the fit goes on."""
    cache = getattr(dispatcher, "_cache", None)
    if cache is None or not hasattr(cache, "load_overload"):
        return dispatcher
    load, save = cache.load_overload, cache.save_overload

    def load_overload(*args, **kwargs):
        try:
            return load(*args, **kwargs)
        except Exception as error:  # unpickling a damaged index raises anything
            _no_disk_cache(f"numba's cache could not be read: {type(error).__name__}")
            index = getattr(getattr(cache, "_cache_file", None), "_index_path", None)
            try:
                if index:
                    os.unlink(index)  # damaged: removed, so the compiled code is saved anew
            except OSError:
                pass
            return None

    def save_overload(*args, **kwargs):
        try:
            return save(*args, **kwargs)
        except Exception as error:  # a full disk, a quota, the damaged index it updates
            what = error.strerror if isinstance(error, OSError) and error.strerror \
                else type(error).__name__
            _no_disk_cache(f"numba's cache could not be written: {what}")

    cache.load_overload, cache.save_overload = load_overload, save_overload
    return dispatcher


#: The most bytes the kernel cache keeps (the generated sources and numba's index and
#: machine code of each); above it, a process that writes a new entry removes the least
#: recently used ones until the cache holds three quarters of it (:func:`_prune`).
KERNEL_CACHE_BYTES = 256 * 1024 * 1024
_in_use: set = set()   # the entries this process loaded: never removed by it
_pruned: list = []     # whether this process has pruned (once is enough)


def _prune(folder: Path) -> None:
    """Bound the kernel cache: every version of nnlearn, and every kernel, stride and
    dilation of a convolution, writes entries of its own, which nothing would remove
    (one test suite's runs left 564 MB).  Once per process, when it writes a new entry:
    numba's files whose source is gone and temporary files, each older than an hour (a
    younger one may be another process's entry in the making), are removed, then, above
    :data:`KERNEL_CACHE_BYTES`, whole entries (a source and its numba files), the least
    recently used first (the source's access time, which reading it at every load keeps
    within a day, or its modification time), down to three quarters of it.  A removed
    entry is compiled again when next needed."""
    import time

    if _pruned:
        return
    _pruned.append(True)
    entries, strays, hour_ago = {}, [], time.time() - 3600  # stem -> [last use, bytes, paths]
    try:
        for item in os.scandir(folder):
            info = item.stat(follow_symlinks=False)
            if item.name.endswith(".py") and stat.S_ISREG(info.st_mode):
                entries[item.name[:-3]] = [max(info.st_atime, info.st_mtime), info.st_size,
                                           [item.path]]
            elif item.name.endswith(".tmp") and info.st_mtime < hour_ago:
                strays.append(item.path)
        for item in os.scandir(folder / "__pycache__"):
            info, entry = item.stat(follow_symlinks=False), entries.get(item.name.split(".", 1)[0])
            if entry is None:
                if info.st_mtime < hour_ago:
                    strays.append(item.path)
            else:
                entry[1] += info.st_size
                entry[2].append(item.path)
    except OSError:
        return
    total, removable = sum(e[1] for e in entries.values()), []
    if total > KERNEL_CACHE_BYTES:
        removable = sorted((e for stem, e in entries.items() if stem not in _in_use),
                           key=lambda e: e[0])
    for entry in removable:
        if total <= KERNEL_CACHE_BYTES * 3 // 4:
            break
        strays += entry[2]
        total -= entry[1]
    for path in strays:
        try:
            os.unlink(path)
        except OSError:   # another process removed or replaced it first
            pass


def _cached_source(stem: str, source: str, name: str, namespace: dict):
    """The module of ``source`` written to ``<cache>/<stem>.py`` and imported, with
    ``namespace`` bound; None (and one warning) when the folder is not private to this
    user or cannot be written.  A file already there runs only if its text is exactly
    the one this generator writes: a damaged or planted one is replaced, and numba's
    cache of it deleted."""
    import importlib.util
    import tempfile

    folder = kernel_cache_dir()
    if folder is None:
        _no_disk_cache("no home folder")
        return None
    reason = _unsafe(folder)
    if reason is not None:
        _no_disk_cache(reason)
        return None
    path = folder / f"{stem}.py"
    text = f"# nnlearn: {name}, generated by nnlearn.lowering.loops\n{source}"
    try:
        try:
            intact = path.is_file() and path.read_text() == text
        except (OSError, UnicodeDecodeError):
            intact = False
        if not intact:
            for stale in (folder / "__pycache__").glob(f"{stem}.*"):
                stale.unlink()  # numba's index and code of whatever was there
            with tempfile.NamedTemporaryFile("w", dir=folder, suffix=".tmp",
                                             delete=False) as file:
                file.write(text)
                file.flush()
                os.fsync(file.fileno())
            os.replace(file.name, path)  # whole or absent, even with several processes
    except OSError as error:
        _no_disk_cache(f"{folder} cannot be written ({error.strerror or error})")
        return None
    _in_use.add(stem)
    if not intact:
        _prune(folder)
    spec = importlib.util.spec_from_file_location(f"nnlearn_kernel_{stem}", path)
    module = importlib.util.module_from_spec(spec)
    for key, value in namespace.items():  # globals resolved when numba compiles
        setattr(module, key, value)
    spec.loader.exec_module(module)
    sys.modules[spec.name] = module  # numba's cached code finds its module by name
    return module


def fuse(name: str, source: str, parts: dict, arrays: int, updates: int) -> Elementwise:
    """One :class:`Elementwise` kernel from several rules: ``source`` defines
    ``element(...)``, a function of element values that calls the rules in ``parts``
    (name -> rule function) one after the other, so that a chain of element-wise steps
    reads and writes each array once (one loop on numba, one block pass on NumPy)
    instead of once per rule.  On NumPy the parts run as the Python functions they are;
    on numba each is compiled and inlined into the element function, and the loop is
    cached on disk against the parts' source like any rule's."""
    namespace = dict(parts)
    exec(compile(source, f"<nnlearn fused kernel {name}>", "exec"), namespace)
    element = namespace["element"]
    element.__name__ = element.__qualname__ = name
    element.__module__ = __name__
    element.source, element.parts = source, dict(parts)
    return Elementwise(element, arrays, updates)


def elementwise(arrays: int, updates: int = 1):
    """Decorator: make ``rule`` an :class:`Elementwise` kernel (see the module).

    ``arrays``: how many leading arguments are arrays; ``updates``: how many of those
    are overwritten with the rule's results."""
    return lambda rule: Elementwise(rule, arrays, updates)
