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


def test_main_job_prints_the_trained_network():
    main_job = quickstart_commands()[0].split("&&")[-1].strip()
    argv = shlex.split(main_job)
    assert argv[:2] == ["python", "-m"]
    result = subprocess.run([sys.executable, *argv[1:]], capture_output=True, text=True,
                            timeout=300, check=True)
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 4 and all("XOR" in line for line in lines)
    outputs = [float(line.rsplit("->", 1)[1]) for line in lines]
    assert outputs[0] < 0.1 and outputs[3] < 0.1 and outputs[1] > 0.9 and outputs[2] > 0.9
