"""Following the README leaves the repository clean, and the browser tests find a
Chromium without the network (issue 32 item 22)."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

import browser

ROOT = Path(__file__).resolve().parents[1]


def test_the_readme_notebook_steps_write_outside_the_documentation():
    """The notebooks that the README's steps create go to notebooks/ (ignored by git);
    in docs/ the site build would copy them and git would list them as untracked."""
    steps = [line for line in (ROOT / "README.md").read_text().splitlines()
             if "jupytext" in line and "ipynb" in line]
    for line in steps:
        outputs = re.findall(r"--output[ =](\S+)", line) + re.findall(r"-o (\S+)", line)
        assert outputs, f"a README step writes its notebook beside its source: {line}"
        assert not any(out.startswith("docs/") for out in outputs), line


@pytest.mark.skipif(shutil.which("git") is None or not (ROOT / ".git").exists(),
                    reason="not a git checkout")
@pytest.mark.parametrize("path", ["notebooks/01_neurons.ipynb",
                                  "docs/lessons/01_neurons.ipynb"])
def test_generated_notebooks_are_ignored_by_git(path):
    result = subprocess.run(["git", "check-ignore", "-q", path], cwd=ROOT)
    assert result.returncode == 0, f"git would list {path} as untracked"


def test_the_site_build_skips_notebooks_left_in_the_lessons():
    config = (ROOT / "mkdocs.yml").read_text()
    exclude = config.split("exclude_docs: |", 1)[1].split("\n\n", 1)[0]
    assert "/lessons/*.ipynb" in exclude.split()


def test_chromium_is_taken_from_the_environment_then_the_system(tmp_path, monkeypatch):
    fake = tmp_path / "my-chromium"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    monkeypatch.setenv("NNLEARN_CHROMIUM", str(fake))
    assert browser.chromium_executable() == str(fake)
    monkeypatch.setenv("NNLEARN_CHROMIUM", str(tmp_path / "missing"))
    assert browser.chromium_executable() is None
    monkeypatch.delenv("NNLEARN_CHROMIUM")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "chromium-browser").symlink_to(fake)
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.setenv("PLAYWRIGHT_BROWSERS_PATH", str(tmp_path / "none"))
    assert browser.chromium_executable() == str(bin_dir / "chromium-browser")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    downloaded = tmp_path / "pw" / "chromium-1140" / "chrome-linux" / "chrome"
    downloaded.parent.mkdir(parents=True)
    downloaded.write_text("")
    monkeypatch.setenv("PLAYWRIGHT_BROWSERS_PATH", str(tmp_path / "pw"))
    assert browser.chromium_executable() == str(downloaded)
    assert "apt-get install chromium" in browser.SKIP_REASON
    assert "playwright install chromium" in browser.SKIP_REASON
