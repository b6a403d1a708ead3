"""Debian's chromium for Playwright (never a downloaded browser): the tests' and benches'."""

from __future__ import annotations

import shutil

CHROMIUM = "/usr/bin/chromium"  # apt-get install chromium (.ci/run does)
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)


def chromium_installed() -> bool:
    return shutil.which("chromium") is not None


def launch(playwright: object) -> object:
    """A headless chromium from ``sync_playwright()``'s ``playwright``."""
    return playwright.chromium.launch(  # type: ignore[attr-defined]
        executable_path=CHROMIUM, args=list(CHROMIUM_ARGS)
    )
