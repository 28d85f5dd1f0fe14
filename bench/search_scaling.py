"""Wall time of a 32-trial random search: one process, two joblib processes, and a
two-worker Dask LocalCluster on 127.0.0.1 (workers started and warmed before timing).

Each trial trains a 2-16-16-2 MLP (Adam) on TensorFlow Playground's spiral for 30
epochs and scores it on held-out data.

    python bench/search_scaling.py [--trials 32]
"""

from __future__ import annotations

import argparse
import time

import nnlearn as nl
from nnlearn import model_selection as ms
from nnlearn.layers import Dense


def build(learning_rate, l2):
    model = nl.Sequential([Dense(16, activation="relu",
                                 kernel_regularizer=nl.regularizers.L2(l2)),
                           Dense(16, activation="relu",
                                 kernel_regularizer=nl.regularizers.L2(l2)),
                           Dense(2, activation="softmax")])
    model.compile(optimizer=nl.optimizers.Adam(learning_rate),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=32)
    args = parser.parse_args()
    X, y = nl.datasets.make_spiral(400, noise=0.1, random_state=0)
    x_train, x_val, y_train, y_val = ms.train_test_split(X, y, stratify=y, random_state=0)
    trial = ms.ModelTrial(build, x_train, y_train, validation_data=(x_val, y_val),
                          epochs=30, batch_size=32)
    space = {"learning_rate": ms.log_uniform(1e-4, 1e-1), "l2": ms.log_uniform(1e-5, 1e-1)}

    def search(**backend):
        start = time.perf_counter()
        results = ms.RandomSearch(trial, space, n_iter=args.trials, random_state=0,
                                  **backend).run()
        return time.perf_counter() - start, results.best_score_

    print(f"{args.trials}-trial random search, MLP on the spiral, 30 epochs per trial")
    serial, best = search()
    print(f"  n_jobs=1                {serial:6.2f} s   best accuracy {best:.3f}")
    search(n_jobs=2)  # start joblib's worker processes (loky keeps them for reuse)
    parallel, best = search(n_jobs=2)
    print(f"  n_jobs=2 (joblib)       {parallel:6.2f} s   speed-up {serial / parallel:.2f}x")
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        print("  Dask: not installed (pip install 'nnlearn[distributed]')")
        return
    with LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1",
                      dashboard_address=None) as cluster, Client(cluster) as client:
        search(client=client)  # warm the workers (imports)
        on_dask, best = search(client=client)
    print(f"  Dask LocalCluster (2)   {on_dask:6.2f} s   speed-up {serial / on_dask:.2f}x")


if __name__ == "__main__":
    main()
