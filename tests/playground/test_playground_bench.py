"""``bench/playground.py`` runs (its figures are taken on a quiet machine, never here):
the classroom measurement's students close their connections before its server stops.

uvicorn closes the WebSockets still open at shutdown with code 1012 ("service restart");
the benchmark used to stop its server while its 30 student threads were still reading,
and a thread that had not yet seen the stop raised ``ConnectionClosedError: received
1012``.  The script now exits with status 1 (and says which student failed) when a
student did not train in every phase, did not close cleanly, or the server still held
a session when stopped."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("uvicorn")
pytest.importorskip("websockets")
ROOT = Path(__file__).resolve().parents[2]


def test_the_classroom_benchmark_runs_and_its_students_close_before_the_server_stops():
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "playground.py"),
                           "--classroom-only", "--quick"], capture_output=True, text=True,
                          timeout=240, cwd=ROOT, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr and "1012" not in done.stderr, done.stderr
    assert "students that closed cleanly: 3 of 3" in done.stdout, done.stdout
    assert "FAILED" not in done.stdout, done.stdout
    rounds = [line for line in done.stdout.splitlines() if line.strip().startswith("round ")]
    assert len(rounds) == 2, done.stdout
    assert "median of the rounds" in done.stdout


def test_the_benchmark_refuses_bad_arguments():
    for bad in (["--rounds", "0"], ["--students", "0"], ["--seconds", "0"]):
        done = subprocess.run([sys.executable, str(ROOT / "bench" / "playground.py"),
                               "--classroom-only", *bad], capture_output=True, text=True,
                              timeout=60, cwd=ROOT)
        assert done.returncode == 2 and bad[0] in done.stderr, (bad, done.stderr)
