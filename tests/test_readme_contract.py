"""The README's Quickstart: exactly two commands, the second is what CI runs, and the
main job of the first works and prints what it promises."""

import re
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def quickstart_commands():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Quickstart", 1)[1]
    block = re.search(r"```(?:bash|sh)?\n(.*?)```", section, re.S).group(1)
    return [line for line in block.splitlines() if line.strip()]


def test_quickstart_is_the_first_section_and_has_two_commands():
    readme = (ROOT / "README.md").read_text()
    first_section = re.search(r"^## (.+)$", readme, re.M).group(1)
    assert first_section == "Quickstart"
    assert len(quickstart_commands()) == 2


def test_ci_runs_the_quickstart_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    assert quickstart_commands()[1] in ci.splitlines()


def test_main_job_trains_mnist_to_the_books_accuracy():
    """The first command's main job: Chollet (2017)'s network reaches >= 0.978 (Keras: 0.9785)."""
    main_job = quickstart_commands()[0].split("&&")[-1].strip()
    argv = shlex.split(main_job)
    assert argv[:2] == ["python", "-m"]
    result = subprocess.run([sys.executable, *argv[1:]], capture_output=True, text=True,
                            timeout=900)
    assert result.returncode == 0, result.stderr[-2000:]
    last = result.stdout.strip().splitlines()[-1]
    assert last.startswith("test_acc: ")
    assert float(last.split()[-1]) >= 0.978
