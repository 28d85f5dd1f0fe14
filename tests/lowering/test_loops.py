"""nnlearn.lowering.loops: one rule, two backends, the same bits.

Every optimizer's rule runs on NumPy (in blocks) and compiled by numba; both must give
identical arrays, step after step, in float32 and float64, on arrays smaller and larger
than a block.  Also: the denormal flush, NaN propagation, the backend choice and the
argument errors."""

import os

import numpy as np
import pytest

import nnlearn as nl
from nnlearn.lowering import loops, planner
from nnlearn import optimizers as O
from nnlearn.lowering.loops import elementwise

needs_numba = pytest.mark.skipif("numba" not in loops.available_backends(),
                                 reason="numba is not installed (the fast extra)")

OPTIMIZERS = [
    lambda: O.SGD(0.1),
    lambda: O.SGD(0.05, momentum=0.9),
    lambda: O.SGD(0.05, momentum=0.9, nesterov=True),
    lambda: O.Adagrad(0.1),
    lambda: O.Adadelta(),
    lambda: O.RMSprop(0.01),
    lambda: O.Adam(0.01),
    lambda: O.Adam(0.01, amsgrad=True),
    lambda: O.Nadam(0.01),
    lambda: O.AdamW(0.01, weight_decay=0.1),
    lambda: O.SGDW(0.05, momentum=0.9, weight_decay=0.1),
]


def trajectory(make, backend, dtype, shape, steps=5):
    """The parameter and state arrays after each of ``steps`` updates from fixed
    gradients, on ``backend``."""
    rng = np.random.default_rng(0)
    w = nl.Tensor(rng.standard_normal(shape), requires_grad=True, dtype=dtype)
    optimizer = make()
    out = []
    with loops.use(backend):
        for _ in range(steps):
            w.grad = rng.standard_normal(shape).astype(dtype)
            optimizer.apply([w])
            out.append(w.data.copy())
    return out + [s.copy() for s in optimizer.get_state()]


@needs_numba
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(7, 3), (300, 250)])  # below and above one block
@pytest.mark.parametrize("make", OPTIMIZERS, ids=lambda make: repr(make()))
def test_numba_and_numpy_give_the_same_bits(make, dtype, shape):
    ours, theirs = (trajectory(make, backend, dtype, shape) for backend in ("numpy", "numba"))
    for a, b in zip(ours, theirs):
        np.testing.assert_array_equal(a, b)
    assert ours[0].dtype == dtype


@pytest.mark.parametrize("make", OPTIMIZERS[1:], ids=lambda make: repr(make()))
def test_decayed_state_is_flushed_to_zero_not_left_denormal(make, kernel_backend):
    """With the gradient zero, geometric decay would walk the moments into the denormal
    range; the rules flush them to exact zeros there (and leave normal values alone)."""
    w = nl.Tensor(np.ones(4), requires_grad=True, dtype=np.float32)
    optimizer = make()
    w.grad = np.array([1.0, 1e-3, -1.0, 0.5], np.float32)
    optimizer.apply([w])
    tiny = np.finfo(np.float32).tiny
    for state in optimizer._state:
        for name, array in state.items():
            if name not in ("accumulator", "v_max"):  # sums and maxima do not decay
                array[:2] = [tiny / 4, -tiny / 8] if name in ("m", "velocity") else tiny / 4
                array[2:] = [2 * tiny, 1.0]
    before = {name: array.copy() for name, array in optimizer._state[0].items()}
    w.grad = np.zeros(4, np.float32)
    optimizer.apply([w])
    for name, array in optimizer._state[0].items():
        if name in ("accumulator", "v_max"):
            continue
        assert np.all(array[:2] == 0), (name, array)
        assert np.all(array[3] != 0), (name, array)  # 1.0 decayed, still normal
        if not np.issubdtype(array.dtype, np.floating):
            continue
        assert not np.any((array != 0) & (np.abs(array) < tiny)), (name, array, before[name])


def test_flush_changes_nothing_a_step_can_see(kernel_backend):
    """RMSprop on a weight whose gradient stops: flushing its tiny mean square does not
    move the weight (g = 0 gives a zero step either way)."""
    w = nl.Tensor(np.ones(3), requires_grad=True, dtype=np.float32)
    optimizer = O.RMSprop(0.01)
    w.grad = np.array([1e-19, 1.0, 0.0], np.float32)  # g^2 = 1e-38: below tiny after decay
    optimizer.apply([w])
    after_first = w.data.copy()
    for _ in range(3):
        w.grad = np.zeros(3, np.float32)
        optimizer.apply([w])
    np.testing.assert_array_equal(w.data, after_first)
    assert optimizer._state[0]["mean_square"][0] == 0.0


def test_nan_propagates_on_both_backends(kernel_backend):
    w = nl.Tensor(np.ones(3), requires_grad=True, dtype=np.float32)
    optimizer = O.Adam(0.1)
    w.grad = np.array([np.nan, 1.0, np.inf], np.float32)
    optimizer.apply([w])
    assert np.isnan(w.data[0]) and np.isfinite(w.data[1]) and np.isnan(w.data[2])


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_rule_on_odd_layouts_and_dtypes(kernel_backend, dtype):
    """Non-contiguous inputs, Fortran-ordered outputs and float16 (which numba does not
    compile) all give the rule's values."""

    @elementwise(arrays=3, updates=2)
    def rule(a, b, c, k):
        return a + c * k, b - c

    rng = np.random.default_rng(1)
    a = np.asfortranarray(rng.standard_normal((40, 30)).astype(dtype))
    b = rng.standard_normal((40, 30)).astype(dtype)
    c = rng.standard_normal((30, 40)).astype(dtype).T  # a transposed view
    expected_a, expected_b = a + c * dtype(2.5), b - c
    rule(a, b, c, 2.5)
    np.testing.assert_array_equal(a, expected_a)
    np.testing.assert_array_equal(b, expected_b)


def test_blocks_cover_every_element(kernel_backend):
    @elementwise(arrays=2)
    def double(out, x):
        return x + x

    x = np.arange(3 * loops.BLOCK + 5, dtype=np.float64)
    out = np.zeros_like(x)
    double(out, x)
    np.testing.assert_array_equal(out, 2 * x)


def test_rule_arguments_are_checked():
    @elementwise(arrays=2)
    def copy(out, x):
        return x

    with pytest.raises(ValueError, match="x has shape .3,.; expected .4,."):
        copy(np.zeros(4), np.zeros(3))
    with pytest.raises(TypeError, match="expected 2 arguments"):
        copy(np.zeros(4))
    with pytest.raises(ValueError, match="updates"):
        elementwise(arrays=1, updates=2)(lambda a: a)


def test_the_backend_is_chosen_in_one_place(monkeypatch):
    monkeypatch.setenv("NNLEARN_KERNELS", "numpy")
    assert loops._from_environment() == "numpy"
    monkeypatch.setenv("NNLEARN_KERNELS", "fortran")
    with pytest.raises(ValueError, match="NNLEARN_KERNELS must be"):
        loops._from_environment()
    monkeypatch.setattr(loops, "_requested", ["auto"])
    expected = "numba" if "numba" in loops.available_backends() else "numpy"
    assert loops.backend() == expected
    monkeypatch.setattr(loops, "_requested", ["numpy"])
    assert loops.backend() == "numpy"
    with loops.use(expected):
        assert loops.backend() == expected
    with pytest.raises(ValueError, match="name must be one of"):
        loops.use("cuda")  # checked when called, not only when entered


def test_a_bad_environment_variable_is_a_one_line_error_of_the_cli():
    import os
    import subprocess
    import sys

    env = {**os.environ, "NNLEARN_KERNELS": "fortran"}
    code = "import nnlearn; print('imported')"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert run.stdout.strip() == "imported"  # import nnlearn still works
    cli = subprocess.run([sys.executable, "-m", "nnlearn", "info"], capture_output=True,
                         text=True, env=env)
    assert cli.returncode == 2
    assert cli.stderr.strip().splitlines() == [
        "Error: NNLEARN_KERNELS must be 'numpy', 'numba' or 'auto'; got 'fortran'"]


def test_the_environment_variable_picks_the_backend_of_a_run():
    import subprocess
    import sys

    code = "from nnlearn.lowering import loops; print(loops.backend())"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**__import__("os").environ, "NNLEARN_KERNELS": "numpy"})
    assert run.stdout.strip() == "numpy", run.stderr


def test_numba_is_not_imported_with_nnlearn():
    import subprocess
    import sys

    code = "import sys, nnlearn; print('numba' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "False"


@needs_numba
@pytest.mark.parametrize("optimizer", ["rmsprop", "adam", "sgd"])
def test_a_fit_gives_the_same_weights_on_both_backends(optimizer):
    """A whole training run on the engine (relu, softmax) is bit-for-bit the same with
    and without numba (the compiled Dense step, equal to rounding, is tested in
    test_compiled.py)."""
    rng = np.random.default_rng(0)
    x = rng.random((300, 40)).astype(np.float32)
    y = np.eye(3, dtype=np.float32)[rng.integers(0, 3, 300)]
    weights = {}
    for backend in ("numpy", "numba"):
        with planner.settings(kernels=backend, compiled_step=False):
            model = nl.Sequential([nl.layers.Dense(32, "relu", input_dim=40),
                                   nl.layers.Dense(3, "softmax")], seed=0)
            model.compile(optimizer, "categorical_crossentropy", metrics=["accuracy"])
            model.fit(x, y, epochs=3, batch_size=32, verbose=0, seed=1)
            weights[backend] = model.get_weights()
    for a, b in zip(weights["numpy"], weights["numba"]):
        np.testing.assert_array_equal(a, b)


def test_numpy_scalars_and_zero_dimensional_arrays(kernel_backend):
    """A 0-d output with a NumPy scalar input (a reduction's gradient) works on both."""

    @elementwise(arrays=2)
    def halve(out, x, half):
        return x * half

    out = np.zeros((), np.float64)
    halve(out, np.float64(3.0), 0.5)
    assert out == 1.5


def test_use_is_local_to_the_thread():
    import threading

    seen = []
    with loops.use("numpy"):
        worker = threading.Thread(target=lambda: seen.append(loops.backend()))
        worker.start()
        worker.join()
        assert loops.backend() == "numpy"
    assert seen == [loops.backend()]  # the other thread kept the default


@needs_numba
def test_a_new_process_loads_the_loop_from_the_disk_cache(tmp_path):
    """The generated loop lives in a file of the kernel cache, so numba's disk cache
    serves it to the next process instead of compiling it again."""
    import os
    import subprocess
    import sys

    code = ("import numpy as np\n"
            "from nnlearn.optimizers import RMSprop\n"
            "loop = RMSprop(0.1).chain().fused_kernel.compiled()\n"
            "w, s, g = np.ones(5, np.float32), np.zeros(5, np.float32), np.ones(5, np.float32)\n"
            "loop(w, s, g, *[np.float32(v) for v in (0.9, 0.1, 1e-7, 1e-38, -0.1)])\n"
            "print(sum(loop.stats.cache_hits.values()), sum(loop.stats.cache_misses.values()),"
            " w[0])\n")
    env = {**os.environ, "NNLEARN_KERNEL_CACHE": str(tmp_path)}
    runs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           env=env, check=True).stdout.split() for _ in range(2)]
    assert runs[0][:2] == ["0", "1"]            # compiled, and saved
    assert runs[1][:2] == ["1", "0"]            # loaded
    assert runs[0][2] == runs[1][2] != "1.0"    # the same update either way
    assert len(list(tmp_path.glob("nnlearn_lowering_loops_fused_rms_rate_step_apply_*.py"))) == 1
    assert list(tmp_path.glob("__pycache__/*.nbi"))      # numba's index of the cache


@needs_numba
def test_without_a_writable_cache_the_loop_is_compiled_in_memory(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("NNLEARN_KERNEL_CACHE", str(blocker / "kernels"))

    @elementwise(arrays=2)
    def halve(out, x):
        return x * 0.5

    x = np.arange(6.0)
    out = np.empty_like(x)
    with loops.use("numba"), pytest.warns(UserWarning, match="kernel cache is not used"):
        halve(out, x)
    np.testing.assert_array_equal(out, x * 0.5)
    filename = halve.compiled().py_func.__code__.co_filename
    assert filename.startswith("<nnlearn ") and filename.endswith(".halve>")  # no file
    assert not list(tmp_path.glob("**/*.py"))


def test_a_changed_rule_gets_a_file_of_its_own(tmp_path, monkeypatch):
    monkeypatch.setenv("NNLEARN_KERNEL_CACHE", str(tmp_path))
    pytest.importorskip("numba")

    def make(body):
        namespace = {"np": np}
        path = tmp_path / f"rule_{len(body)}.py"
        path.write_text(f"def rule(out, x):\n    return {body}\n")
        exec(compile(path.read_text(), str(path), "exec"), namespace)
        return elementwise(arrays=2)(namespace["rule"])

    x = np.arange(4.0)
    for body, expected in (("x + 1", x + 1), ("x * 3.0", x * 3)):
        out = np.empty_like(x)
        with loops.use("numba"):
            make(body)(out, x)
        np.testing.assert_array_equal(out, expected)
    assert len(list(tmp_path.glob("*_rule_*.py"))) == 2


@needs_numba
def test_each_runs_every_group_in_one_call_with_the_same_bits():
    """Groups that the loop takes as they are go to it in one call (tuples of flat views);
    a group it cannot take sends each group its own way.  Both give NumPy's bits."""
    from nnlearn.optimizers import Adam, State

    chain = Adam(learning_rate=0.01).chain()  # Adam's fused kernel, W + u included
    step_3 = State([], count=3)  # the bias corrections of step 3
    rule = chain.fused_kernel
    numbers = [n for t in chain.transforms for n in t.numbers(step_3, np.dtype(np.float32))]
    rng = np.random.default_rng(0)

    def groups(strided=False):
        shapes = [(3, 4), (4,), (4, 2), (2,)]
        out = []
        for shape in shapes:
            w, m, v, g = (rng.standard_normal(shape).astype(np.float32) for _ in range(4))
            out.append((w, m, np.abs(v), g))
        if strided:
            wide = np.zeros((3, 8), np.float32)
            wide[:, ::2] = out[0][0]
            out[0] = (wide[:, ::2], *out[0][1:])
        return out

    for strided in (False, True):
        state = rng.bit_generator.state
        reference = groups(strided)
        rng.bit_generator.state = state
        ours = groups(strided)
        with loops.use("numpy"):
            rule.each(reference, numbers)
        with loops.use("numba"):
            fitting = rule.each(ours, numbers)
            assert (type(fitting) is loops._Columns) == (not strided)
            for a, b in zip(ours, reference):
                for x, y in zip(a, b):
                    np.testing.assert_array_equal(x, y)
            rule.each(ours, numbers, fitting)  # the same arrays again, checks skipped
        with loops.use("numpy"):
            rule.each(reference, numbers)
        for a, b in zip(ours, reference):
            for x, y in zip(a, b):
                np.testing.assert_array_equal(x, y)



def _planted_cache(tmp_path, mode):
    folder = tmp_path / "shared-kernels"
    folder.mkdir()
    os.chmod(folder, mode)
    return folder


@needs_numba
@pytest.mark.parametrize("mode", [0o777, 0o775])
def test_a_cache_others_can_write_to_is_not_used(tmp_path, monkeypatch, mode):
    """A payload planted in a group- or world-writable cache folder never runs: the loop
    is compiled in memory, with one warning saying why, and training works."""
    folder = _planted_cache(tmp_path, mode)
    marker = tmp_path / "payload-ran"
    monkeypatch.setenv("NNLEARN_KERNEL_CACHE", str(folder))

    @elementwise(arrays=2)
    def triple(out, x):
        return x * 3.0

    from nnlearn.lowering.loops import _compile_loops  # noqa: F401  (what names the file)
    # plant a file under every name the generator could use for this rule
    (folder / "payload.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    for stem in ("tests_test_kernels_triple", "test_kernels_triple"):
        (folder / f"{stem}_0123456789abcdef.py").write_text(
            f"open({str(marker)!r}, 'w').close()\n")
    x, out = np.arange(4.0), np.empty(4)
    with loops.use("numba"), pytest.warns(UserWarning, match="others can write"):
        triple(out, x)
    np.testing.assert_array_equal(out, x * 3)
    assert not marker.exists()
    assert not [p for p in folder.glob("*.py") if "triple" in p.name and "0123" not in p.name]


@needs_numba
def test_a_damaged_or_planted_entry_is_replaced_not_run(tmp_path, monkeypatch):
    folder = tmp_path / "kernels"
    monkeypatch.setenv("NNLEARN_KERNEL_CACHE", str(folder))

    @elementwise(arrays=2)
    def quadruple(out, x):
        return x * 4.0

    x, out = np.arange(4.0), np.empty(4)
    with loops.use("numba"):
        quadruple(out, x)
    assert oct(os.stat(folder).st_mode & 0o777) == oct(0o700)
    (entry,) = [p for p in folder.glob("*.py") if "quadruple" in p.name]
    marker = tmp_path / "payload-ran"
    entry.write_text(f"open({str(marker)!r}, 'w').close()\n")  # planted under its name
    loop, _ = loops._compile_loops(quadruple.rule, quadruple.names, 2, 1)  # a new process's
    out[:] = 0
    loop(out, x)
    np.testing.assert_array_equal(out, x * 4)
    assert not marker.exists()
    assert "generated by nnlearn.lowering.loops" in entry.read_text()


@needs_numba
def test_without_a_home_folder_training_still_works(monkeypatch):
    """No $HOME and a uid the system cannot name: Path.home() raises; the loops are
    compiled in memory with one warning instead of every fit failing."""
    from pathlib import Path

    monkeypatch.delenv("NNLEARN_KERNEL_CACHE", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)

    def no_home():
        raise RuntimeError("Could not determine home directory.")

    monkeypatch.setattr(Path, "home", staticmethod(no_home))
    assert loops.kernel_cache_dir() is None

    @elementwise(arrays=2)
    def negate(out, x):
        return -x

    x, out = np.arange(3.0), np.empty(3)
    with loops.use("numba"), pytest.warns(UserWarning, match="no home folder"):
        negate(out, x)
    np.testing.assert_array_equal(out, -x)


@needs_numba
def test_a_garbage_index_or_a_full_disk_does_not_stop_training(tmp_path, monkeypatch):
    import errno

    from numba.core import caching

    folder = tmp_path / "kernels"
    monkeypatch.setenv("NNLEARN_KERNEL_CACHE", str(folder))

    @elementwise(arrays=2)
    def add_one(out, x):
        return x + 1.0

    x, out = np.arange(3.0), np.empty(3)
    with loops.use("numba"):
        add_one(out, x)
    indexes = list((folder / "__pycache__").glob("*add_one*.nbi"))
    assert indexes
    for index in indexes:
        index.write_bytes(b"\x80\x04XYZZY, not a pickle")
    loop, _ = loops._compile_loops(add_one.rule, add_one.names, 2, 1)  # a new process's
    with pytest.warns(UserWarning, match="numba's cache could not be read"):
        loop(out, x)
    np.testing.assert_array_equal(out, x + 1)
    saved = list((folder / "__pycache__").glob("*add_one*.loop-*.nbi"))  # the one loaded
    assert saved and all(b"XYZZY" not in index.read_bytes() for index in saved)  # anew

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(caching.IndexDataCacheFile, "save", full)
    for index in (folder / "__pycache__").glob("*add_one*"):
        index.unlink()
    loop, _ = loops._compile_loops(add_one.rule, add_one.names, 2, 1)
    with pytest.warns(UserWarning, match="No space left on device"):
        loop(out, x)
    np.testing.assert_array_equal(out, x + 1)


@needs_numba
@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0,
                    reason="giving a folder to another user needs root")
def test_a_cache_owned_by_another_user_is_not_used(tmp_path, monkeypatch):
    folder = tmp_path / "theirs"
    folder.mkdir(mode=0o700)
    marker = tmp_path / "payload-ran"
    for name in ("payload.py", "__init__.py"):
        (folder / name).write_text(f"open({str(marker)!r}, 'w').close()\n")
    os.chown(folder, 12345, 12345)
    monkeypatch.setenv("NNLEARN_KERNEL_CACHE", str(folder))

    @elementwise(arrays=2)
    def square(out, x):
        return x * x

    x, out = np.arange(4.0), np.empty(4)
    with loops.use("numba"), pytest.warns(UserWarning, match="belongs to another user"):
        square(out, x)
    np.testing.assert_array_equal(out, x * x)
    assert not marker.exists()
    assert not [p for p in folder.glob("*.py") if "square" in p.name]


def _fake_entry(folder, stem: str, used: float, sizes=(1000, 1000, 2000)):
    """A kernel-cache entry: a source and two numba files, last used at ``used``."""
    paths = [folder / f"{stem}.py", folder / "__pycache__" / f"{stem}.f-1.py311.nbi",
             folder / "__pycache__" / f"{stem}.f-1.py311.1.nbc"]
    for path, size in zip(paths, sizes):
        path.write_bytes(b"#" * size)
    os.utime(paths[0], (used, used))
    return paths


def test_the_kernel_cache_keeps_its_most_recently_used_entries(tmp_path, monkeypatch):
    """Above KERNEL_CACHE_BYTES the least recently used entries go, whole, down to three
    quarters of the bound; an entry this process uses stays however old; numba's files
    without a source and stale temporary files go too; it happens once per process."""
    import time

    (tmp_path / "__pycache__").mkdir()
    now = time.time()
    entries = [_fake_entry(tmp_path, f"entry_{i}", now - 1000 + 100 * i) for i in range(6)]
    stray = tmp_path / "__pycache__" / "gone_0123.f-1.py311.nbi"
    stray.write_bytes(b"#")
    os.utime(stray, (now - 7200, now - 7200))
    young_stray = tmp_path / "__pycache__" / "new_4567.f-1.py311.nbi"   # being written
    young_stray.write_bytes(b"#")
    old_tmp, new_tmp = tmp_path / "old.tmp", tmp_path / "new.tmp"
    old_tmp.write_text("x")
    new_tmp.write_text("x")
    os.utime(old_tmp, (now - 7200, now - 7200))
    monkeypatch.setattr(loops, "KERNEL_CACHE_BYTES", 20_000)   # 6 entries hold 24,000
    monkeypatch.setattr(loops, "_pruned", [])
    monkeypatch.setattr(loops, "_in_use", {"entry_0"})
    loops._prune(tmp_path)
    kept = [all(p.exists() for p in paths) for paths in entries]
    gone = [not any(p.exists() for p in paths) for paths in entries]
    # 24,000 -> 20,000 -> 16,000 -> 12,000 <= 15,000: entries 1, 2 and 3 (the oldest but
    # the one in use) are removed
    assert kept == [True, False, False, False, True, True]
    assert gone == [False, True, True, True, False, False]
    assert not stray.exists() and not old_tmp.exists()
    assert new_tmp.exists() and young_stray.exists()
    entries.append(_fake_entry(tmp_path, "entry_6", now - 5000, (30_000, 0, 0)))
    loops._prune(tmp_path)                                   # once per process
    assert all(p.exists() for p in entries[-1])


def test_a_kernel_cache_within_its_bound_keeps_every_entry(tmp_path, monkeypatch):
    (tmp_path / "__pycache__").mkdir()
    entries = [_fake_entry(tmp_path, f"entry_{i}", 1_000_000.0 * i) for i in range(3)]
    monkeypatch.setattr(loops, "_pruned", [])
    loops._prune(tmp_path)
    assert all(p.exists() for paths in entries for p in paths)


@needs_numba
def test_writing_a_new_entry_bounds_the_kernel_cache(tmp_path, monkeypatch):
    """compiled_module prunes when it writes a new source: old entries over the bound
    go, the new one (compiled and saved by numba) stays and runs."""
    monkeypatch.setenv("NNLEARN_KERNEL_CACHE", str(tmp_path))
    (tmp_path / "__pycache__").mkdir(mode=0o700)
    tmp_path.chmod(0o700)
    old = [_fake_entry(tmp_path, f"old_{i}", 1_000_000.0 + i, (10_000, 0, 0))
           for i in range(4)]
    monkeypatch.setattr(loops, "KERNEL_CACHE_BYTES", 20_000)
    monkeypatch.setattr(loops, "_pruned", [])
    (add_one,) = loops.compiled_module("nnlearn.tests.prune", "def add_one(x):\n"
                                       "    return x + 1\n", {}, [], ("add_one",))
    assert add_one(1.5) == 2.5
    # 40,000 bytes and the new source: the three oldest go (down to 15,000 at most)
    assert [p[0].exists() for p in old] == [False, False, False, True]
    assert len(list(tmp_path.glob("nnlearn_tests_prune_*.py"))) == 1
