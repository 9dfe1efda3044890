"""Debian's Chromium, driven by Python Playwright, for the tests that use a real browser.

Playwright's own browser download does not work offline, so the tests launch the system
Chromium with the flags a sandboxed CI machine needs. A test that asks for it is skipped,
with the reason, where Chromium or Playwright is missing.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
#: Chromium's own fake camera and the permission prompt answered, for the Live tab.
FAKE_CAMERA_FLAGS = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]


def skip_without_chromium() -> Any:
    """Skip the calling test (or module) when Chromium or Playwright is missing.

    Returns:
        ``playwright.sync_api``.
    """
    if not CHROMIUM.is_file():
        pytest.skip(f"Chromium not found at {CHROMIUM}", allow_module_level=True)
    return pytest.importorskip("playwright.sync_api")


@contextmanager
def chromium(extra_args: Sequence[str] = ()) -> Iterator[Any]:
    """A launched headless Chromium, closed on exit.

    Args:
        extra_args: Flags added to :data:`CHROMIUM_ARGS`.

    Yields:
        The Playwright ``Browser``.
    """
    sync_api = skip_without_chromium()
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=[*CHROMIUM_ARGS, *extra_args]
        )
        try:
            yield browser
        finally:
            browser.close()
