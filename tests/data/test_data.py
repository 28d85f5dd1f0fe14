"""fit/evaluate/predict on data sources other than in-memory arrays (nnlearn.data)."""

import threading

import numpy as np
import pytest

import nnlearn as nl
from nnlearn.data import BatchError, PyDataset, read_rows
from nnlearn.lowering import planner
from nnlearn.models import mlp


def _data(n=203, features=6, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, features)).astype(np.float32)
    y = nl.utils.to_categorical(rng.integers(0, classes, n), classes)
    return x, y


def _model(dropout=0.0, optimizer="adam"):
    model = mlp(6, [16], 3, output_activation="softmax", dropout=dropout, seed=1)
    model.compile(optimizer=optimizer, loss="categorical_crossentropy", metrics=["accuracy"])
    return model


class Batches(PyDataset):
    """The arrays' consecutive batches (fit's batches with shuffle=False)."""

    def __init__(self, x, y, batch_size, weights=None, **kwargs):
        super().__init__(**kwargs)
        self.x, self.y, self.w, self.batch_size = x, y, weights, batch_size
        self.epochs_ended = 0

    def __len__(self):
        return -(-len(self.x) // self.batch_size)

    def __getitem__(self, index):
        rows = slice(index * self.batch_size, (index + 1) * self.batch_size)
        if self.w is None:
            return self.x[rows], self.y[rows]
        return self.x[rows], self.y[rows], self.w[rows]

    def on_epoch_end(self):
        self.epochs_ended += 1


def _same(a, b):
    return all(np.array_equal(u, v) for u, v in zip(a.get_weights(), b.get_weights()))


# -- must show: the same weights, bit for bit --------------------------------------------
@pytest.mark.parametrize("workers", [0, 1, 3])
def test_pydataset_gives_the_weights_of_the_arrays_bit_for_bit(workers):
    x, y = _data()
    w = np.random.default_rng(2).uniform(0.5, 2, len(x))
    on_arrays, on_dataset = _model(dropout=0.2), _model(dropout=0.2)
    h1 = on_arrays.fit(x, y, epochs=3, batch_size=32, shuffle=False, seed=5, verbose=0,
                       sample_weight=w)
    data = Batches(x, y, 32, w, workers=workers, max_queue_size=2)
    h2 = on_dataset.fit(data, epochs=3, shuffle=False, seed=5, verbose=0)
    assert _same(on_arrays, on_dataset)
    assert h1.history == h2.history
    assert data.epochs_ended == 3
    assert on_arrays.evaluate(x, y, 32, sample_weight=w) == on_dataset.evaluate(data)
    assert np.array_equal(on_arrays.predict(x), on_dataset.predict(data))


def test_memmap_gives_the_weights_of_the_arrays_bit_for_bit(tmp_path):
    x, y = _data()
    x64 = x.astype(np.float64)  # converted to the model's float32 a batch at a time
    np.save(tmp_path / "x.npy", x64)
    np.save(tmp_path / "y.npy", y)
    xm = np.load(tmp_path / "x.npy", mmap_mode="r")
    ym = np.load(tmp_path / "y.npy", mmap_mode="r")
    assert isinstance(xm, np.memmap)
    on_arrays, on_file = _model(dropout=0.2), _model(dropout=0.2)
    h1 = on_arrays.fit(x64, y, epochs=3, batch_size=16, seed=7, verbose=0,
                       validation_split=0.2)
    h2 = on_file.fit(xm, ym, epochs=3, batch_size=16, seed=7, verbose=0, validation_split=0.2)
    assert _same(on_arrays, on_file)
    assert h1.history == h2.history
    assert np.array_equal(on_arrays.predict(x64), on_file.predict(xm, batch_size=50))
    assert on_arrays.evaluate(x64, y, 50) == on_file.evaluate(xm, ym, batch_size=50)


def test_h5py_dataset_gives_the_weights_of_the_arrays_bit_for_bit(tmp_path):
    h5py = pytest.importorskip("h5py")
    x, y = _data()
    with h5py.File(tmp_path / "data.h5", "w") as f:
        f["x"], f["y"] = x, y
    on_arrays, on_file = _model(), _model()
    on_arrays.fit(x, y, epochs=2, batch_size=16, seed=3, verbose=0)
    with h5py.File(tmp_path / "data.h5", "r") as f:
        on_file.fit(f["x"], f["y"], epochs=2, batch_size=16, seed=3, verbose=0)
        assert np.array_equal(on_arrays.predict(x), on_file.predict(f["x"]))
    assert _same(on_arrays, on_file)


def test_zarr_array_gives_the_weights_of_the_arrays_bit_for_bit(tmp_path):
    zarr = pytest.importorskip("zarr")
    x, y = _data()
    w = np.random.default_rng(4).uniform(0.5, 2, len(x))
    for name, values in (("x", x), ("y", y), ("w", w)):  # chunks not aligned to batches
        stored = zarr.open_array(str(tmp_path / f"{name}.zarr"), mode="w", shape=values.shape,
                                 chunks=(37, *values.shape[1:]), dtype=values.dtype)
        stored[...] = values
    xz, yz, wz = (zarr.open_array(str(tmp_path / f"{name}.zarr"), mode="r")
                  for name in ("x", "y", "w"))
    assert nl.data.kind_of(xz) == "lazy"
    on_arrays, on_file = _model(dropout=0.2), _model(dropout=0.2)
    h1 = on_arrays.fit(x, y, sample_weight=w, epochs=2, batch_size=16, seed=3, verbose=0,
                       validation_split=0.2)
    h2 = on_file.fit(xz, yz, sample_weight=wz, epochs=2, batch_size=16, seed=3, verbose=0,
                     validation_split=0.2)  # shuffled: rows read out of order (oindex)
    assert _same(on_arrays, on_file)
    assert h1.history == h2.history
    assert np.array_equal(on_arrays.predict(x), on_file.predict(xz, batch_size=50))
    assert on_arrays.evaluate(x, y, 50) == on_file.evaluate(xz, yz, batch_size=50)
    with pytest.raises(ValueError, match="x and y must have the same number of samples; "
                                         "got 203 and 202"):
        on_file.fit(xz, y[:-1], verbose=0)


def test_read_rows_sorts_for_the_read_and_restores_the_order():
    class Increasing:
        """An array that, like h5py, takes only increasing indices without repeats."""
        shape, dtype = (10, 2), np.dtype(float)
        values = np.arange(20.0).reshape(10, 2)

        def __len__(self):
            return 10

        def __getitem__(self, index):
            index = np.asarray(index) if not isinstance(index, slice) else index
            if isinstance(index, np.ndarray):
                assert (np.diff(index) > 0).all(), "indices must be increasing"
            return self.values[index]

    source = Increasing()
    assert np.array_equal(read_rows(source, np.array([7, 2, 2, 9])),
                          source.values[[7, 2, 2, 9]])
    assert np.array_equal(read_rows(source, np.array([3, 0]), start=4, stop=8),
                          source.values[[7, 4]])
    assert np.array_equal(read_rows(source, None, 2, 5), source.values[2:5])


def test_a_generator_with_steps_per_epoch_reads_on_across_epochs():
    x, y = _data(n=96)
    on_arrays, on_generator = _model(), _model()
    on_arrays.fit(x, y, epochs=3, batch_size=32, shuffle=False, verbose=0)

    def batches():
        while True:
            for start in range(0, 96, 32):
                yield x[start:start + 32], y[start:start + 32]

    on_generator.fit(batches(), epochs=3, steps_per_epoch=3, verbose=0)
    assert _same(on_arrays, on_generator)


def test_a_reiterable_is_read_afresh_each_epoch_and_progress_counts_steps(capsys):
    x, y = _data(n=96)

    class Reiterable:
        def __iter__(self):
            return ((x[s:s + 32], y[s:s + 32]) for s in range(0, 96, 32))

    model = _model()
    history = model.fit(Reiterable(), epochs=2, verbose=2)
    assert len(history.epoch) == 2
    assert "3 - " in capsys.readouterr().out  # 3 steps, total unknown


def test_pydataset_shuffle_permutes_the_batches_from_the_seed():
    x, y = _data(n=64)
    seen = []

    class Recorded(Batches):
        def __getitem__(self, index):
            seen.append(index)
            return super().__getitem__(index)

    _model().fit(Recorded(x, y, 8, workers=0), epochs=1, shuffle=True, seed=4, verbose=0)
    first = list(seen)
    seen.clear()
    _model().fit(Recorded(x, y, 8, workers=0), epochs=1, shuffle=True, seed=4, verbose=0)
    # batch 0 is read once more first (to build the model), then the permutation
    assert first == seen and sorted(first[1:]) == list(range(8)) and first[1:] != list(range(8))


# -- settings that are accepted do what they say -----------------------------------------
def test_workers_read_on_that_many_threads_and_the_queue_bounds_the_read_ahead():
    x, y = _data(n=320)
    threads, ahead, lock = set(), [], threading.Lock()
    used = [0]

    class Watched(Batches):
        def __getitem__(self, index):
            with lock:
                threads.add(threading.current_thread().name)
                ahead.append(index - used[0])
            return super().__getitem__(index)

    class Count(nl.callbacks.Callback):
        def on_batch_end(self, batch, logs=None):
            used[0] = batch + 1

    model = _model()
    model.build((6,))
    model.fit(Watched(x, y, 8, workers=3, max_queue_size=4), epochs=1, shuffle=False,
              verbose=0, callbacks=[Count()])
    assert 1 < len(threads) <= 3 and all(t.startswith("nnlearn-data") for t in threads)
    assert max(ahead) <= 4  # never more than max_queue_size batches read ahead of the step
    threads.clear()
    model.fit(Watched(x, y, 8, workers=0), epochs=1, verbose=0)
    assert threads == {threading.current_thread().name}


@pytest.mark.parametrize("kwargs, message", [
    ({"use_multiprocessing": True}, "use_multiprocessing=True is not supported"),
    ({"workers": -1}, "workers must be an integer in"),
    ({"workers": 1000}, "workers must be an integer in"),
    ({"max_queue_size": 0}, "max_queue_size must be an integer in"),
    ({"max_queue_size": 10**9}, "max_queue_size must be an integer in"),
])
def test_pydataset_settings_are_checked_never_ignored(kwargs, message):
    x, y = _data()
    with pytest.raises(ValueError, match=message):
        Batches(x, y, 32, **kwargs)


def test_arguments_that_a_source_cannot_use_are_refused():
    x, y = _data()
    data = Batches(x, y, 32)
    model = _model()
    with pytest.raises(ValueError, match="batch_size must be left out"):
        model.fit(data, batch_size=32)
    with pytest.raises(ValueError, match="y must be left out"):
        model.fit(data, y)
    with pytest.raises(ValueError, match="validation_split needs arrays"):
        model.fit(data, validation_split=0.2)
    with pytest.raises(ValueError, match="steps_per_epoch is for generators"):
        model.fit(x, y, steps_per_epoch=3)
    with pytest.raises(ValueError, match="steps=99 is more than the 7 batches"):
        model.fit(data, steps_per_epoch=99)
    with pytest.raises(ValueError, match="class_weight='balanced'"):
        model.fit(data, class_weight="balanced")


# -- must show: a bad batch is a clear error naming it; no hang; no checkpoint -----------
class Broken(Batches):
    def __init__(self, *args, fault, at=3, **kwargs):
        super().__init__(*args, **kwargs)
        self.fault, self.at = fault, at

    def __getitem__(self, index):
        x, y = super().__getitem__(index)
        if index == self.at:
            if self.fault == "raise":
                raise OSError("disk unplugged")
            if self.fault == "shape":
                return x[:, :4], y
            if self.fault == "targets":
                return x, y[:-1]
            if self.fault == "nan":
                return np.full_like(x, np.nan), y
            if self.fault == "not a tuple":
                return x
        return x, y


@pytest.mark.parametrize("workers", [0, 2])
@pytest.mark.parametrize("fault, message", [
    ("raise", r"Broken: batch 3: __getitem__ raised OSError: disk unplugged"),
    ("shape", r"Broken: batch 3: x holds samples of shape \(4,\); the model takes \(6,\)"),
    ("targets", r"Broken: batch 3: x and y must have the same number of samples"),
    ("nan", r"Broken: batch 3: x contains NaN or infinity"),
    ("not a tuple", r"Broken: batch 3: expected a tuple \(x, y\)"),
])
def test_a_bad_batch_names_its_index_and_no_checkpoint_is_saved(tmp_path, fault, message,
                                                               workers):
    x, y = _data()
    path = tmp_path / "epoch{epoch}.nlm"
    checkpoint = nl.callbacks.ModelCheckpoint(str(path), save_best_only=False)
    model = _model()
    before = threading.active_count()
    with pytest.raises(BatchError, match=message) as error:
        model.fit(Broken(x, y, 32, fault=fault, workers=workers), epochs=2, shuffle=False,
                  callbacks=[checkpoint], verbose=0)
    assert error.value.batch == 3
    assert list(tmp_path.iterdir()) == []  # the half-trained epoch was not saved
    assert threading.active_count() == before  # the readers were stopped


def test_a_bad_batch_in_the_second_epoch_leaves_the_first_epochs_checkpoint_alone(tmp_path):
    x, y = _data()

    class Later(Batches):
        def on_epoch_end(self):
            super().on_epoch_end()
            self.broken = True

        def __getitem__(self, index):
            if getattr(self, "broken", False) and index == 5:
                raise KeyError(index)
            return super().__getitem__(index)

    checkpoint = nl.callbacks.ModelCheckpoint(str(tmp_path / "e{epoch}.nlm"))
    with pytest.raises(BatchError, match="batch 5: __getitem__ raised KeyError"):
        _model().fit(Later(x, y, 32), epochs=3, shuffle=False, callbacks=[checkpoint],
                     verbose=0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["e1.nlm"]


def test_a_generator_that_stops_early_names_the_missing_batch(tmp_path):
    x, y = _data(n=96)

    def five_batches():
        for start in range(0, 80, 16):
            yield x[start:start + 16], y[start:start + 16]

    checkpoint = nl.callbacks.ModelCheckpoint(str(tmp_path / "e{epoch}.nlm"))
    before = threading.active_count()
    with pytest.raises(BatchError, match=r"batch 5: the generator stopped after 5 batches "
                                         r"of this epoch; steps_per_epoch=6") as error:
        _model().fit(five_batches(), epochs=2, steps_per_epoch=6, callbacks=[checkpoint],
                     verbose=0)
    assert error.value.batch == 5
    assert list(tmp_path.iterdir()) == []
    assert threading.active_count() == before


def test_a_generator_that_raises_names_the_batch_and_a_spent_one_is_an_error():
    x, y = _data(n=64)

    def failing():
        yield x[:32], y[:32]
        raise RuntimeError("corrupt record")

    with pytest.raises(BatchError, match="batch 1: the generator raised RuntimeError: "
                                         "corrupt record"):
        _model().fit(failing(), epochs=1, verbose=0)

    def once():
        yield x[:32], y[:32]

    with pytest.raises(BatchError, match="read to its end by the first epoch; give "
                                         "steps_per_epoch"):
        _model().fit(once(), epochs=2, verbose=0)


def test_a_bad_batch_of_a_memmap_names_it(tmp_path):
    x, y = _data()
    x[100, 2] = np.inf
    np.save(tmp_path / "x.npy", x)
    xm = np.load(tmp_path / "x.npy", mmap_mode="r")
    with pytest.raises(BatchError, match=r"memmap: batch 3: x contains NaN or infinity"):
        _model().fit(xm, y, batch_size=32, shuffle=False, verbose=0)
    with pytest.raises(ValueError, match="x and y must have the same number of samples"):
        _model().fit(xm, y[:-1], verbose=0)


def test_evaluate_and_predict_on_a_generator_take_steps_batches_and_stop_their_reader():
    x, y = _data(n=96)
    model = _model()
    model.fit(x, y, epochs=1, verbose=0)
    before = threading.active_count()

    def endless():
        while True:
            for start in range(0, 96, 32):
                yield x[start:start + 32], y[start:start + 32]

    assert model.evaluate(endless(), steps=3) == model.evaluate(x, y, 32)
    assert np.array_equal(model.predict(endless(), steps=3), model.predict(x, 32))
    assert np.array_equal(model.predict((x[s:s + 10] for s in range(0, 96, 10))),
                          model.predict(x, 10))
    assert threading.active_count() == before


def test_an_interrupted_fit_stops_its_readers_and_calls_the_dataset_hooks(capsys):
    x, y = _data()
    calls = []

    class Hooked(Batches):
        def on_epoch_begin(self):
            calls.append("begin")

        def on_epoch_end(self):
            calls.append("end")

    class Interrupt(nl.callbacks.Callback):
        def on_batch_end(self, batch, logs=None):
            if self.model.history_epochs == 1 and batch == 2:
                raise KeyboardInterrupt

        def on_epoch_end(self, epoch, logs=None):
            self.model.history_epochs = epoch + 1

    model = _model()
    model.history_epochs = 0
    before = threading.active_count()
    with pytest.raises(KeyboardInterrupt):
        model.fit(Hooked(x, y, 32, workers=2), epochs=3, verbose=2, callbacks=[Interrupt()])
    assert threading.active_count() == before
    assert calls == ["begin", "end", "begin"]
    assert "7/7" in capsys.readouterr().out  # the first epoch's 7 batches, of 7


_MEMORY_CHILD = """
import sys
import numpy as np
import nnlearn as nl
from nnlearn.models import mlp

def resident_mb(field="RssAnon"):
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024

anonymous_mb = resident_mb

class Peak(nl.callbacks.Callback):
    def on_batch_end(self, batch, logs=None):
        self.peak = max(getattr(self, "peak", 0), anonymous_mb())
        self.total = max(getattr(self, "total", 0), resident_mb("VmRSS"))

path, mode = sys.argv[1:]
model = mlp(32, [16], 2, output_activation="softmax", seed=0)
model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
warm = np.zeros((8192, 32), np.float32)  # compiles the step's kernels (numba) first
model.fit(warm, np.zeros(8192, int), batch_size=4096, verbose=0)
base, base_total = anonymous_mb(), resident_mb("VmRSS")
array = np.load(path, mmap_mode="r" if mode == "memmap" else None)
x, y = array[:, :32], np.load(path.replace("x.npy", "y.npy"), mmap_mode="r")
peak = Peak()
model.fit(x, y, epochs=1, batch_size=4096, verbose=0, callbacks=[peak])
print(peak.peak - base, peak.total - base_total)
"""


def test_fit_on_a_memmap_holds_a_few_batches_in_memory_not_the_file(tmp_path):
    """Anonymous memory (RssAnon: the process's own, not the file's pages in the page
    cache) grows by a few batches during fit on a 64 MiB memmap; loading the file first
    (the control) grows it by the file's size, so the measure can tell them apart.  The
    whole resident set (VmRSS, pages of the file mapped into the process included) grows
    by a few batches too: the rows are read from the file, not through the mapping."""
    import subprocess
    import sys

    if not __import__("os").path.exists("/proc/self/status"):
        pytest.skip("needs /proc (Linux)")
    rows = 64 * 2**20 // (32 * 4)
    x = np.lib.format.open_memmap(tmp_path / "x.npy", "w+", np.float32, (rows, 32))
    for start in range(0, rows, 1 << 16):
        x[start:start + (1 << 16)] = np.random.default_rng(start).standard_normal(
            (min(1 << 16, rows - start), 32), np.float32)
    x.flush()
    del x
    np.save(tmp_path / "y.npy", np.arange(rows) % 2)
    growth, total = {}, {}
    for mode in ("memmap", "memory"):
        done = subprocess.run([sys.executable, "-c", _MEMORY_CHILD, str(tmp_path / "x.npy"),
                               mode], capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        growth[mode], total[mode] = (float(v) for v in done.stdout.split()[-2:])
    assert growth["memmap"] < 24, growth   # a few batches of 4096 x 32 float32 (0.5 MiB)
    assert growth["memory"] > 64, growth   # the file, loaded
    assert total["memmap"] < 24, total     # read through the mapping: the whole file


def test_validation_data_may_be_a_pydataset_or_lazily_indexed_arrays(tmp_path):
    x, y = _data()
    xv, yv = _data(n=50, seed=9)
    np.save(tmp_path / "xv.npy", xv)
    xm = np.load(tmp_path / "xv.npy", mmap_mode="r")
    histories = []
    for validation in ((xv, yv), (xm, list(yv)), Batches(xv, yv, 1024)):
        model = _model()
        histories.append(model.fit(x, y, epochs=2, seed=0, verbose=0,
                                   validation_data=validation).history)
    assert histories[0] == histories[1] == histories[2]
    assert len(histories[0]["val_loss"]) == 2


def test_a_lazy_array_of_one_dimension_is_refused_with_its_shape(tmp_path):
    np.save(tmp_path / "x.npy", np.arange(10.0))
    with pytest.raises(ValueError, match=r"fit: x must have shape \(n_samples, ...\); got "
                                         r"shape \(10,\)"):
        _model().fit(np.load(tmp_path / "x.npy", mmap_mode="r"), np.zeros(10))


def test_a_generator_is_read_no_further_than_training_uses_it():
    x, y = _data(n=96)
    taken = []

    def endless():
        while True:
            taken.append(1)
            yield x[:32], y[:32]

    _model().fit(endless(), epochs=4, initial_epoch=1, steps_per_epoch=3, verbose=0)
    assert len(taken) == 9  # 3 epochs of 3 batches (one read to build the model among them)


def _mapped_mb(path) -> float:
    """The resident pages of this process's mappings of ``path`` (/proc/self/smaps)."""
    total, inside = 0, False
    with open("/proc/self/smaps") as smaps:
        for line in smaps:
            head = line.split()
            if head and "-" in head[0] and len(head) >= 5 and ":" in head[3]:  # a mapping
                inside = len(head) >= 6 and head[5] == str(path)
            elif inside and head and head[0] == "Rss:":
                total += int(head[1])
    return total / 1024


@pytest.mark.parametrize("shuffle", [True, False])
def test_a_read_only_memmap_is_read_from_its_file_not_through_the_mapping(tmp_path,
                                                                         shuffle):
    """Pages touched through a mapping count in the process's RSS (on Linux a fault maps
    whole page-cache folios, up to 2 MiB); fit reads a read-only memmap's rows with
    preadv, so no page of the file is ever mapped, and the weights are those of the
    arrays in memory.  A copy-on-write memmap (mode "c", its writes in memory only) is
    read through its mapping, with its writes."""
    if not __import__("os").path.exists("/proc/self/smaps"):
        pytest.skip("needs /proc (Linux)")
    x, y = _data(n=3000)
    whole = np.column_stack([x, y]).astype(np.float64)  # x a column view of the file
    np.save(tmp_path / "data.npy", whole)
    mapped = np.load(tmp_path / "data.npy", mmap_mode="r")

    class Mapped(nl.callbacks.Callback):
        def on_batch_end(self, batch, logs=None):
            self.peak = max(getattr(self, "peak", 0.0), _mapped_mb(tmp_path / "data.npy"))

    probe = Mapped()
    on_arrays, on_file = _model(), _model()
    on_arrays.fit(whole[:, :6], y, epochs=2, batch_size=64, shuffle=shuffle, seed=1,
                  verbose=0)
    on_file.fit(mapped[:, :6], mapped[:, 6:], epochs=2, batch_size=64, shuffle=shuffle,
                seed=1, verbose=0, callbacks=[probe])
    assert _same(on_arrays, on_file)
    assert probe.peak == 0.0
    assert np.array_equal(on_file.predict(mapped[:, :6]), on_file.predict(whole[:, :6]))
    assert _mapped_mb(tmp_path / "data.npy") == 0.0
    np.asarray(mapped[::50, 0]).sum()  # the measure sees pages read through the mapping
    assert _mapped_mb(tmp_path / "data.npy") > 0.0
    copy = np.load(tmp_path / "data.npy", mmap_mode="c")
    copy[7, :6] = 0.25
    assert np.array_equal(read_rows(copy[:, :6], [7, 2]), [[0.25] * 6, whole[2, :6]])


# -- a memmap's rows: the compiled pread loop, the Python loop, batches read together ----
def _layouts(tmp_path):
    """Read-only memmaps of three layouts: rows end to end (runs read whole), a column
    view (each row its own read, straight into the batch) and every other column (read
    with the file's stride, then copied)."""
    x, _ = _data(n=300, features=12)
    np.save(tmp_path / "wide.npy", x)
    wide = np.load(tmp_path / "wide.npy", mmap_mode="r")
    np.save(tmp_path / "x.npy", x[:, :6])
    return {"packed": (np.load(tmp_path / "x.npy", mmap_mode="r"), x[:, :6]),
            "column view": (wide[:, :6], x[:, :6]),
            "strided": (wide[:, ::2], x[:, ::2])}


@pytest.mark.parametrize("loop", ["auto", "python"])
def test_shuffled_epochs_of_a_memmap_are_the_arrays_batches_bit_for_bit(tmp_path,
                                                                        monkeypatch, loop):
    """Every batch of shuffled epochs (and of a validation_split's row range) is the
    batch ArrayAdapter gathers in memory, with the compiled loop (numba, when
    installed) and with the Python loop, batches read together or one at a time."""
    from nnlearn.data import adapters, fileread

    monkeypatch.setattr(fileread, "READER", loop)
    if loop == "python":
        assert fileread.reader() == "python"
    y = nl.utils.to_categorical(np.random.default_rng(3).integers(0, 3, 300), 3)
    for name, (mapped, values) in _layouts(tmp_path).items():
        for queue in (adapters.LAZY_QUEUE_SIZE, 1):  # 16 batches a read, and 1
            monkeypatch.setattr(adapters, "LAZY_QUEUE_SIZE", queue)
            model = _model()
            lazy = adapters.LazyArrayAdapter(model, mapped, y, None, 16, shuffle=True,
                                             stop=250)
            eager = adapters.ArrayAdapter(model, values[:250], y[:250], None, 16,
                                          shuffle=True)
            for seed in (0, 1, 2):
                count, batches = lazy.epoch(seed)
                expected = list(eager.epoch(seed)[1])
                got = list(batches)
                assert count == len(got) == len(expected) == 16, name
                for (xa, ya, _), (xb, yb, _) in zip(got, expected):
                    assert xa.dtype == xb.dtype and np.array_equal(xa, xb), (name, queue)
                    assert np.array_equal(ya, yb)


@pytest.mark.parametrize("loop", ["auto", "python"])
def test_fit_on_a_column_view_of_a_memmap_gives_the_arrays_weights(tmp_path, monkeypatch,
                                                                   loop):
    from nnlearn.data import fileread

    monkeypatch.setattr(fileread, "READER", loop)
    x, y = _data(n=700)
    whole = np.column_stack([x, y])
    np.save(tmp_path / "data.npy", whole)
    mapped = np.load(tmp_path / "data.npy", mmap_mode="r")
    on_arrays, on_file = _model(dropout=0.2), _model(dropout=0.2)
    h1 = on_arrays.fit(x, y, epochs=3, batch_size=16, seed=4, verbose=0,
                       validation_split=0.25)
    h2 = on_file.fit(mapped[:, :6], mapped[:, 6:], epochs=3, batch_size=16, seed=4,
                     verbose=0, validation_split=0.25)
    assert _same(on_arrays, on_file)
    assert h1.history == h2.history


def test_batches_read_together_give_the_weights_of_batches_read_one_at_a_time(
        tmp_path, monkeypatch):
    """Sample weights and class weights (given to each batch) are the same whether
    batches are read several at a time or one at a time."""
    from nnlearn.data import adapters

    x, y = _data(n=600)
    np.save(tmp_path / "x.npy", x)
    xm = np.load(tmp_path / "x.npy", mmap_mode="r")
    w = np.random.default_rng(5).uniform(0.5, 2, len(x))
    models = []
    for queue in (adapters.LAZY_QUEUE_SIZE, 1):
        monkeypatch.setattr(adapters, "LAZY_QUEUE_SIZE", queue)
        for kwargs in ({"sample_weight": w}, {"class_weight": {0: 2.0, 2: 0.5}}):
            model = _model()
            model.fit(xm, y, epochs=2, batch_size=16, seed=6, verbose=0, **kwargs)
            models.append(model)
    for together, alone in zip(models[:2], models[2:]):
        assert _same(together, alone)


def test_a_bad_row_inside_a_read_names_its_batch_after_the_batches_before_it(tmp_path):
    """Batches read together are checked together; a bad one among them is told batch
    by batch: the batches before it are trained on, then its BatchError is raised."""
    x, y = _data(n=640)
    x[7 * 16 + 3, 1] = np.nan  # in batch 7 (unshuffled), inside the first read of 16
    np.save(tmp_path / "x.npy", x)
    xm = np.load(tmp_path / "x.npy", mmap_mode="r")
    seen = []

    class Seen(nl.callbacks.Callback):
        def on_batch_end(self, batch, logs=None):
            seen.append(batch)

    before = threading.active_count()
    with pytest.raises(BatchError, match=r"memmap: batch 7: x contains NaN or infinity"):
        _model().fit(xm, y, batch_size=16, shuffle=False, verbose=0, callbacks=[Seen()])
    assert seen == list(range(7))
    assert threading.active_count() == before


def test_the_steps_blas_threads_are_the_same_from_a_file_as_in_memory(tmp_path):
    """The BLAS's thread count can change a product's last bits (OpenBLAS rounds a split
    product differently), so the step's count is the planner's choice for the shapes
    (here small products: one thread), the same whether the batches come from memory or
    from a file; the weights are the same bit for bit, and the count is restored
    between the steps, where the readers run."""
    from nnlearn.lowering import blas

    if blas.openblas_threads() is None:
        pytest.skip("NumPy's BLAS is not its bundled OpenBLAS")
    get = blas.openblas_threads()[0]
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1024, 64)).astype(np.float32)
    y = np.eye(2, dtype=np.float32)[rng.integers(0, 2, 1024)]
    np.save(tmp_path / "x.npy", x)
    xm = np.load(tmp_path / "x.npy", mmap_mode="r")
    before, fitted = get(), []
    for data in (x, xm):
        model = mlp(64, [64], 2, output_activation="softmax", seed=0)
        model.compile(optimizer="adam", loss="categorical_crossentropy")
        inside, between = [], []

        class Between(nl.callbacks.Callback):
            def on_batch_end(self, batch, logs=None, between=between):
                between.append(get())

        original = model._train_step

        def recorded(*args, original=original, inside=inside):
            inside.append(get())
            return original(*args)

        model._train_step = recorded
        model.fit(data, y, batch_size=256, epochs=2, seed=0, verbose=0,
                  callbacks=[Between()])
        assert planner.step_threads(model, 256) == 1  # 256 x 64 x 64 multiply-adds
        assert set(inside) == {1} and len(inside) == 8
        assert set(between) == {before}
        fitted.append(model)
    assert get() == before
    assert _same(*fitted)


def test_the_file_reading_loop_is_chosen_in_one_place(monkeypatch):
    from nnlearn.data import fileread
    from nnlearn.lowering import loops

    expected = "numba" if "numba" in loops.available_backends() else "python"
    assert fileread.reader() == expected
    monkeypatch.setattr(fileread, "READER", "python")
    assert fileread.reader() == "python"
    monkeypatch.setattr(fileread, "READER", "auto")
    monkeypatch.setattr(fileread, "_compiled", lambda: None)  # numba not installed
    assert fileread.reader() == "python"
    monkeypatch.setattr(fileread, "READER", "fast")
    with pytest.raises(ValueError, match="READER must be 'auto' or 'python'; got 'fast'"):
        fileread.reader()


@pytest.mark.parametrize("loop", ["auto", "python"])
def test_read_rows_of_a_memmap_in_any_order_with_repeats_and_a_short_file(tmp_path,
                                                                          monkeypatch, loop):
    from nnlearn.data import fileread

    monkeypatch.setattr(fileread, "READER", loop)
    for name, (mapped, values) in _layouts(tmp_path).items():
        rows = [299, 0, 5, 5, 6, 7, 8, 150, 1]
        assert np.array_equal(read_rows(mapped, rows), values[rows]), name
        assert np.array_equal(read_rows(mapped, [3, 0], start=100, stop=200),
                              values[[103, 100]])
        with pytest.raises(IndexError, match="rows 0 to 100 asked of 100"):
            read_rows(mapped, [0, 100], start=100, stop=200)
    x = np.arange(40.0).reshape(10, 4)
    np.save(tmp_path / "short.npy", x)
    mapped = np.load(tmp_path / "short.npy", mmap_mode="r")
    with open(tmp_path / "short.npy", "r+b") as file:  # the file cut after the array opened
        file.truncate(128 + 5 * 32)
    with pytest.raises(OSError, match="short read"):
        read_rows(mapped, [1, 8])


def test_balanced_class_weights_on_a_memmap_for_an_unbuilt_model(tmp_path):
    """class_weight="balanced" reads the labels' counts before training, which needs
    the model's outputs: a model not built yet is built from the file's sample shape
    first, and the weights equal the same fit in memory bit for bit."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((200, 6)).astype(np.float32)
    y = rng.integers(0, 3, 200)
    np.save(tmp_path / "x.npy", x)
    fitted = []
    for data in (x, np.load(tmp_path / "x.npy", mmap_mode="r")):
        model = nl.Sequential([nl.layers.Dense(8, activation="relu"),
                               nl.layers.Dense(3, activation="softmax")], seed=0)
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        model.fit(data, y, class_weight="balanced", batch_size=32, epochs=2, seed=0,
                  verbose=0)
        fitted.append(model)
    assert _same(*fitted)
