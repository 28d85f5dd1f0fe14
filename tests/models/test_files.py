"""Model files against hostile input and careless use: every hostile file (tests/hostile)
refused with ValueError, without side effects and in bounded memory; the checks made
before anything is read; save's care of the destination (mode, symlinks, read-only
files, fsync, temporary files); a bounded fuzz of load_model."""

import io
import json
import os
import signal
import stat
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import hostile
import nnlearn as nl
from nnlearn.models import files as model_files, loading
from nnlearn.layers import (Activation, BatchNormalization, Dense, Dropout, Flatten, Input,
                            PReLU)

TESTS = Path(__file__).parent.parent


@pytest.fixture(scope="module")
def hostile_cases():
    return hostile.cases()


def small(units=3, compile=True):
    model = nl.Sequential([Input(2), Dense(units, activation="softmax")], seed=0)
    if compile:
        model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.build((2,))
    return model


# -- hostile files ----------------------------------------------------------------------------
def test_every_hostile_file_is_refused_with_a_value_error_naming_file_and_field(
        hostile_cases, tmp_path, monkeypatch):
    directory = tmp_path / "files"
    directory.mkdir()
    monkeypatch.chdir(tmp_path)  # where a payload would write its marker
    failures = []
    for name, (data, fragment) in hostile_cases.items():
        path = directory / f"{name}.nnlearn"
        path.write_bytes(data)
        before = sorted(os.listdir(tmp_path)), sorted(os.listdir(directory))
        try:
            nl.load_model(path)
            failures.append(f"{name}: accepted")
        except ValueError as err:
            if fragment not in str(err) or str(path) not in str(err):
                failures.append(f"{name}: {err}")
        except Exception as err:  # noqa: BLE001 - any other error is the failure reported
            failures.append(f"{name}: {type(err).__name__}: {err}")
        if (sorted(os.listdir(tmp_path)), sorted(os.listdir(directory))) != before:
            failures.append(f"{name}: files changed")
    assert not (tmp_path / hostile.MARKER).exists()
    assert not failures, "\n".join(failures)
    assert len(hostile_cases) >= 60


def test_hostile_weight_files_are_refused_by_load_weights_too(hostile_cases):
    model = small()
    for name in ("pickled_weight", "npy_shape_1e12", "deflate_bomb", "overlapping_entries",
                 "traversal_name", "manifest_nested_100k", "checksum_mismatch"):
        data, fragment = hostile_cases[name]
        with pytest.raises(ValueError, match="the file object"):
            model.load_weights(io.BytesIO(data))


RSS_SCRIPT = textwrap.dedent("""
    import json, os, sys
    import nnlearn as nl

    def status(key):
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024

    def reset_peak():
        try:
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")  # VmHWM := VmRSS (Linux >= 4.0)
            return True
        except OSError:
            return False

    directory, valid = sys.argv[1], sys.argv[2]
    nl.load_model(valid)  # warm up: every module and cache a load needs
    start = status("VmRSS")
    results = {}
    for name in sorted(os.listdir(directory)):
        resettable = reset_peak()
        base = status("VmRSS") if resettable else start
        try:
            nl.load_model(os.path.join(directory, name))
            outcome = "accepted"
        except ValueError:
            outcome = "ValueError"
        except BaseException as err:
            outcome = type(err).__name__
        results[name] = [outcome, status("VmHWM") - base]
    print(json.dumps(results))
""")


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="reads /proc (Linux)")
def test_hostile_files_are_refused_in_bounded_memory(hostile_cases, tmp_path):
    """Each hostile file loaded in a fresh process: the peak RSS during its load stays
    under 100 MB above what the process held before (the peak is reset between files
    where Linux allows it, else measured from the start: an upper bound)."""
    directory = tmp_path / "files"
    directory.mkdir()
    for name, (data, _) in hostile_cases.items():
        (directory / f"{name}.nnlearn").write_bytes(data)
    (tmp_path / "valid.nnlearn").write_bytes(hostile.valid_model_bytes())
    result = subprocess.run([sys.executable, "-c", RSS_SCRIPT, str(directory),
                             str(tmp_path / "valid.nnlearn")], capture_output=True, text=True,
                            cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr
    results = json.loads(result.stdout)
    assert len(results) == len(hostile_cases)
    refused = {name: outcome for name, (outcome, _) in results.items() if outcome != "ValueError"}
    assert not refused, refused
    peaks = {name: rss for name, (_, rss) in results.items()}
    worst = max(peaks, key=peaks.get)
    assert peaks[worst] < 100 * 2**20, f"{worst}: {peaks[worst] / 2**20:.1f} MB above baseline"
    assert not (tmp_path / hostile.MARKER).exists()


# -- what is checked, and when --------------------------------------------------------------
LAYER_STACKS = [
    ([Input(4), Dense(3), Dense(2, use_bias=False)], (4,)),
    ([BatchNormalization(), Dense(2)], (5,)),
    ([PReLU(), Activation("tanh"), Dropout(0.5), Dense(1)], (3,)),
    ([Flatten(), Dense(2)], (2, 3)),
    ([nl.layers.RandomFlip(), nl.layers.RandomTranslation(0.1, 0.1),
      nl.layers.RandomRotation(0.1), nl.layers.RandomZoom(0.1), nl.layers.GaussianNoise(0.1),
      nl.layers.ZeroPadding2D(((1, 0), (2, 1))), nl.layers.Conv2D(3, 3, strides=2),
      nl.layers.MaxPooling2D(padding="same"), nl.layers.GaussianDropout(0.2),
      nl.layers.Conv2D(2, (2, 1), padding="same", dilation_rate=2, use_bias=False),
      nl.layers.AveragePooling2D(1), nl.layers.GlobalMaxPooling2D()], (9, 8, 2)),
    ([nl.layers.Conv2D(4, 3), nl.layers.GlobalAveragePooling2D(), nl.layers.Reshape((2, -1)),
      nl.layers.Conv1D(3, 2, padding="same"), nl.layers.MaxPooling1D(1),
      nl.layers.AveragePooling1D(1), nl.layers.Conv1D(2, 1), nl.layers.GlobalMaxPooling1D(),
      nl.layers.Reshape((1, 2)), nl.layers.GlobalAveragePooling1D()], (5, 5, 1)),
    ([nl.layers.Embedding(9, 3), nl.layers.SimpleRNN(4, return_sequences=True),
      nl.layers.Bidirectional(nl.layers.LSTM(2, return_sequences=True), merge_mode="sum"),
      nl.layers.TimeDistributed(nl.layers.Dense(3)),
      nl.layers.GRU(2, reset_after=False, return_sequences=True, use_bias=False),
      nl.layers.LSTM(3, return_sequences=True, go_backwards=True),
      nl.layers.Bidirectional(nl.layers.GRU(3)), nl.layers.Dense(1)], (6,)),
]


@pytest.mark.parametrize("layer_list, shape", LAYER_STACKS)
def test_the_weight_shapes_checked_before_building_are_the_built_ones(layer_list, shape):
    expected = loading._expected_weights(layer_list, shape)
    model = nl.Sequential(layer_list, seed=0)
    model.build(shape)
    assert expected == [w.shape for w in model.get_weights()]


def test_every_registered_layer_has_its_weight_shapes_known_without_building():
    covered = {type(layer).__name__ for stack, _ in LAYER_STACKS for layer in stack}
    merges = {cls.__name__ for cls in nl.layers.MERGE_LAYERS}  # several inputs: checked in
    assert covered | merges == set(nl.layers.LAYERS)           # tests/test_functional.py
    for stack, shape in LAYER_STACKS:
        for layer in stack:
            known = layer.weight_shapes(shape)  # declared by the layer itself
            assert known is not None, type(layer).__name__
            shape = tuple(known[1])


def test_a_wide_declared_input_is_refused_before_anything_is_built(monkeypatch):
    data, _ = hostile.cases(bomb_bytes=2**20)["wide_input_1e6"]

    def no_build(self, *args, **kwargs):
        raise AssertionError("built before the shapes were checked")

    monkeypatch.setattr(Dense, "build", no_build)
    with pytest.raises(ValueError, match=r"needs shape \(1000000, 300\)"):
        nl.load_model(io.BytesIO(data))


def test_load_weights_checks_the_declared_shapes_against_the_model():
    buffer = io.BytesIO()
    small(3).save_weights(buffer)
    with pytest.raises(ValueError, match=r"arrays.weight_0: the architecture needs shape "
                                         r"\(2, 4\); the file declares \(2, 3\)"):
        small(4).load_weights(io.BytesIO(buffer.getvalue()))


def test_files_written_before_metadata_existed_still_load():
    data = hostile.valid_model_bytes()
    manifest = hostile.manifest_of(data)
    del manifest["metadata"]
    model = nl.load_model(io.BytesIO(hostile.with_manifest(data, manifest)))
    assert model.metadata == {}


def test_metadata_of_the_wrong_type_is_refused_at_save(tmp_path):
    model = small()
    model.metadata = ["not", "a", "dict"]
    with pytest.raises(TypeError, match="metadata must be a dict; got list"):
        model.save(tmp_path / "m.nnlearn")
    assert not list(tmp_path.iterdir())


def test_big_endian_and_fortran_ordered_arrays_still_load():
    data = hostile.valid_model_bytes()
    model = nl.load_model(io.BytesIO(data))
    parts = hostile.members(data)
    kernel = np.asfortranarray(model.get_weights()[0]).astype(">f4")
    manifest = hostile.manifest_of(data)
    manifest["arrays"]["weight_0"].update(dtype=">f4", sha256=model_files._checksum(kernel))
    parts["weight_0.npy"] = hostile.npy(kernel)
    parts["manifest.npy"] = hostile.npy(np.frombuffer(json.dumps(manifest).encode(), np.uint8))
    loaded = nl.load_model(io.BytesIO(hostile.zip_of(parts.items())))
    np.testing.assert_array_equal(loaded.get_weights()[0], model.get_weights()[0])


# -- save: the destination ------------------------------------------------------------------
def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_save_keeps_the_mode_of_the_file_it_replaces(tmp_path):
    path = tmp_path / "m.nnlearn"
    path.write_bytes(b"old")
    for wanted in (0o644, 0o640, 0o664):
        os.chmod(path, wanted)
        small().save(path)
        assert mode(path) == wanted
    nl.load_model(path)


def test_a_new_file_gets_the_mode_the_umask_gives(tmp_path):
    old = os.umask(0o027)
    try:
        small().save(tmp_path / "new.nnlearn")
        small().save_weights(tmp_path / "new.weights")
    finally:
        os.umask(old)
    assert mode(tmp_path / "new.nnlearn") == 0o640
    assert mode(tmp_path / "new.weights") == 0o640


def test_save_writes_through_a_symlink(tmp_path):
    (tmp_path / "models").mkdir()
    real = tmp_path / "models" / "real.nnlearn"
    real.write_bytes(b"old")
    link = tmp_path / "latest.nnlearn"
    link.symlink_to(real)
    small(4).save(link)
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert nl.load_model(real).layers[-1].units == 4
    dangling = tmp_path / "dangling.nnlearn"
    dangling.symlink_to(tmp_path / "models" / "new.nnlearn")
    small().save(dangling)
    assert dangling.is_symlink() and (tmp_path / "models" / "new.nnlearn").is_file()
    assert sorted(p.name for p in (tmp_path / "models").iterdir()) == ["new.nnlearn",
                                                                      "real.nnlearn"]


def test_a_read_only_destination_is_refused_and_left_alone(tmp_path):
    path = tmp_path / "m.nnlearn"
    path.write_bytes(b"precious")
    os.chmod(path, 0o444)
    with pytest.raises(PermissionError, match="read-only; not overwritten"):
        small().save(path)
    assert path.read_bytes() == b"precious" and mode(path) == 0o444
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.nnlearn"]


def test_save_fsyncs_the_file_and_its_directory(tmp_path, monkeypatch):
    synced = []
    real_fsync = os.fsync

    def fsync(fd):
        synced.append("directory" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    small().save(tmp_path / "m.nnlearn")
    assert synced == ["file", "directory"]


def test_a_failed_write_removes_its_temporary_file(tmp_path, monkeypatch):
    path = tmp_path / "m.nnlearn"
    small().save(path)
    before = path.read_bytes()

    def interrupted(fd):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        small(5).save(path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.nnlearn"]


def test_the_next_save_removes_temporary_files_of_dead_writers_only(tmp_path):
    old = model_files._STARTED - 60
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        files = {
            ".nnlearn-999999999-dead.tmp": (old, False),          # a writer long gone
            ".nnlearn-oldstyle.tmp": (old, False),                # before pids were in names
            f".nnlearn-{sleeper.pid}-busy.tmp": (old, True),      # its writer still runs
            ".nnlearn-999999999-recent.tmp": (time.time(), True),  # newer than this process
            ".nnlearn-notes.txt": (old, True),                    # not one of ours
        }
        for name, (mtime, _) in files.items():
            (tmp_path / name).write_bytes(b"partial")
            os.utime(tmp_path / name, (mtime, mtime))
        small().save(tmp_path / "m.nnlearn")
        for name, (_, kept) in files.items():
            assert (tmp_path / name).exists() == kept, name
    finally:
        sleeper.kill()
        sleeper.wait()


KILLED_SCRIPT = textwrap.dedent("""
    import os, signal, sys
    import numpy as np
    import nnlearn as nl

    def dying_savez(f, **arrays):
        f.write(b"PK half a model")
        f.flush()
        os.kill(os.getpid(), signal.SIGKILL)

    model = nl.Sequential([nl.layers.Dense(2)], seed=0)
    model.build((2,))
    np.savez = dying_savez
    model.save(sys.argv[1])
""")


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="POSIX signals")
def test_a_save_killed_midway_leaves_the_old_file_and_the_next_save_cleans_up(tmp_path):
    path = tmp_path / "m.nnlearn"
    small().save(path)
    before = path.read_bytes()
    killed = subprocess.run([sys.executable, "-c", KILLED_SCRIPT, str(path)])
    assert killed.returncode == -signal.SIGKILL
    assert path.read_bytes() == before
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".nnlearn-")]
    assert len(leftovers) == 1
    subprocess.run([sys.executable, "-c", "import sys, nnlearn as nl; "
                    "m = nl.load_model(sys.argv[1]); m.save(sys.argv[1])", str(path)],
                   check=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.nnlearn"]


def test_a_directory_or_a_path_under_a_file_is_an_os_error_naming_it(tmp_path):
    with pytest.raises(IsADirectoryError, match="is a directory"):
        small().save(tmp_path)
    (tmp_path / "file").write_text("x")
    with pytest.raises(NotADirectoryError):
        small().save(tmp_path / "file" / "m.nnlearn")


# -- fuzz -------------------------------------------------------------------------------------
VALID = hostile.valid_model_bytes()
VALID_MANIFEST = hostile.manifest_of(VALID)


def refused_cleanly(data: bytes) -> None:
    """load_model either loads ``data`` or raises ValueError; nothing else escapes."""
    try:
        nl.load_model(io.BytesIO(data))
    except ValueError:
        pass


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_fuzz_load_model_with_damaged_bytes(data):
    raw = bytearray(VALID)
    for _ in range(data.draw(st.integers(1, 8))):
        kind = data.draw(st.sampled_from(["flip", "set", "cut", "insert", "delete"]))
        at = data.draw(st.integers(0, max(len(raw) - 1, 0)))
        if kind == "flip" and raw:
            raw[at] ^= 1 << data.draw(st.integers(0, 7))
        elif kind == "set" and raw:
            raw[at] = data.draw(st.sampled_from([0, 0xFF, 0x7F, 0x80]))
        elif kind == "cut":
            del raw[at:]
        elif kind == "insert":
            raw[at:at] = data.draw(st.binary(min_size=1, max_size=16))
        elif kind == "delete":
            del raw[at:at + data.draw(st.integers(1, 16))]
    refused_cleanly(bytes(raw))


JSON = st.recursive(st.none() | st.booleans() | st.integers(-2**70, 2**70)
                    | st.floats(allow_nan=False) | st.text(max_size=12),
                    lambda children: st.lists(children, max_size=4)
                    | st.dictionaries(st.text(max_size=10), children, max_size=4),
                    max_leaves=12)


def paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from paths(value, prefix + (key,))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from paths(value, prefix + (i,))


MANIFEST_PATHS = [p for p in paths(VALID_MANIFEST) if p]


@pytest.mark.filterwarnings("ignore:the loss takes logits:UserWarning")
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(MANIFEST_PATHS), JSON | st.integers(0, 10**7)),
                min_size=1, max_size=4),
       st.booleans())
def test_fuzz_load_model_with_mutated_manifests(edits, drop):
    manifest = json.loads(json.dumps(VALID_MANIFEST))
    for path, value in edits:
        node = manifest
        try:
            for key in path[:-1]:
                node = node[key]
            if drop and isinstance(node, dict):
                node.pop(path[-1], None)
            else:
                node[path[-1]] = value
        except (KeyError, IndexError, TypeError):
            continue
    refused_cleanly(hostile.with_manifest(VALID, manifest))


def test_the_fuzzed_file_is_a_valid_model_to_begin_with():
    model = nl.load_model(io.BytesIO(VALID))
    assert model.metadata == {"features": ["a", "b"]}
    with zipfile.ZipFile(io.BytesIO(VALID)) as z:
        assert all(i.compress_type == zipfile.ZIP_STORED for i in z.infolist())


def test_grouped_and_causal_convolutions_round_trip_through_a_model_file(tmp_path):
    model = nl.Sequential([Input((10, 4)),
                           nl.layers.Conv1D(4, 3, padding="causal", dilation_rate=2, groups=4),
                           nl.layers.Reshape((10, 2, 2)),
                           nl.layers.Conv2D(6, (3, 2), padding="same", groups=2),
                           nl.layers.Flatten(), Dense(1)], seed=0)
    model.build((10, 4))
    assert [w.shape for w in model.get_weights()[:4]] == [(3, 1, 4), (4,), (3, 2, 1, 6), (6,)]
    assert loading._expected_weights(model.layers, (10, 4)) == [
        w.shape for w in model.get_weights()]
    lines = []
    model.summary(print_fn=lines.append)
    assert any("Conv1D" in line and "(None, 10, 4)" in line and "16" in line for line in lines)
    assert any("Conv2D" in line and "(None, 10, 2, 6)" in line and "42" in line
               for line in lines)
    x = np.random.default_rng(0).standard_normal((3, 10, 4)).astype(np.float32)
    model.save(tmp_path / "grouped.nnlearn")
    again = nl.load_model(tmp_path / "grouped.nnlearn")
    assert again.layers[1].padding == "causal" and again.layers[1].groups == 4
    assert again.layers[3].groups == 2
    np.testing.assert_array_equal(again.predict(x), model.predict(x))


# -- issue 32, item 9: what a layer may take per sample, and predict's batches ------------------
PREDICT_RSS_SCRIPT = """
import os, sys, json
import numpy as np
import nnlearn as nl
from nnlearn.layers import Dense, GlobalAveragePooling2D, Input, Reshape, ZeroPadding2D

def status(key):
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith(key + ":")) * 1024

model = nl.Sequential([Input(2), Reshape((1, 1, 2)), ZeroPadding2D(1400),
                       GlobalAveragePooling2D(), Dense(3, activation="softmax")], seed=0)
x = np.ones((10, 2), np.float32)
model.predict(x[:1])  # everything imported and compiled
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")
before = status("VmRSS")
out = model.predict(x)
print(json.dumps([status("VmHWM") - before, out.shape]))
"""


@pytest.mark.skipif(not os.path.exists("/proc/self/clear_refs"), reason="reads /proc (Linux)")
def test_predict_takes_bounded_memory_whatever_the_batch_size():
    """A ZeroPadding2D of 1,400 around a 1 x 1 x 2 image: 15.7 million values (63 MB) a
    sample, under MAX_SAMPLE_VALUES; 10 rows in one batch of the default 1,024 would take
    630 MB in that layer alone.  predict takes as many rows at once as fit in
    MAX_PREDICT_BATCH_BYTES."""
    result = subprocess.run([sys.executable, "-c", PREDICT_RSS_SCRIPT], capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    peak, shape = json.loads(result.stdout)
    assert shape == [10, 3]
    assert peak < 250 * 2**20, f"{peak / 2**20:.0f} MB above the RSS before predict"


def test_predict_batches_are_sized_by_the_largest_layer():
    from nnlearn.models import files as model_files
    from nnlearn.layers import Flatten, Reshape, ZeroPadding2D

    small = nl.Sequential([Input(784), Dense(512, activation="relu"), Dense(10)], seed=0)
    small.build((784,))
    assert model_files.predict_batch_size(small, 1024) == 1024  # unchanged for an MLP
    padded = nl.Sequential([Input(4), Reshape((2, 2, 1)), ZeroPadding2D(500), Flatten(),
                            Dense(1)], seed=0)
    padded.build((4,))
    per_sample = 1002 * 1002 * 4  # float32
    assert model_files.predict_batch_size(padded, 1024) == \
        model_files.MAX_PREDICT_BATCH_BYTES // per_sample
    dilated = nl.Sequential([Input(4), Reshape((4, 1)), nl.layers.Conv1D(
        1, 3, padding="same", dilation_rate=10**6)], seed=0)
    dilated.build((4,))
    assert model_files.working_values(dilated.layers[2], (4, 1), (4, 1)) == 4 + 2 * 10**6
    x = np.random.default_rng(0).standard_normal((9, 4)).astype(np.float32)
    np.testing.assert_array_equal(padded.predict(x), np.concatenate(
        [padded.predict(x[i:i + 1], batch_size=1) for i in range(9)]))
