"""Model files: how nnlearn writes and reads them, safely.

A model file is a zip of .npy arrays (weights, optimizer state) and a JSON manifest (the
architecture, the compile settings, the metadata and the SHA-256 of every array).  No
pickle, ever.  Writing is atomic (temporary file, fsync, rename) and keeps the
destination's mode and symlinks.  Reading checks everything before anything large is
read or allocated, in the spirit of safetensors' header checks: the zip directory, each
entry's name, size and compression, the manifest against a declared schema, each .npy
header against its entry, the declared weight shapes against the architecture; a hostile
or damaged file raises ValueError naming the file and the field.

Used by ``save`` / ``load_model``, ``save_weights`` / ``load_weights`` and the .npz loader.
"""

from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import re
import stat
import struct
import time
import zlib
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # zipfile, hashlib, tempfile: imported where used (~20 ms of import)
    import zipfile
from .. import config_schema
from .. import layers as layers_module
from ..config_schema import (IDENTIFIED, NUMBER, SIZE, MapOf, Schema, integer, one_of,
                             short_repr)


FORMAT = "nnlearn-model"
WEIGHTS_FORMAT = "nnlearn-weights"
FORMAT_VERSION = 1

# -- model files ------------------------------------------------------------------------------
# A model file is a zip of .npy arrays (np.savez; nnlearn never compresses them) and a JSON
# manifest.  Reading checks, before anything large is read or allocated: the zip's central
# directory (its size), every entry (name, compression, sizes against the file), the
# manifest (its size, then a declared schema), every .npy header (dtype, and shape against
# the entry's size), the declared shapes against the architecture; only then are the
# arrays read, each into a buffer of exactly its checked size, and checksummed.  Whatever
# does not match is refused with a ValueError naming the file and the field (what the
# safetensors format does, with a cap on the header and sizes checked before reading).
MAX_MANIFEST_BYTES = 4 * 2**20      # the JSON manifest
MAX_MODEL_BYTES = 4 * 2**30         # all arrays of one file together, uncompressed
MAX_DIRECTORY_BYTES = 2**20         # the zip's central directory (some 20,000 entries)
MAX_EXPANSION = 16                  # a compressed entry may expand at most this much
_NPY_HEADER_BYTES = 4096
_ARRAY_KEY = r"(weight|optimizer)_(0|[1-9][0-9]{0,5})"
_ENTRY = re.compile(rf"(manifest|{_ARRAY_KEY})\.npy")
_FLOAT_DTYPES = {np.dtype(t).newbyteorder(o).str for t in ("f2", "f4", "f8") for o in "<>"}
_TEMP_PREFIX = ".nnlearn-"
_STARTED = time.time()              # temporary files older than this process are stale


def _checksum(a: np.ndarray) -> str:
    import hashlib
    return hashlib.sha256(np.ascontiguousarray(a)).hexdigest()


def write_archive(file, manifest: dict, arrays: dict) -> None:
    """``arrays`` and a JSON ``manifest`` (with each array's shape, dtype and SHA-256) as
    one .npz, to a path (see :func:`_save_atomically`) or a binary file object."""
    manifest = {**manifest, "arrays": {k: {"shape": list(a.shape), "dtype": a.dtype.str,
                                           "sha256": _checksum(a)} for k, a in arrays.items()}}
    try:
        text = json.dumps(manifest, allow_nan=False)
    except (TypeError, ValueError) as err:
        raise TypeError(f"cannot write the model file: {_unserialisable(manifest)} is not "
                        f"JSON-serialisable ({err})") from None
    data = text.encode()
    if len(data) > MAX_MANIFEST_BYTES:
        raise ValueError(f"cannot write the model file: its manifest (architecture and "
                         f"metadata) takes {len(data):,} bytes; load_model reads at most "
                         f"{MAX_MANIFEST_BYTES:,}")
    total = sum(a.nbytes for a in arrays.values())
    if total > MAX_MODEL_BYTES:
        raise ValueError(f"cannot write the model file: its arrays take {total:,} bytes; "
                         f"load_model reads at most {MAX_MODEL_BYTES:,}")
    arrays = {**arrays, "manifest": np.frombuffer(data, dtype=np.uint8)}
    if hasattr(file, "write"):
        np.savez(file, **arrays)
        return
    _save_atomically(os.fspath(file), lambda f: np.savez(f, **arrays))


def _save_atomically(path: str, write) -> None:
    """Call ``write(f)`` on a temporary file beside ``path``, fsync it and rename it over
    ``path``, so that a crash leaves the old file or the new one, never half of one.

    A symlink is written through (its target is replaced); an existing file keeps its
    mode (a new one gets the umask's default, as ``open`` would give it); a read-only
    destination is refused with PermissionError.  The temporary file is removed when
    anything fails, and temporary files that killed processes left in the directory are
    removed by the next save."""
    import tempfile
    target = os.path.realpath(path)
    directory = os.path.dirname(target)
    try:
        st = os.stat(target)
    except FileNotFoundError:
        st = None
    if st is not None:
        if stat.S_ISDIR(st.st_mode):
            raise IsADirectoryError(errno.EISDIR, f"{path} is a directory", path)
        if not stat.S_ISREG(st.st_mode):
            raise ValueError(f"{path} is not a regular file; not overwritten")
        if not st.st_mode & 0o222 or not os.access(target, os.W_OK):
            raise PermissionError(errno.EACCES, f"{path} is read-only; not overwritten "
                                  "(make it writable or choose another path)", path)
    mode = stat.S_IMODE(st.st_mode) if st is not None else 0o666 & ~_umask()
    _remove_stale_temporaries(directory)
    fd, tmp = tempfile.mkstemp(prefix=f"{_TEMP_PREFIX}{os.getpid()}-", suffix=".tmp",
                               dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            if hasattr(os, "fchmod"):
                os.fchmod(f.fileno(), mode)
                if st is not None and hasattr(os, "fchown") and \
                        (st.st_uid, st.st_gid) != (os.geteuid(), os.getegid()):
                    with contextlib.suppress(OSError):
                        os.fchown(f.fileno(), st.st_uid, st.st_gid)
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_directory(directory)


def _umask() -> int:
    """The process's umask, read without changing it where the system says it."""
    with contextlib.suppress(OSError, ValueError):
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    mask = os.umask(0o022)  # elsewhere: set and restore (not thread-safe, but brief)
    os.umask(mask)
    return mask


def _fsync_directory(directory: str) -> None:
    """Make the rename durable (POSIX; a no-op where directories cannot be opened)."""
    with contextlib.suppress(OSError, AttributeError):
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _remove_stale_temporaries(directory: str) -> None:
    """Remove the temporary files of saves that never finished (a process killed while
    writing): named ``.nnlearn-<pid>-*.tmp``, last written before this process started,
    and not written by a process that is still running."""
    with contextlib.suppress(OSError):
        with os.scandir(directory) as entries:
            for entry in entries:
                name = entry.name
                if not (name.startswith(_TEMP_PREFIX) and name.endswith(".tmp")):
                    continue
                with contextlib.suppress(OSError):
                    st = entry.stat(follow_symlinks=False)
                    if not stat.S_ISREG(st.st_mode) or st.st_mtime >= _STARTED:
                        continue
                    writer = re.match(rf"{re.escape(_TEMP_PREFIX)}([0-9]+)-", name)
                    pid = int(writer.group(1)) if writer else None
                    if pid is not None and pid != os.getpid() and _running(pid):
                        continue
                    os.unlink(entry.path)


def _running(pid: int) -> bool:
    if os.name != "posix":  # os.kill(pid, 0) is not a probe on Windows
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (OSError, OverflowError):
        return True
    return True


def _unserialisable(manifest: dict) -> str:
    """Which part of a manifest JSON cannot hold: a layer's config entry or the metadata."""
    for spec in manifest.get("model", {}).get("layers", []):
        for key, value in spec["config"].items():
            try:
                json.dumps(value, allow_nan=False)
            except (TypeError, ValueError):
                return f"{spec['class_name']} layer's {key}={value!r}"
    return "model.metadata"


# -- reading: the zip ---------------------------------------------------------------------------
def _unreadable(where: str, why, kind: str = "nnlearn model file") -> ValueError:
    return ValueError(f"{where} is not a readable {kind} ({why})")


@contextlib.contextmanager
def _open_archive(file):
    """(zip, {entry key: ZipInfo}, where) of a model file whose directory and entries
    were checked; nothing but the directory has been read."""
    with open_zip(file) as (archive, size, where):
        yield archive, _check_entries(archive, size, where), where


@contextlib.contextmanager
def open_zip(file, kind: str = "nnlearn model file"):
    """(zip, file size, where) of a zip whose central directory is at most
    MAX_DIRECTORY_BYTES and whose entries lie inside the file without overlapping
    (also what :mod:`nnlearn.datasets.tabular` reads .npz data through)."""
    import zipfile
    where = where_of(file)
    if hasattr(file, "read"):
        fp, own = file, False
    else:
        if not os.path.exists(where):
            raise FileNotFoundError(f"no such {kind.replace('nnlearn ', '')}: {where}")
        if os.path.isdir(where):
            raise IsADirectoryError(f"{where} is a directory, not a {kind}")
        if not stat.S_ISREG(os.stat(where).st_mode):  # opening a FIFO would wait forever
            raise ValueError(f"{where} is not a regular file (a FIFO, a device or a "
                             f"socket?); a {kind} must be one")
        fp, own = open(where, "rb"), True
    try:
        try:
            size = fp.seek(0, os.SEEK_END)
            fp.seek(0)
        except (OSError, AttributeError, ValueError) as err:
            raise ValueError(f"{where}: a file object must be seekable ({err})") from None
        _check_end_record(fp, size, where, kind)
        try:
            archive = zipfile.ZipFile(fp)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError,
                NotImplementedError, struct.error) as err:
            raise _unreadable(where, f"truncated or corrupted? {err}", kind) from None
        with archive:
            _check_extents(archive, size, where, kind)
            yield archive, size, where
    finally:
        if own:
            fp.close()


def _check_end_record(fp, size: int, where: str, kind: str) -> None:
    """Find the zip's end record as zipfile does and refuse a central directory larger
    than MAX_DIRECTORY_BYTES before zipfile reads it (each entry costs memory)."""
    tail_size = min(size, 22 + 65535)
    fp.seek(size - tail_size)
    tail = fp.read(tail_size)
    fp.seek(0)
    if len(tail) >= 22 and tail[-22:-18] == b"PK\x05\x06" and tail[-2:] == b"\0\0":
        start = len(tail) - 22
    else:
        start = tail.rfind(b"PK\x05\x06")
    if start < 0 or len(tail) - start < 22:
        raise _unreadable(where, "not a zip archive: truncated, or not a model"
                          if kind == "nnlearn model file" else "not a zip archive", kind)
    *_, directory_size, _, _ = struct.unpack("<4s4H2LH", tail[start:start + 22])
    if directory_size == 0xFFFFFFFF and start >= 20 and tail[start - 20:start - 16] == \
            b"PK\x06\x07":  # zip64: the sizes are in the zip64 end record
        _, _, offset, _ = struct.unpack("<4sLQL", tail[start - 20:start])
        if offset + 56 <= size:
            fp.seek(offset)
            record = fp.read(56)
            fp.seek(0)
            if len(record) == 56 and record[:4] == b"PK\x06\x06":
                directory_size = struct.unpack("<4sQ2H2L4Q", record)[7]
    if directory_size > MAX_DIRECTORY_BYTES:
        raise ValueError(f"{where}: the zip directory declares {directory_size:,} bytes; a "
                         f"model file's takes at most {MAX_DIRECTORY_BYTES:,}")


def check_entry(info: zipfile.ZipInfo, where: str) -> None:
    """Refuse an encrypted entry, an unsupported compression, a stored entry whose sizes
    disagree and a deflated one declaring more than MAX_EXPANSION times its compressed
    size (a zip bomb), from the zip directory alone."""
    import zipfile
    name = info.filename
    if info.flag_bits & 0x1:
        raise ValueError(f"{where}: entry {name!r} is encrypted")
    if info.compress_type == zipfile.ZIP_STORED:
        if info.compress_size != info.file_size:
            raise ValueError(f"{where}: entry {name!r} is stored with {info.compress_size:,}"
                             f" bytes but declares {info.file_size:,}")
    elif info.compress_type == zipfile.ZIP_DEFLATED:
        if info.file_size > MAX_EXPANSION * info.compress_size + _NPY_HEADER_BYTES:
            raise ValueError(f"{where}: entry {name!r} declares {info.file_size:,} bytes "
                             f"from {info.compress_size:,} compressed (more than "
                             f"{MAX_EXPANSION}x: a zip bomb?)")
    else:
        raise ValueError(f"{where}: entry {name!r} uses an unsupported compression "
                         f"(method {info.compress_type})")


def _check_entries(archive: zipfile.ZipFile, size: int, where: str) -> dict:
    """{key: ZipInfo} after checking each entry's name, compression and sizes (from the
    zip directory, against the file's size and the caps)."""
    entries, total = {}, 0
    for info in archive.infolist():
        name = info.filename
        if not _ENTRY.fullmatch(name):
            raise ValueError(f"{where}: unexpected entry {name[:100]!r} (a model file holds "
                             "only manifest.npy, weight_N.npy and optimizer_N.npy)")
        if name[:-4] in entries:
            raise ValueError(f"{where}: entry {name!r} appears twice")
        check_entry(info, where)
        total += info.file_size
        entries[name[:-4]] = info
    if "manifest" not in entries:
        raise _unreadable(where, "no manifest.npy: not a model file")
    if entries["manifest"].file_size > MAX_MANIFEST_BYTES + _NPY_HEADER_BYTES:
        raise ValueError(f"{where}: the manifest declares {entries['manifest'].file_size:,} "
                         f"bytes; at most {MAX_MANIFEST_BYTES:,} are read")
    if total > MAX_MODEL_BYTES + MAX_MANIFEST_BYTES:
        raise ValueError(f"{where}: the arrays declare {total:,} bytes in all; a model file "
                         f"holds at most {MAX_MODEL_BYTES:,}")
    return entries


def _check_extents(archive: zipfile.ZipFile, size: int, where: str, kind: str) -> None:
    """Every entry (local header and data) lies inside the file, before the directory,
    and no two overlap: the arrays' total size is bounded by the file's (an "overlapping
    entries" bomb makes one stored block count as thousands of arrays)."""
    end, previous = 0, None
    directory = getattr(archive, "start_dir", size)
    for info in sorted(archive.infolist(), key=lambda i: i.header_offset):
        if info.header_offset < end:
            raise ValueError(f"{where}: entries {previous!r} and {info.filename!r} overlap")
        archive.fp.seek(info.header_offset)
        header = archive.fp.read(30)
        if len(header) != 30 or header[:4] != b"PK\x03\x04":
            raise _unreadable(where, f"truncated or corrupted? no local header for entry "
                                     f"{info.filename!r}", kind)
        name_length, extra_length = struct.unpack("<HH", header[26:30])
        end = info.header_offset + 30 + name_length + extra_length + info.compress_size
        if end > min(size, directory):
            raise _unreadable(where, f"truncated: entry {info.filename!r} extends past the "
                                     "end of its data", kind)
        previous = info.filename
    archive.fp.seek(0)


class _Npy:
    """A checked .npy header: the array it announces fills its zip entry exactly."""

    def __init__(self, info, shape, fortran, dtype, offset):
        self.info, self.shape, self.fortran, self.dtype = info, shape, fortran, dtype
        self.offset = offset

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * self.dtype.itemsize


def npy_header(archive, info, where: str, dtypes) -> _Npy:
    """The header of one .npy entry, checked: a plain dtype among ``dtypes`` (a set of
    dtype strings, or (test, description)) and a shape whose size is exactly what the
    entry holds (nothing is allocated for it)."""
    import zipfile
    name = info.filename
    try:
        with archive.open(info) as f:
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                header = np.lib.format.read_array_header_1_0(f, _NPY_HEADER_BYTES)
            elif version == (2, 0):
                header = np.lib.format.read_array_header_2_0(f, _NPY_HEADER_BYTES)
            else:
                raise ValueError(f"npy format version {version} is not supported")
            offset = f.tell()
    except (ValueError, TypeError, SyntaxError, MemoryError, OSError, EOFError, RuntimeError,
            NotImplementedError, zipfile.BadZipFile, zlib.error, struct.error) as err:
        raise ValueError(f"{where}: entry {name!r} has no valid .npy header "
                         f"({' '.join(str(err).split())[:200]})") from None
    shape, fortran, dtype = header
    test, expected = dtypes if isinstance(dtypes, tuple) else \
        (dtypes.__contains__, " or ".join(sorted(dtypes)))
    if dtype.hasobject or dtype.fields is not None or dtype.subdtype is not None or \
            not test(dtype.str):
        raise ValueError(f"{where}: entry {name!r} holds dtype {dtype.str!r}; expected "
                         f"{expected}")
    if len(shape) > 32 or any(n < 0 for n in shape):
        raise ValueError(f"{where}: entry {name!r} declares an invalid shape {shape}")
    npy = _Npy(info, tuple(shape), bool(fortran), dtype, offset)
    if offset + npy.nbytes != info.file_size:
        raise ValueError(f"{where}: entry {name!r} declares an array of shape {npy.shape} "
                         f"({npy.nbytes:,} bytes) but holds {info.file_size - offset:,} bytes")
    return npy


def npy_data(archive, npy: _Npy, where: str, kind: str = "nnlearn model file") -> np.ndarray:
    """The array of a checked header, read in chunks into a buffer of its size."""
    import zipfile
    flat = np.empty(math.prod(npy.shape), npy.dtype)
    raw = flat.view(np.uint8)
    try:
        with archive.open(npy.info) as f:
            f.read(npy.offset)
            done = 0
            while done < len(raw):
                chunk = f.read(min(len(raw) - done, 2**20))
                if not chunk:
                    raise EOFError("the entry ends early")
                raw[done:done + len(chunk)] = np.frombuffer(chunk, np.uint8)
                done += len(chunk)
            f.read(1)  # reach the end: zipfile checks the CRC there
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError) as err:
        raise _unreadable(where, f"truncated or corrupted? entry {npy.info.filename!r}: "
                                 f"{err}", kind) from None
    return flat.reshape(npy.shape, order="F" if npy.fortran else "C")


# -- reading: the manifest and its schema -------------------------------------------------------
_SHAPE = [integer(0, description="a non-negative integer")]
_ARRAYS = MapOf(_ARRAY_KEY, {"shape": _SHAPE, "dtype": one_of(sorted(_FLOAT_DTYPES)),
                             "sha256": Schema("64 hexadecimal digits", lambda v: isinstance(
                                 v, str) and re.fullmatch(r"[0-9a-f]{64}", v) is not None)})
_WEIGHTS_MANIFEST = {"format": str, "version": int, "arrays": _ARRAYS}
_MODEL_MANIFEST = {
    **_WEIGHTS_MANIFEST, "metadata?": dict,
    "model": {"name": str, "seed": (None, int), "dtype": one_of(["float16", "float32",
                                                                "float64"]),
              "input_shape": (None, [SIZE]),
              "layers": [{"class_name": one_of(sorted(layers_module.LAYERS)),
                          "config": dict}],
              # a functional model's graph, checked by functional.check_graph (the node
              # count first, before any node is read)
              "graph?": dict},
    "compile?": (None, {"loss": IDENTIFIED, "metrics": [str], "optimizer": IDENTIFIED,
                        "iterations": integer(0, description="a non-negative integer"),
                        # a functional model's per-output settings ("loss" and "metrics"
                        # above are its first output's)
                        "outputs?": {"losses": [(None, IDENTIFIED)],
                                     "loss_weights": [NUMBER], "metrics": [[str]]}}),
}
def _json_object(pairs):
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        raise ValueError(f"duplicate key {next(k for k in keys if keys.count(k) > 1)!r}")
    return dict(pairs)


def _json_constant(name):
    raise ValueError(f"{name} is not allowed")


def _read_manifest(archive, entries: dict, where: str, formats: tuple) -> dict:
    """The manifest, parsed and checked against ``schema`` (and against the entries: one
    per declared array, of the declared shape and dtype)."""
    npy = npy_header(archive, entries["manifest"], where, {"|u1"})
    if len(npy.shape) != 1 or npy.nbytes > MAX_MANIFEST_BYTES:
        raise ValueError(f"{where}: the manifest must be at most {MAX_MANIFEST_BYTES:,} bytes "
                         f"of JSON; got an array of shape {npy.shape}")
    try:
        text = npy_data(archive, npy, where).tobytes().decode("utf-8")
        manifest = json.loads(text, object_pairs_hook=_json_object,
                              parse_constant=_json_constant)
    except RecursionError:
        raise ValueError(f"{where}: the manifest nests too deeply") from None
    except ValueError as err:  # JSONDecodeError, UnicodeDecodeError, too many digits
        raise _unreadable(where, f"its manifest is not JSON: {str(err)[:200]}") from None
    if not isinstance(manifest, dict):
        raise ValueError(f"{where}: the manifest must be a JSON object; got {short_repr(manifest)}")
    if manifest.get("format") not in formats:
        raise _unreadable(where, f"not an nnlearn file of format {' or '.join(formats)}: "
                                 f"format is {short_repr(manifest.get('format'))}")
    schema = _MODEL_MANIFEST if manifest["format"] == FORMAT else _WEIGHTS_MANIFEST
    config_schema.check(manifest, schema, "", where)
    if not 1 <= manifest["version"] <= FORMAT_VERSION:
        raise ValueError(f"{where}: format version {short_repr(manifest['version'])} is not "
                         f"one this nnlearn reads (1 to {FORMAT_VERSION}): a newer nnlearn "
                         "wrote it?")
    for prefix in ("weight_", "optimizer_"):
        numbers = sorted(int(k[len(prefix):]) for k in manifest["arrays"] if k.startswith(prefix))
        if numbers != list(range(len(numbers))):
            raise ValueError(f"{where}: arrays: the {prefix}N arrays must be numbered 0 to "
                             f"{len(numbers) - 1}")
    listed = set(manifest["arrays"])
    stray = sorted(set(entries) - listed - {"manifest"})
    if stray:
        raise ValueError(f"{where}: entry {stray[0]}.npy is not listed in the manifest")
    return manifest


def _array_headers(archive, entries: dict, manifest: dict, where: str) -> dict:
    """{key: checked .npy header} of every declared array, matching its declaration."""
    headers = {}
    for key, declared in manifest["arrays"].items():
        if key not in entries:
            raise ValueError(f"{where}: arrays.{key} is declared but the file has no {key}.npy")
        npy = npy_header(archive, entries[key], where, _FLOAT_DTYPES)
        if list(npy.shape) != declared["shape"] or npy.dtype.str != declared["dtype"]:
            raise ValueError(f"{where}: arrays.{key}: the manifest declares shape "
                             f"{tuple(declared['shape'])} {declared['dtype']}; {key}.npy holds "
                             f"{npy.shape} {npy.dtype.str}")
        headers[key] = npy
    return headers


def read_archive(file, formats: tuple, check=None):
    """(manifest, arrays, check's result) of a file written by :func:`write_archive` of
    one of ``formats``.  ``check(manifest, where)`` runs after the manifest and every
    array header are checked and before any array is read.  Never unpickles; a damaged,
    altered or hostile file raises ValueError naming the file and the field."""
    with _open_archive(file) as (archive, entries, where):
        manifest = _read_manifest(archive, entries, where, formats)
        headers = _array_headers(archive, entries, manifest, where)
        checked = check(manifest, where) if check is not None else None
        arrays = {}
        for key, npy in headers.items():
            a = npy_data(archive, npy, where)
            if _checksum(a) != manifest["arrays"][key]["sha256"]:
                raise ValueError(f"{where}: array {key!r} does not match its checksum: the "
                                 "file was altered or damaged")
            arrays[key] = a
    return manifest, arrays, checked


def numbered(arrays: dict, prefix: str) -> list:
    """The arrays named ``prefix0``, ``prefix1``, ... in order (as many as there are)."""
    return [arrays[f"{prefix}{i}"] for i in range(sum(1 for k in arrays
                                                      if k.startswith(prefix)))]


def _declared_weights(manifest: dict) -> list:
    count = sum(1 for k in manifest["arrays"] if k.startswith("weight_"))
    return [tuple(manifest["arrays"][f"weight_{i}"]["shape"]) for i in range(count)]


def check_weight_shapes(expected: list, manifest: dict, where: str) -> None:
    """The declared weights must be exactly the architecture's (before any is read)."""
    declared = _declared_weights(manifest)
    if len(declared) != len(expected):
        raise ValueError(f"{where}: arrays: the architecture has {len(expected)} weight "
                         f"arrays; the file declares {len(declared)}")
    for i, (want, have) in enumerate(zip(expected, declared)):
        if tuple(want) != have:
            raise ValueError(f"{where}: arrays.weight_{i}: the architecture needs shape "
                             f"{tuple(want)}; the file declares {have}")


# Values one sample may take in one layer's forward pass (its output, or a convolution's
# padded input): a ZeroPadding2D of 6,000 in a 1.9 KB file would otherwise take 576 MB a
# sample at predict.  predict then takes as many samples at once as fit in
# MAX_PREDICT_BATCH_BYTES (see Model.predict).
MAX_SAMPLE_VALUES = 2**24           # 16,777,216: 64 MiB a sample in float32
MAX_PREDICT_BATCH_BYTES = 32 * 2**20  # the largest layer's values of one predict batch


def predict_batch_size(model, batch_size: int) -> int:
    """``batch_size``, made smaller where needed so that the largest layer's values for
    one batch (``Layer.values_per_sample`` of each built layer, times the dtype's size) take
    at most MAX_PREDICT_BATCH_BYTES, and at least 1: predict's memory is bounded
    whatever the batch size asked for (the outputs do not depend on the batching)."""
    largest = max((layer.values_per_sample(tuple(layer.input_shape), tuple(layer.output_shape))
                   for layer in model.layers if getattr(layer, "built", False)
                   and layer.input_shape is not None and layer.output_shape is not None),
                  default=0)
    per_sample = largest * np.dtype(model.dtype).itemsize
    if per_sample == 0:
        return batch_size
    return max(1, min(batch_size, MAX_PREDICT_BATCH_BYTES // per_sample))


def working_values(layer, input_shape: tuple, output_shape: tuple) -> int:
    """The values one sample takes in ``layer``'s forward pass (the layer says:
    :meth:`Layer.values_per_sample <nnlearn.layers.Layer.values_per_sample>`)."""
    return layer.values_per_sample(tuple(input_shape), tuple(output_shape))


def check_sample_values(layer, index: int, input_shape: tuple, output_shape: tuple) -> None:
    """ValueError when one sample would take more than MAX_SAMPLE_VALUES values in
    ``layer`` (the ``index``-th), before anything is built or run."""
    values = layer.values_per_sample(tuple(input_shape), tuple(output_shape))
    if values > MAX_SAMPLE_VALUES:
        raise ValueError(f"model.layers[{index}] ({type(layer).__name__}) would take "
                         f"{values:,} values per sample (output shape {tuple(output_shape)}); "
                         f"at most {MAX_SAMPLE_VALUES:,} are allowed")


def where_of(file) -> str:
    """How an error names ``file``: its path, or the file object's name."""
    if hasattr(file, "read"):
        return str(getattr(file, "name", None) or "the file object")
    return os.fspath(file)
