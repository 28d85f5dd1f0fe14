"""Rows of a file read by several threads together (nnlearn.data.fileread.SharedRows) and
the training thread helping the reader of a memmap's batches (LazyArrayAdapter._help)."""

import threading

import numpy as np
import pytest

import nnlearn as nl
from nnlearn.data import adapters, fileread
from nnlearn.lowering import loops
from nnlearn.models import mlp

compiled = pytest.mark.skipif("numba" not in loops.available_backends(),
                              reason="the shared loop is compiled (numba)")


def _file(tmp_path, rows=3000, columns=9):
    values = np.random.default_rng(0).normal(size=(rows, columns)).astype(np.float32)
    np.save(tmp_path / "values.npy", values)
    mapped = np.load(tmp_path / "values.npy", mmap_mode="r")
    return mapped, values


def _shared(mapped, rows, out):
    """SharedRows of ``rows`` of the column view ``mapped[:, :8]`` (a read a row)."""
    path, first, stride, span = fileread.file_layout(mapped[:, :8])
    return fileread.SharedRows(path, out, span, rows, first, stride, span)


@compiled
def test_claims_are_atomic_two_threads_never_get_the_same_rows():
    """``claim`` from two threads at once, one row at a time: every number from 0 to
    2n - 1 handed out exactly once (a plain load-add-store would hand some out twice)."""
    import numba

    claim = fileread._claim_intrinsic()

    @numba.njit(nogil=True)
    def take(counter, got):
        for i in range(got.shape[0]):
            got[i] = claim(counter, 1)

    counter, n = np.zeros(1, np.int64), 200_000
    got = [np.empty(n, np.int64) for _ in range(2)]
    take(np.zeros(1, np.int64), np.empty(1, np.int64))  # compiled before the race
    threads = [threading.Thread(target=take, args=(counter, g)) for g in got]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert np.array_equal(np.sort(np.concatenate(got)), np.arange(2 * n))
    assert counter[0] == 2 * n


@compiled
def test_a_helper_reads_whole_chunks_and_the_owner_the_rest(tmp_path):
    mapped, values = _file(tmp_path)
    rows = np.random.default_rng(1).integers(0, len(values), 500)
    out = np.empty((len(rows), 8), np.float32)
    shared = _shared(mapped, rows, out)
    assert shared.help(40) is True  # claims 48 rows (3 chunks of 16): rows remain
    assert int(shared._claimed[0]) == 3 * fileread.CHUNK
    assert np.array_equal(out[:48], values[rows[:48], :8])
    shared.finish()
    assert np.array_equal(out, values[rows, :8])
    assert shared.help(16) is False  # finished: nothing left to help with


@compiled
def test_threads_helping_while_the_owner_reads_read_every_row_once(tmp_path):
    mapped, values = _file(tmp_path, rows=20_000)
    rows = np.random.default_rng(2).integers(0, len(values), 30_000)  # repeats too
    for helpers in (1, 3):
        out = np.full((len(rows), 8), np.nan, np.float32)
        shared = _shared(mapped, rows, out)
        start = threading.Barrier(helpers + 1)

        def help_until_done(shared, start):
            start.wait()
            while shared.help(fileread.CHUNK * 2):
                pass

        threads = [threading.Thread(target=help_until_done, args=(shared, start))
                   for _ in range(helpers)]
        for thread in threads:
            thread.start()
        start.wait()
        shared.finish()  # returns once the helpers' reads are done too
        assert np.array_equal(out, values[rows, :8]), helpers
        for thread in threads:
            thread.join()
        claimed = int(shared._claimed[0])
        assert len(rows) <= claimed <= len(rows) + (helpers + 1) * 2 * fileread.CHUNK


@pytest.mark.parametrize("loop", ["auto", "python"])
def test_a_short_file_is_an_error_of_the_owner_never_of_a_helper(tmp_path, monkeypatch,
                                                                 loop):
    monkeypatch.setattr(fileread, "READER", loop)
    mapped, values = _file(tmp_path, rows=100)
    with open(tmp_path / "values.npy", "r+b") as file:  # cut after the array was opened
        file.truncate(128 + 50 * 36)
    rows = np.arange(0, 100, 3)
    shared = _shared(mapped, rows, np.empty((len(rows), 8), np.float32))
    assert shared.help(100) is False  # the helper stops at the short read, silently
    with pytest.raises(OSError, match="short read"):
        shared.finish()


def test_without_the_compiled_loop_nothing_is_shared(tmp_path, monkeypatch):
    monkeypatch.setattr(fileread, "READER", "python")
    mapped, values = _file(tmp_path, rows=100)
    rows = np.array([5, 99, 0, 5])
    out = np.empty((4, 8), np.float32)
    shared = _shared(mapped, rows, out)
    assert shared.help(100) is False
    assert int(shared._claimed[0]) == 0
    shared.finish()
    assert np.array_equal(out, values[rows, :8])


@pytest.mark.parametrize("loop", ["auto", "python"])
def test_the_training_thread_helping_gives_the_same_batches(tmp_path, monkeypatch, loop):
    """A group of batches whose x rows the training thread read (all of them: the
    group never reports ready) is the group ArrayAdapter gathers in memory."""
    monkeypatch.setattr(fileread, "READER", loop)
    mapped, values = _file(tmp_path, rows=3000)
    y = nl.utils.to_categorical(np.random.default_rng(4).integers(0, 3, 3000), 3)
    model = mlp(8, [4], 3, output_activation="softmax", seed=0)
    model.compile(optimizer="sgd", loss="categorical_crossentropy")
    lazy = adapters.LazyArrayAdapter(model, mapped[:, :8], y, None, 64, shuffle=True)
    eager = adapters.ArrayAdapter(model, values[:, :8], y, None, 64, shuffle=True)
    batches = lazy.indices(7)
    first, second = lazy._plan(batches, range(0, 5)), lazy._plan(batches, range(5, 9))
    assert first.x_rows is not None
    lazy._help(first, [second], lambda: False)  # reads both groups' rows here
    if loop == "auto":
        assert int(first.x_rows.reads._claimed[0]) >= 5 * 64
        assert int(second.x_rows.reads._claimed[0]) >= 4 * 64
    got = lazy._fetch_group(batches, first) + lazy._fetch_group(batches, second)
    expected = list(eager.epoch(7)[1])[:9]
    assert len(got) == 9
    for (xa, ya, _), (xb, yb, _) in zip(got, expected):
        assert np.array_equal(xa, xb) and np.array_equal(ya, yb)
