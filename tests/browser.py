"""The Chromium the browser tests drive, found without the network: ``$NNLEARN_CHROMIUM``,
else the system's (``chromium``, ``chromium-browser``, ``google-chrome`` on the PATH, as
Debian's and Ubuntu's packages install it), else the one ``playwright install chromium``
downloaded (which needs the network, so the ``test`` extra cannot fetch it offline).
Without any, the browser tests are skipped with :data:`SKIP_REASON`, which says what to
install (``pytest -ra`` prints it)."""

from __future__ import annotations

import glob
import os
import shutil

import pytest

NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def chromium_executable() -> str | None:
    """The path of a Chromium to launch, or None."""
    chosen = os.environ.get("NNLEARN_CHROMIUM")
    if chosen:
        return chosen if os.access(chosen, os.X_OK) else None
    for name in NAMES:
        found = shutil.which(name)
        if found:
            return found
    cache = os.environ.get("PLAYWRIGHT_BROWSERS_PATH") or os.path.expanduser(
        "~/.cache/ms-playwright")
    downloaded = sorted(glob.glob(os.path.join(cache, "chromium-*", "chrome-linux*",
                                               "chrome")))
    return downloaded[-1] if downloaded else None


CHROMIUM = chromium_executable()
SKIP_REASON = ("no Chromium found, browser test skipped: set NNLEARN_CHROMIUM, install the "
               "system's (Debian: apt-get install chromium; .ci/run does) or run 'playwright "
               "install chromium' (needs the network)")
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason=SKIP_REASON)


def sync_api():
    """playwright.sync_api, or a skip saying that the test extra installs it."""
    return pytest.importorskip("playwright.sync_api", reason="playwright is not installed "
                               "(pip install playwright, part of nnlearn's test extra)")
