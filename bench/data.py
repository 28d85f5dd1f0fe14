"""Training from a memory-mapped file against the same data in memory, and the bytes a
full-batch L-BFGS iteration sends on a Dask cluster (issue 33).

1. ``--gigabytes`` (2 by default) of float32 features are generated into a temporary
   ``.npy`` file (deleted afterwards).  Two child processes each train one epoch of a
   small MLP (batch 256, Adam) on it: one opened with ``mmap_mode="r"`` (read a batch at
   a time by ``fit``), one loaded into memory first.  Each prints its epoch's seconds and
   its peak memory (``VmHWM``, and the anonymous memory ``RssAnon``, which leaves
   out the file's pages held in the page cache) measured in the child; ``--repeats``
   pairs of them (3 by default), alternating which runs first, compared by their
   medians.  The goal (issue 33): the memmap epoch peaks below 400 MB and takes at most
   1.15x the in-memory epoch.
2. On a ``LocalCluster`` of 2 workers, three L-BFGS epochs on a Dask array: the bytes
   of the weights sent to the chunks and of the sums sent back, per loss evaluation,
   next to the array's size (only weights and sums travel).

The CPU, the cores and the disk holding the file are printed first.

    python -m bench.data [--gigabytes 2] [--repeats 3] [--skip-dask] [--memmap-only]

(``--gigabytes 0.05 --skip-dask`` checks that it runs in a minute.)
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

FEATURES = 64
BATCH = 256


def _disk(path: str) -> str:
    """The device and filesystem holding path (from /proc/mounts)."""
    path = os.path.realpath(path)
    best = ("?", "?", "")
    try:
        with open("/proc/mounts", encoding="utf-8") as mounts:
            for line in mounts:
                device, mount, kind = line.split()[:3]
                if path.startswith(mount) and len(mount) > len(best[2]):
                    best = (device, kind, mount)
    except OSError:
        pass
    return f"{best[0]} ({best[1]}) mounted at {best[2] or '?'}"


def _anonymous_kb() -> int:
    with open("/proc/self/status", encoding="utf-8") as status:
        for line in status:
            if line.startswith("RssAnon:"):
                return int(line.split()[1])
    return -1


def _child(path: str, mode: str) -> None:
    """One epoch on the file (memmap) or on its contents loaded (memory); prints JSON."""
    import nnlearn as nl
    from nnlearn.models import mlp

    from nnlearn.data import read_rows

    array = np.load(path, mmap_mode="r" if mode == "memmap" else None)
    x = array[:, :FEATURES]
    # the labels a block at a time from the file (a column read through the mapping
    # would map every page of the file into this process)
    step = 1 << 16
    y = np.concatenate([read_rows(array, slice(start, start + step))[:, FEATURES] > 0
                        for start in range(0, len(array), step)]).astype(np.int64)
    if mode == "memory":
        x = np.ascontiguousarray(x)
    # the same warm-up in both modes, outside the timing: the first fit of a process
    # imports numba and loads the compiled step (0.5-0.7 s here)
    warm = mlp(FEATURES, [64], 2, output_activation="softmax", seed=0)
    warm.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    warm.fit(read_rows(x, slice(0, 4 * BATCH)), y[:4 * BATCH], epochs=1, batch_size=BATCH,
             verbose=0)
    model = mlp(FEATURES, [64], 2, output_activation="softmax", seed=0)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    start = time.perf_counter()
    model.fit(x, y, epochs=1, batch_size=BATCH, seed=0, verbose=0)
    seconds = time.perf_counter() - start
    print(json.dumps({"mode": mode, "seconds": seconds, "anon_kb": _anonymous_kb(),
                      "maxrss_kb": _peak_rss_kb(), "nnlearn": nl.__version__}))


def _peak_rss_kb() -> int:
    """This process's peak resident set: VmHWM (Linux), else ru_maxrss.  Not ru_maxrss
    first: a child started by vfork and exec inherits its parent's peak there (Linux
    records the parent's high-water mark at exec), and the parent wrote the file."""
    try:
        with open("/proc/self/status", encoding="utf-8") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _write(path: str, gigabytes: float) -> int:
    """The .npy file, written a block at a time with file writes (a writable memmap
    would keep the pages it wrote in this process's resident set)."""
    rows = int(gigabytes * 2**30 // ((FEATURES + 1) * 4))
    rng = np.random.default_rng(0)
    step = 1 << 16
    with open(path, "wb") as out:
        np.lib.format.write_array_header_1_0(out, {"descr": "<f4", "fortran_order": False,
                                                    "shape": (rows, FEATURES + 1)})
        for start in range(0, rows, step):
            rng.standard_normal((min(step, rows - start), FEATURES + 1),
                                np.float32).tofile(out)
    return rows


def memmap_against_memory(gigabytes: float, modes=("memmap", "memory"),
                          repeats: int = 3) -> None:
    """Each mode's epoch ``repeats`` times, the order alternating (memmap first, then
    memory first, ...: a drift of the machine's speed over the run favours neither),
    then the ratio of the medians (timings on a shared machine swing by 20-30% from
    one minute to the next: one pair of epochs is not a measurement)."""
    with tempfile.TemporaryDirectory(dir=os.environ.get("NNLEARN_BENCH_DIR")) as folder:
        path = os.path.join(folder, "data.npy")
        print(f"disk: {_disk(folder)}")
        rows = _write(path, gigabytes)
        print(f"file: {rows:,} rows x {FEATURES + 1} float32 = "
              f"{os.path.getsize(path) / 2**30:.2f} GiB")
        results = {mode: [] for mode in modes}
        for turn in range(repeats):
            for mode in modes if turn % 2 == 0 else modes[::-1]:
                done = subprocess.run([sys.executable, "-m", "bench.data", "--child", path,
                                       mode], capture_output=True, text=True, check=True)
                r = json.loads(done.stdout.strip().splitlines()[-1])
                results[mode].append(r)
                print(f"{mode:>7}: epoch {r['seconds']:.2f} s, peak RSS "
                      f"{r['maxrss_kb'] / 1024:,.0f} MB, anonymous memory at the end "
                      f"{r['anon_kb'] / 1024:,.0f} MB", flush=True)
        median = {mode: float(np.median([r["seconds"] for r in runs]))
                  for mode, runs in results.items()}
        if "memory" in results:
            pairs = [a["seconds"] / b["seconds"]
                     for a, b in zip(results["memmap"], results["memory"])]
            print(f"memmap / memory epoch time: {median['memmap'] / median['memory']:.3f} "
                  f"(medians of {repeats}; each pair: "
                  f"{', '.join(f'{p:.3f}' for p in pairs)}; goal <= 1.15)")
        peak = max(r["maxrss_kb"] for r in results["memmap"])
        print(f"memmap peak RSS {peak / 1024:,.0f} MB (the largest of {repeats}; goal < "
              "400 MB)")


def bytes_per_lbfgs_iteration() -> None:
    """The payload of one L-BFGS loss evaluation on the cluster: every chunk's task gets
    the weights and sends back its weighted loss and gradient sums (nnlearn.data.dask);
    counted by wrapping the chunk function, next to the bytes of the array."""
    import pickle

    import dask.array as da
    from distributed import Client, LocalCluster

    from nnlearn.data import dask as dask_data
    from nnlearn.models import mlp

    payload = {"out": 0, "back": 0, "tasks": 0}
    original = dask_data.FullBatchDaskAdapter._sums

    def counted(self, template, weights):
        results = original(self, template, weights)
        payload["out"] += len(results) * len(pickle.dumps(weights))
        payload["back"] += sum(len(pickle.dumps(r)) for r in results)
        payload["tasks"] += len(results)
        return results

    dask_data.FullBatchDaskAdapter._sums = counted
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster):
        rng = da.random.default_rng(0)  # generated on the workers, chunk by chunk
        x = rng.standard_normal((200_000, 32), chunks=(25_000, 32))
        y = (rng.standard_normal((200_000, 1), chunks=(25_000, 1)) > 0).astype(float)
        model = mlp(32, [16], 1, output_activation="sigmoid", seed=0, dtype="float64")
        model.compile(optimizer="lbfgs", loss="binary_crossentropy")
        start = time.perf_counter()
        model.fit(x, y, epochs=3, verbose=0)
        seconds = time.perf_counter() - start
    dask_data.FullBatchDaskAdapter._sums = original
    evaluations = model.loss_evaluations
    print(f"Dask array: {(x.nbytes + y.nbytes) / 2**20:,.0f} MiB in {x.numblocks[0]} "
          f"chunks; {model.count_params():,} weights")
    print(f"3 L-BFGS iterations, {evaluations} loss evaluations, {seconds:.2f} s: "
          f"{payload['out'] / evaluations:,.0f} bytes of weights out and "
          f"{payload['back'] / evaluations:,.0f} bytes of sums back per evaluation "
          "(pickled payload; the model is sent once per iteration besides)")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gigabytes", type=float, default=2.0)
    parser.add_argument("--skip-dask", action="store_true")
    parser.add_argument("--repeats", type=int, default=3,
                        help="epochs of each mode, alternating (default 3)")
    parser.add_argument("--memmap-only", action="store_true",
                        help="the memmap epoch alone (its peak RSS), no in-memory epoch")
    parser.add_argument("--child", nargs=2, metavar=("PATH", "MODE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(*args.child)
        return
    from nnlearn.utils import environment

    env = environment()
    print(f"cpu: {env['cpu']} ({env['cores']} cores); blas: {env['blas']}")
    memmap_against_memory(args.gigabytes,
                          ("memmap",) if args.memmap_only else ("memmap", "memory"),
                          args.repeats)
    if not args.skip_dask:
        bytes_per_lbfgs_iteration()


if __name__ == "__main__":
    main()
