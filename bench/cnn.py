"""Seconds per epoch and peak memory of the mnist-cnn experiment's LeNet-style network,
nnlearn vs PyTorch CPU in the same run, and where nnlearn's time goes.

28x28x1 -> Conv2D(6, 5, same, relu) -> MaxPool 2 -> Conv2D(16, 5, relu) -> MaxPool 2 ->
Dense(120, relu) -> Dense(84, relu) -> Dense(10, softmax); Adam 1e-3, batch 64, float32.
Each framework runs in its own process (its peak resident memory, ru_maxrss, is its own).
``--images`` trains on the first n training images and scales the time to 60,000;
``--rounds`` alternates the two frameworks that many times and reports the median of the
per-round ratios (on a shared machine the load changes from one minute to the next);
``--threads n`` gives each framework n threads (OpenBLAS's and PyTorch's): with 1, each
process keeps to one core, which is what a busy 2-core machine can compare reliably.
``--choice`` times the two NumPy routes for a convolution: im2col + one matrix product
(what nnlearn.autograd.conv does) against a loop of kh * kw smaller products.

``--parts`` times LeNet's convolution and pooling layers alone (forward, and forward +
backward, best of repeats) on both routes of the planner's convolution part: the numba
loops (im2col, col2im, max pooling) and NumPy's strided passes.

``--heap`` times LeNet's training step (batch 64, the same batch 200 times) with the C
heap's thresholds set (:mod:`nnlearn.lowering.heap`) and with the C library's defaults
(``NNLEARN_HEAP=off``), each in its own process, ``--rounds`` times alternating, and
prints the page faults and the milliseconds of a step.

    python bench/cnn.py [--images 60000] [--rounds 1] [--threads n] [--profile] [--choice]
                        [--parts] [--heap]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

import numpy as np

BATCH = 64


def load(n: int):
    from nnlearn.experiments.cnn import load_images

    (x, y), _ = load_images(quick=False)
    return x[:n], y[:n]


def run_nnlearn(n: int, profile: bool = False) -> dict:
    from nnlearn.experiments.cnn import lenet

    x, y = load(n)
    model = lenet(seed=0)
    model.fit(x[:BATCH * 4], y[:BATCH * 4], epochs=1, batch_size=BATCH, verbose=0)  # warm up
    result = {}
    if profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.enable()
    start = time.perf_counter()
    model.fit(x, y, epochs=1, batch_size=BATCH, verbose=0, seed=0)
    seconds = time.perf_counter() - start
    if profile:
        profiler.disable()
        stats = pstats.Stats(profiler)
        rows = sorted(((v[2], f"{k[0].rsplit('/', 1)[-1]}:{k[1]}({k[2]})")
                       for k, v in stats.stats.items()), reverse=True)[:12]
        result["profile_tottime_s"] = [(round(t, 3), name) for t, name in rows]
    result["epoch_s"] = seconds * 60000 / n
    return result


def run_torch(n: int, profile: bool = False) -> dict:
    import torch

    if os.environ.get("OMP_NUM_THREADS"):
        torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
    torch.manual_seed(0)
    x, y = load(n)
    x = torch.from_numpy(x).permute(0, 3, 1, 2).contiguous()
    y = torch.from_numpy(y)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(1, 6, 5, padding=2), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(6, 16, 5), torch.nn.ReLU(), torch.nn.MaxPool2d(2), torch.nn.Flatten(),
        torch.nn.Linear(400, 120), torch.nn.ReLU(), torch.nn.Linear(120, 84), torch.nn.ReLU(),
        torch.nn.Linear(84, 10))
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3, eps=1e-7)
    criterion = torch.nn.CrossEntropyLoss()

    def epoch(xs, ys):
        order = torch.randperm(len(xs))
        for start in range(0, len(xs), BATCH):
            index = order[start:start + BATCH]
            optimizer.zero_grad()
            criterion(net(xs[index]), ys[index]).backward()
            optimizer.step()

    epoch(x[:BATCH * 4], y[:BATCH * 4])
    start = time.perf_counter()
    epoch(x, y)
    return {"epoch_s": (time.perf_counter() - start) * 60000 / n,
            "threads": torch.get_num_threads()}


def conv_choice(repeats: int = 5) -> dict:
    """Forward + backward of the second convolution (batch 64, 14x14x6 -> 10x10x16):
    im2col + one product vs a loop of 25 products, seconds per call (best of repeats)."""
    import nnlearn as nl

    rng = np.random.default_rng(0)
    x = rng.standard_normal((BATCH, 14, 14, 6)).astype(np.float32)
    w = rng.standard_normal((5, 5, 6, 16)).astype(np.float32)
    g = rng.standard_normal((BATCH, 10, 10, 16)).astype(np.float32)

    def im2col():
        xs, ws = nl.Tensor(x, requires_grad=True), nl.Tensor(w, requires_grad=True)
        nl.grad(nl.conv2d(xs, ws), [xs, ws], gradient=g)

    def loop():
        out = np.zeros((BATCH, 10, 10, 16), np.float32)
        for a in range(5):
            for b in range(5):
                out += x[:, a:a + 10, b:b + 10, :] @ w[a, b]
        gw = np.empty_like(w)
        gx = np.zeros_like(x)
        g2 = g.reshape(-1, 16)
        for a in range(5):
            for b in range(5):
                gw[a, b] = x[:, a:a + 10, b:b + 10, :].reshape(-1, 6).T @ g2
                gx[:, a:a + 10, b:b + 10, :] += g @ w[a, b].T
        return out, gw, gx

    def best(fn):
        fn()
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        return min(times)

    return {"im2col_s": best(im2col), "loop_of_products_s": best(loop)}


def conv_parts(repeats: int = 20) -> dict:
    """Milliseconds (best of ``repeats``) of LeNet's layers at batch 64, forward and
    forward + backward, with the convolution loops on ("numba") and off ("numpy")."""
    import nnlearn as nl
    from nnlearn.lowering import loops
    from nnlearn.lowering.switches import settings

    rng = np.random.default_rng(0)
    layers = {   # name: (input shape, needs dL/dx, the op on (x, kernel, bias))
        "conv1 28x28x1 -> 28x28x6 (same)": ((BATCH, 28, 28, 1), False, (5, 5, 1, 6),
                                             lambda x, k, b: nl.conv2d(x, k, b, 1, "same")),
        "conv2 14x14x6 -> 10x10x16": ((BATCH, 14, 14, 6), True, (5, 5, 6, 16),
                                      lambda x, k, b: nl.conv2d(x, k, b)),
        "pool1 28x28x6 -> 14x14x6": ((BATCH, 28, 28, 6), True, None,
                                     lambda x, k, b: nl.max_pool2d(x, 2)),
        "pool2 10x10x16 -> 5x5x16": ((BATCH, 10, 10, 16), True, None,
                                     lambda x, k, b: nl.max_pool2d(x, 2)),
    }

    def best(fn):
        fn()
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        return round(min(times) * 1e3, 3)

    def times(op, arguments, wanted, g):
        return {"forward_ms": best(lambda: op(*arguments)),
                "forward_backward_ms": best(
                    lambda: nl.grad(op(*arguments), wanted, gradient=g))}

    result = {}
    routes = [False] + ([True] if "numba" in loops.available_backends() else [])
    for name, (shape, input_gradient, kernel, op) in layers.items():
        x = nl.Tensor(np.maximum(rng.standard_normal(shape), 0).astype(np.float32),
                      requires_grad=input_gradient)
        k = b = None
        wanted = [x] if input_gradient else []
        if kernel is not None:
            k = nl.Tensor(rng.standard_normal(kernel).astype(np.float32), requires_grad=True)
            b = nl.Tensor(np.zeros(kernel[-1], np.float32), requires_grad=True)
            wanted += [k, b]
        g = np.ones(op(x, k, b).shape, np.float32)
        for compiled in routes:
            with settings(conv_loops=compiled):
                result[f"{name}, {'numba' if compiled else 'numpy'}"] = times(
                    op, (x, k, b), wanted, g)
    return result


def heap_child() -> None:
    """Page faults and milliseconds of LeNet's training step (batch 64, one batch 200
    times after 50 to warm up), as JSON."""
    from nnlearn.experiments.cnn import lenet

    rng = np.random.default_rng(0)
    x = rng.random((BATCH, 28, 28, 1), dtype=np.float32)
    y = rng.integers(0, 10, BATCH)
    model = lenet(seed=0)
    for _ in range(50):
        model.train_step(x, y)
    times, before = [], resource.getrusage(resource.RUSAGE_SELF)
    for _ in range(200):
        start = time.perf_counter()
        model.train_step(x, y)
        times.append(time.perf_counter() - start)
    after = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"faults": (after.ru_minflt - before.ru_minflt) / 200,
                      "step_ms": 1e3 * float(np.median(times)),
                      "system_s": after.ru_stime - before.ru_stime}))


def heap_rounds(rounds: int) -> None:
    """:func:`heap_child` with the heap policy on and off, alternating."""
    for r in range(rounds):
        for policy in (("on", "off") if r % 2 == 0 else ("off", "on")):
            env = {**os.environ, "NNLEARN_HEAP": "auto" if policy == "on" else "off"}
            done = subprocess.run([sys.executable, __file__, "--child", "heap"],
                                  capture_output=True, text=True, env=env, check=True)
            result = json.loads(done.stdout.strip().splitlines()[-1])
            print(f"heap policy {policy:3s}: {result['faults']:7.1f} page faults a step, "
                  f"{result['step_ms']:6.2f} ms a step (median of 200), "
                  f"{result['system_s']:.2f} s in the kernel")


def child(framework: str, n: int, profile: bool) -> None:
    result = (run_nnlearn if framework == "nnlearn" else run_torch)(n, profile)
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=60000)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--choice", action="store_true")
    parser.add_argument("--parts", action="store_true")
    parser.add_argument("--heap", action="store_true")
    parser.add_argument("--child", choices=["nnlearn", "torch", "heap"])
    args = parser.parse_args()
    if args.parts:
        for name, times in conv_parts().items():
            print(f"{name:44s} forward {times['forward_ms']:7.3f} ms   forward + backward "
                  f"{times['forward_backward_ms']:7.3f} ms")
        return
    if args.child == "heap":
        heap_child()
        return
    if args.child:
        child(args.child, args.images, args.profile)
        return
    from nnlearn.utils import environment

    machine = environment()
    print(f"CPU: {machine['cpu']} ({machine['cores']} cores); BLAS: {machine['blas']}; "
          f"element-wise kernels: {machine['kernels']}")
    if args.heap:
        heap_rounds(args.rounds)
        return
    env = dict(os.environ)
    if args.threads:
        for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            env[name] = str(args.threads)
    rounds, ratios = [], []
    for r in range(args.rounds):
        results = {}
        order = ("nnlearn", "torch") if r % 2 == 0 else ("torch", "nnlearn")
        for framework in order:
            done = subprocess.run([sys.executable, __file__, "--child", framework, "--images",
                                   str(args.images), *(["--profile"] if args.profile else [])],
                                  capture_output=True, text=True, env=env)
            if done.returncode:
                print(f"{framework}: failed or not installed ({done.stderr.strip()[-200:]})")
                continue
            results[framework] = json.loads(done.stdout.strip().splitlines()[-1])
        for framework, result in results.items():
            print(f"{framework:8s} {result['epoch_s']:8.1f} s per epoch (60,000 images)  "
                  f"peak {result['peak_rss_mb']:.0f} MB")
        if len(results) == 2:
            ratios.append(results["nnlearn"]["epoch_s"] / results["torch"]["epoch_s"])
            print(f"ratio nnlearn / torch: {ratios[-1]:.2f}")
        rounds.append(results)
    if ratios:
        print(f"median ratio over {len(ratios)} rounds: {np.median(ratios):.2f} "
              f"(goal: at most 0.9)")
    results = rounds[-1]
    for t, name in results.get("nnlearn", {}).get("profile_tottime_s", []):
        print(f"  {t:8.3f} s  {name}")
    if args.choice:
        print(json.dumps(conv_choice()))


if __name__ == "__main__":
    main()
