"""Fit time and accuracy of nnlearn's MLPClassifier against scikit-learn's, same data
and settings, in the same run.

Data: 20,000 MNIST training images (pixels / 255), tested on the 10,000 test images.
Settings: hidden_layer_sizes=(100,), solver="adam", batch_size=200, max_iter=10,
n_iter_no_change large enough that both run every epoch; float64 inputs (scikit-learn
then computes in float64; nnlearn too, and again with dtype="float32").  With the same
random_state nnlearn starts from scikit-learn's initial weights and shuffles as it does,
so the float64 runs end with the same accuracy.  Each fit is repeated ``--repeats`` times,
interleaved, and the fastest time kept (the machine may be shared and noisy).

    python bench/sklearn_mlp.py [--samples 20000] [--epochs 10] [--repeats 3]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

from nnlearn.datasets import mnist
from nnlearn.estimators import MLPClassifier


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=20000)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--dtype", default="float64", choices=("float64", "float32"))
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    (x_train, y_train), (x_test, y_test) = mnist.load_data(verbose=False)
    x_train = x_train[:args.samples].reshape(args.samples, -1).astype(args.dtype) / 255
    x_test = x_test.reshape(10000, -1).astype(args.dtype) / 255
    y_train = y_train[:args.samples]
    settings = dict(hidden_layer_sizes=(100,), solver="adam", batch_size=200,
                    max_iter=args.epochs, n_iter_no_change=10**6, random_state=0)
    print(f"MLP 784-100-10, adam, batch 200, {args.epochs} epochs on {args.samples} MNIST "
          f"images ({args.dtype})")
    results = {}
    candidates = {"nnlearn": MLPClassifier,
                  "nnlearn f32": lambda **kw: MLPClassifier(dtype="float32", **kw)}
    try:
        from sklearn.neural_network import MLPClassifier as SklearnMLP
        candidates["scikit-learn"] = SklearnMLP
    except ImportError:
        print("  scikit-learn not installed: no comparison (pip install scikit-learn)")
    fitted = {}
    for _ in range(args.repeats):
        for name, cls in candidates.items():
            model = cls(**settings)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                start = time.perf_counter()
                model.fit(x_train, y_train)
                seconds = time.perf_counter() - start
            results[name] = min(seconds, results.get(name, np.inf))
            fitted[name] = model
    for name, model in fitted.items():
        print(f"  {name:<13s} fit {results[name]:6.2f} s (best of {args.repeats})   test "
              f"accuracy {model.score(x_test, y_test):.4f}")
    if "scikit-learn" in results:
        for name in ("nnlearn", "nnlearn f32"):
            print(f"  ratio {name} / scikit-learn fit time: "
                  f"{results[name] / results['scikit-learn']:.2f}")


if __name__ == "__main__":
    main()
