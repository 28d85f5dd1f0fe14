"""nnlearn.lowering.heap: glibc's thresholds set once a model runs, so that a step's large
temporaries stay mapped between batches (no page faults), and the cases where the C
library's defaults are kept.  Each run of a model is in a process of its own: the
thresholds are the process's and cannot be restored."""

import ast
import os
import subprocess
import sys

import pytest

from nnlearn.lowering import heap

def _is_glibc() -> bool:
    try:
        return bool(os.confstr("CS_GNU_LIBC_VERSION"))
    except (AttributeError, ValueError, OSError):
        return False


needs_glibc = pytest.mark.skipif(not _is_glibc(), reason="the heap policy is glibc's mallopt")

# Four 4 MiB blocks alive together, then freed, ten times: 16 MiB at the heap's top each
# time, above the trim threshold glibc's adaptive rule reaches for 4 MiB blocks (8 MiB).
PROBE = """
import resource
import numpy as np
import nnlearn as nl
from nnlearn.layers import Dense, Input
from nnlearn.lowering import heap

model = nl.Sequential([Input(2), Dense(1)], seed=0)
model.compile("sgd", "mse")
x, y = np.zeros((4, 2), np.float32), np.zeros((4, 1), np.float32)
{run}

def blocks():
    arrays = [np.ones(1 << 20, np.float32) for _ in range(4)]
    del arrays

for _ in range(3):
    blocks()
start = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(10):
    blocks()
faults = (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - start) / 10
line = [p for p in model.plan().parts if p.part == "heap"][0]
print(repr((heap.keep_freed_blocks(), faults, line.choice, line.reason)))
"""

RUNS = {"fit": "model.fit(x, y, verbose=0)", "evaluate": "model.evaluate(x, y)",
        "predict": "model.predict(x)",
        # a fit whose train_step is the user's own (as a Dask fit's is nnlearn.data.dask's)
        "fit with its own train_step": (
            "class Own(nl.Sequential):\n"
            "    def train_step(self, x, y, sample_weight=None):\n"
            "        return {'loss': 0.0}\n"
            "own = Own([Input(2), Dense(1)], seed=0)\n"
            "own.compile('sgd', 'mse')\n"
            "own.fit(x, y, verbose=0)")}


def _probe(run: str, **environment):
    env = {key: value for key, value in os.environ.items()
           if key not in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_",
                          "GLIBC_TUNABLES", "LD_PRELOAD", "NNLEARN_HEAP")}
    # NumPy asks for huge pages for arrays of 4 MiB and more, which would make the count
    # depend on the kernel's transparent-hugepage setting: off here, every 4 KiB page counts
    env.update(NUMPY_MADVISE_HUGEPAGE="0", **environment)
    done = subprocess.run([sys.executable, "-c", PROBE.format(run=run)],
                          capture_output=True, text=True, env=env, check=True)
    return ast.literal_eval(done.stdout.strip().splitlines()[-1])


@needs_glibc
@pytest.mark.parametrize("run", RUNS)
def test_a_model_run_sets_the_thresholds_and_freed_blocks_are_not_faulted_in_again(run):
    reason, faults, choice, why = _probe(RUNS[run])
    assert reason is None
    assert faults < 16      # 4,096 pages a round are allocated; none comes back fresh
    assert choice.startswith("freed blocks kept (mmap threshold 32 MiB, trim threshold 64")
    assert "faulted in" in why


@needs_glibc
def test_without_the_policy_the_same_blocks_are_faulted_in_every_round():
    """The mechanism the policy removes: with the C library's defaults (switched off),
    the freed top of the heap goes back to the kernel and every round faults it in."""
    reason, faults, choice, why = _probe(RUNS["fit"], NNLEARN_HEAP="off")
    assert reason == "NNLEARN_HEAP=off"
    assert faults > 2000    # 4,064 a round measured (of 4,096 pages)
    assert (choice, why) == ("the C library's defaults", "NNLEARN_HEAP=off")


@needs_glibc
def test_nothing_is_set_before_a_model_runs():
    """Importing nnlearn, building and compiling a model and asking for its plan change
    nothing: the plan says what a run will do."""
    _, faults, choice, _ = _probe("")
    assert faults > 2000
    assert choice.startswith("freed blocks kept")


@needs_glibc
def test_the_process_s_own_malloc_settings_are_left_alone():
    reason, _, choice, why = _probe(RUNS["fit"], MALLOC_TRIM_THRESHOLD_="1048576")
    assert reason == why == "the process has its own malloc settings (MALLOC_TRIM_THRESHOLD_)"
    assert choice == "the C library's defaults"


@pytest.mark.parametrize("environment, confstr, expected", [
    ({"LD_PRELOAD": "/usr/lib/libjemalloc.so.2"}, "glibc 2.36",
     "another allocator is preloaded (jemalloc)"),
    ({"GLIBC_TUNABLES": "glibc.malloc.trim_threshold=0"}, "glibc 2.36",
     "the process has its own malloc settings (GLIBC_TUNABLES)"),
    ({}, None, "the C library is not glibc (mallopt is glibc's)"),
    ({}, ValueError, "the C library is not glibc (mallopt is glibc's)"),
    ({}, "glibc 2.36", None),
])
def test_why_the_policy_would_not_be_applied(monkeypatch, environment, confstr, expected):
    """The reasons, as the plan gives them (nothing is set: only the reason is asked)."""
    for name in ("LD_PRELOAD", "GLIBC_TUNABLES", "MALLOC_MMAP_THRESHOLD_",
                 "MALLOC_TRIM_THRESHOLD_", "NNLEARN_HEAP"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)

    def fake_confstr(name):
        if confstr is ValueError:
            raise ValueError("unrecognized configuration name")
        return confstr

    monkeypatch.setattr(heap.os, "confstr", fake_confstr)
    from nnlearn.lowering import switches

    monkeypatch.setattr(switches, "_environment", {})
    assert heap._unavailable() == expected


def test_a_bad_switch_value_is_explained():
    env = {**os.environ, "NNLEARN_HEAP": "sometimes"}
    done = subprocess.run([sys.executable, "-c", "from nnlearn.lowering import heap\n"
                           "heap.keep_freed_blocks()"],
                          capture_output=True, text=True, env=env)
    assert done.returncode != 0
    assert "NNLEARN_HEAP must be 'auto', 'on' or 'off'; got 'sometimes'" in done.stderr
