"""Seconds per epoch of a recurrent layer of 64 units (LSTM, GRU, SimpleRNN) + Dense(1)
on the adding problem (10,000 sequences of 50 steps, 2 features; Adam 1e-3, batch 128,
float32, MSE), nnlearn vs PyTorch CPU (nn.LSTM, nn.GRU, nn.RNN) in the same run, with
the CPU model and the BLAS, with each library's default threads and with one thread
each (``--threads``), and where nnlearn's time goes (forward / backward of the fused op
per batch, and a cProfile of the epoch).

Each framework runs in its own process (one thread: OPENBLAS_NUM_THREADS=1 and
torch.set_num_threads(1)).  ``--unrolled`` also times nnlearn's engine graph of one node
per op and step (a layer with a custom activation takes that path), the alternative the
fused op with its hand-written BPTT VJP replaces; ``NNLEARN_RECURRENT_CELL=off`` times
the fused op's NumPy steps instead of the compiled cell.

``--rounds n`` alternates the frameworks' runs n times (which goes first alternating too)
and reports each one's median epoch and the median of the rounds' ratios (on a shared
machine the load changes from one minute to the next).

    python bench/rnn.py [--cell lstm|gru|simple_rnn|all] [--threads default|one|both]
                        [--sequences 10000] [--steps 50] [--rounds 1] [--profile]
                        [--unrolled]
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

BATCH, UNITS = 128, 64
CELLS = {"lstm": ("LSTM", "LSTM", 2), "gru": ("GRU", "GRU", 1),  # nnlearn, torch, outputs
         "simple_rnn": ("SimpleRNN", "RNN", 1)}


def data(n: int, steps: int):
    from nnlearn.datasets import make_adding_problem

    x, y = make_adding_problem(n, steps, random_state=0)
    return x.astype(np.float32), y.astype(np.float32)


def run_nnlearn(n: int, steps: int, profile: bool, unrolled: bool, cell: str) -> dict:
    import nnlearn as nl
    from nnlearn import layers

    x, y = data(n, steps)
    lstm = getattr(layers, CELLS[cell][0])(UNITS)
    if unrolled:
        lstm.fused = lambda: False  # the engine graph: one node per op and step
    model = nl.Sequential([layers.Input((steps, 2)), lstm, layers.Dense(1)], seed=0)
    model.compile(nl.optimizers.Adam(1e-3), "mse")
    model.fit(x[:BATCH * 2], y[:BATCH * 2], epochs=1, batch_size=BATCH, verbose=0)  # warm
    result = {}
    if profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.enable()
    start, cpu = time.perf_counter(), time.process_time()
    model.fit(x, y, epochs=1, batch_size=BATCH, verbose=0, seed=0)
    result["epoch_s"] = time.perf_counter() - start
    result["epoch_cpu_s"] = time.process_time() - cpu
    if profile:
        profiler.disable()
        stats = pstats.Stats(profiler)
        rows = sorted(((v[2], f"{k[0].rsplit('/', 1)[-1]}:{k[1]}({k[2]})")
                       for k, v in stats.stats.items()), reverse=True)[:10]
        result["profile_tottime_s"] = [(round(t, 3), name) for t, name in rows]
    if not unrolled:  # forward and backward of the op alone, per batch (best of 10)
        xb = nl.Tensor(x[:BATCH])
        forward, backward = [], []
        for _ in range(10):
            t0 = time.perf_counter()
            if cell == "lstm":
                h, _ = nl.lstm(xb, *lstm.params)
            else:
                h = getattr(nl, cell)(xb, *lstm.params)
            out = h[:, -1]
            t1 = time.perf_counter()
            nl.grad(out, lstm.params, gradient=np.ones(out.shape, np.float32))
            forward.append(t1 - t0)
            backward.append(time.perf_counter() - t1)
        result["op_forward_ms"] = 1e3 * min(forward)
        result["op_backward_ms"] = 1e3 * min(backward)
    return result


def run_torch(n: int, steps: int, profile: bool, unrolled: bool, cell: str) -> dict:
    import torch

    if os.environ.get("OPENBLAS_NUM_THREADS") == "1":
        torch.set_num_threads(1)

    torch.manual_seed(0)
    x, y = (torch.from_numpy(a) for a in data(n, steps))

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = getattr(torch.nn, CELLS[cell][1])(2, UNITS, batch_first=True)
            self.dense = torch.nn.Linear(UNITS, 1)

        def forward(self, xs):
            return self.dense(self.lstm(xs)[0][:, -1])[:, 0]

    net = Net()
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3, eps=1e-7)

    def epoch(xs, ys):
        order = torch.randperm(len(xs))
        for start in range(0, len(xs), BATCH):
            index = order[start:start + BATCH]
            optimizer.zero_grad()
            torch.mean((net(xs[index]) - ys[index]) ** 2).backward()
            optimizer.step()

    epoch(x[:BATCH * 2], y[:BATCH * 2])
    start, cpu = time.perf_counter(), time.process_time()
    epoch(x, y)
    return {"epoch_s": time.perf_counter() - start, "epoch_cpu_s": time.process_time() - cpu,
            "threads": torch.get_num_threads(), "torch": torch.__version__}


def child(framework: str, args) -> None:
    run = run_torch if framework == "torch" else run_nnlearn
    result = run(args.sequences, args.steps, args.profile, framework == "unrolled", args.cell)
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


def _positive(text: str) -> int:
    """A positive integer from the command line."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer; got {value}")
    return value


def _median_run(results: list) -> dict:
    """The run whose epoch is the median of the rounds' (the upper one of an even
    number)."""
    return sorted(results, key=lambda r: r["epoch_s"])[len(results) // 2]


def _threads(threads: str) -> str:
    """The printed name of a thread setting: "default threads" or "one thread"."""
    return "one thread" if threads == "one" else f"{threads} threads"


def compare(args, cell: str, threads: str) -> None:
    """One row: nnlearn and PyTorch (and the unrolled graph) on ``cell`` with ``threads``."""
    name = CELLS[cell][0]
    print(f"{name}({UNITS}) + Dense(1), {args.sequences:,} sequences x {args.steps} steps x "
          f"2 features, batch {BATCH}, Adam, float32, {_threads(threads)}: one epoch")
    env = dict(os.environ)
    if threads == "one":
        env.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    frameworks = ("nnlearn", "torch") + (("unrolled",) if args.unrolled else ())
    runs = {}  # framework -> {round: its result}
    for round_ in range(args.rounds):  # alternating which goes first: the load drifts
        for framework in frameworks if round_ % 2 == 0 else frameworks[::-1]:
            done = subprocess.run([sys.executable, __file__, "--child", framework, "--cell",
                                   cell, "--sequences", str(args.sequences), "--steps",
                                   str(args.steps), *(["--profile"] if args.profile else [])],
                                  capture_output=True, text=True, env=env)
            if done.returncode:
                print(f"{framework}: failed or not installed ({done.stderr.strip()[-200:]})")
                continue
            runs.setdefault(framework, {})[round_] = json.loads(
                done.stdout.strip().splitlines()[-1])
    results = {framework: _median_run(list(r.values())) for framework, r in runs.items()}
    for framework, r in results.items():
        extra = (f" (torch {r['torch']}, {r['threads']} thread"
                     f"{'' if r['threads'] == 1 else 's'})" if "torch" in r else "")
        label = "nnlearn unrolled" if framework == "unrolled" else framework
        epochs = ", ".join(f"{x['epoch_s']:.2f}" for x in runs[framework].values())
        each = "" if len(runs[framework]) == 1 else f" (median of {epochs})"
        print(f"  {label:17s} {r['epoch_s']:7.2f} s per epoch{each} ({r['epoch_cpu_s']:.2f} s"
              f" of CPU)  peak {r['peak_rss_mb']:.0f} MB{extra}")
    # the ratio of each round in which both ran
    ratios = sorted(ours["epoch_s"] / runs["torch"][round_]["epoch_s"]
                    for round_, ours in runs.get("nnlearn", {}).items()
                    if round_ in runs.get("torch", {}))
    if ratios:
        spread = "" if len(ratios) == 1 else \
            f" (median of the rounds' {', '.join(f'{r:.2f}' for r in ratios)})"
        print(f"  ratio nnlearn / torch ({name}, {_threads(threads)}): "
              f"{ratios[len(ratios) // 2]:.2f}{spread}")
    ours = results.get("nnlearn", {})
    if "op_forward_ms" in ours:
        batches = -(-args.sequences // BATCH)
        op = (ours["op_forward_ms"] + ours["op_backward_ms"]) * batches / 1e3
        print(f"  where the time goes: the fused {name} op takes {ours['op_forward_ms']:.1f} ms "
              f"forward + {ours['op_backward_ms']:.1f} ms backward per batch of {BATCH}, "
              f"{op:.2f} s of the epoch ({100 * op / ours['epoch_s']:.0f}%); the rest: the "
              f"Dense layer, the loss, Adam, batching (and any load from other jobs)")
    for t, label in ours.get("profile_tottime_s", []):
        print(f"    {t:8.3f} s  {label}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cell", choices=[*CELLS, "all"], default="all")
    parser.add_argument("--threads", choices=["default", "one", "both"], default="both")
    parser.add_argument("--sequences", type=int, default=10000)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--rounds", type=_positive, default=1,
                        help="alternate the frameworks' runs this many times; the median")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--unrolled", action="store_true")
    parser.add_argument("--child", choices=["nnlearn", "torch", "unrolled"])
    args = parser.parse_args()
    if args.child:
        child(args.child, args)
        return
    from nnlearn.utils import environment

    machine = environment()
    print(f"CPU: {machine['cpu']} ({machine['cores']} cores); NumPy {machine['numpy']}, "
          f"BLAS: {machine['blas']}; element-wise kernels: {machine['kernels']}")
    cells = list(CELLS) if args.cell == "all" else [args.cell]
    threads = ["default", "one"] if args.threads == "both" else [args.threads]
    for cell in cells:
        for mode in threads:
            compare(args, cell, mode)


if __name__ == "__main__":
    main()
