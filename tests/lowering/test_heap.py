"""nnlearn.lowering.heap: glibc's thresholds set once a model runs, so that a step's large
temporaries stay mapped between batches (no page faults), and the switch that keeps the
C library's defaults.  Each case runs in a process of its own: the thresholds are the
process's and cannot be restored."""

import os
import platform
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(platform.system() != "Linux"
                                or platform.libc_ver()[0] != "glibc",
                                reason="the heap policy is glibc's mallopt")

# Four 4 MiB blocks alive together, then freed, ten times: 16 MiB at the heap's top each
# time, above the trim threshold glibc's adaptive rule reaches for 4 MiB blocks (8 MiB).
PROBE = """
import resource
import numpy as np
import nnlearn as nl
from nnlearn.layers import Dense, Input
from nnlearn.lowering import heap

{before}

def blocks():
    arrays = [np.ones(1 << 20, np.float32) for _ in range(4)]
    del arrays

for _ in range(3):
    blocks()
start = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(10):
    blocks()
faults = (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - start) / 10
model = nl.Sequential([Input(2), Dense(1)], seed=0)
model.compile("sgd", "mse")
line = [p for p in model.plan().parts if p.part == "heap"][0]
print(repr((heap.keep_freed_blocks(), faults, line.choice, line.reason)))
"""

FIT = """
import numpy as np
model = nl.Sequential([Input(2), Dense(1)], seed=0)
model.compile("sgd", "mse")
model.fit(np.zeros((4, 2), np.float32), np.zeros((4, 1), np.float32), verbose=0)
"""


def _probe(before: str, heap: str = "auto"):
    env = {**os.environ, "NNLEARN_HEAP": heap}
    done = subprocess.run([sys.executable, "-c", PROBE.format(before=before)],
                          capture_output=True, text=True, env=env, check=True)
    return eval(done.stdout.strip().splitlines()[-1])  # a tuple of literals we printed


def test_a_fit_sets_the_thresholds_and_freed_blocks_are_not_faulted_in_again():
    reason, faults, choice, why = _probe(FIT)
    assert reason is None
    assert faults < 16      # 4,096 pages a round are allocated; none comes back fresh
    assert choice.startswith("freed blocks kept (mmap threshold 32 MiB, trim threshold 64")
    assert "faulted in" in why


def test_without_the_policy_the_same_blocks_are_faulted_in_every_round():
    """The mechanism the policy removes: with the C library's defaults (switched off),
    the freed top of the heap goes back to the kernel and every round faults it in."""
    reason, faults, choice, why = _probe(FIT, heap="off")
    assert reason == "NNLEARN_HEAP=off"
    assert faults > 500     # (2,020 a round on glibc 2.36: half the blocks)
    assert (choice, why) == ("the C library's defaults", "NNLEARN_HEAP=off")


def test_nothing_is_set_before_a_model_runs():
    """Importing nnlearn and building a plan change nothing: the plan says what a run will
    do; the thresholds are set by train_step, evaluate and predict."""
    _, faults, choice, _ = _probe("")
    assert faults > 500     # (2,020 a round on glibc 2.36: half the blocks)
    assert choice.startswith("freed blocks kept")


def test_a_bad_switch_value_is_explained():
    env = {**os.environ, "NNLEARN_HEAP": "sometimes"}
    done = subprocess.run([sys.executable, "-c", "from nnlearn.lowering import heap\n"
                           "heap.keep_freed_blocks()"],
                          capture_output=True, text=True, env=env)
    assert done.returncode != 0
    assert "NNLEARN_HEAP must be 'auto', 'on' or 'off'; got 'sometimes'" in done.stderr
