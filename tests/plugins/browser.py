"""Headless Chromium for the page tests, driven by Playwright for Python.

Playwright drives Debian's ``chromium`` (``executable_path``), never a browser of
its own: ``playwright install`` downloads from a host the test machines cannot
reach. When Chromium is missing, the first process of the run that needs it
installs the Debian package under a lock in the run's shared temp folder.

Fixtures:

- ``browser`` (module): a launched headless Chromium, one per test module that uses it.
  While Playwright's sync API runs, it marks an asyncio loop as running in the test
  process's main thread, so ``asyncio.run`` in a later test would refuse to start:
  the browser and Playwright stop when the module ends;
- ``page`` (function): a fresh page in a fresh context, whose
  ``page.console_errors`` lists console errors and uncaught page errors;
- ``console_errors`` (function): the same list, for tests that prefer a fixture.

:func:`screenshot` saves a page under ``test-artifacts/screenshots/`` at the
repository root. Tests using these fixtures get the ``browser`` marker. If
Chromium or Playwright cannot be provided, those tests fail with the reason.
"""

from __future__ import annotations

import ctypes.util
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.plugins._debian import apt_install, file_lock

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
DOCS_SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
UPDATE_DOCS = "AIMS_UPDATE_SCREENSHOTS"
"""Set to 1 to copy the pictures the documentation shows into ``docs/screenshots``."""
CHROMIUM_ARGS = [
    "--no-sandbox",  # the sandbox needs user namespaces, which containers often lack
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: Milliseconds a page action or navigation may take before the test fails;
#: Playwright's own default (30 s) makes a broken page slow to report.
PAGE_TIMEOUT_MS = 10_000
VIEWPORT = {"width": 1280, "height": 900}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: runs in a real headless Chromium")


def find_chromium() -> str | None:
    """The path of a Chromium executable, or ``None`` if there is none."""
    if os.access("/usr/bin/chromium", os.X_OK):
        return "/usr/bin/chromium"
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    return None


def missing_packages() -> list[str]:
    """The Debian packages the browser tests need that are not installed.

    Besides Chromium, Playwright's bundled Node.js driver links against
    ``libatomic.so.1``, which a minimal Debian lacks and which Chromium does
    not pull in.
    """
    missing = [] if find_chromium() else ["chromium"]
    if ctypes.util.find_library("atomic") is None:
        missing.append("libatomic1")
    return missing


def ensure_chromium(lock_dir: Path) -> tuple[str, float]:
    """The path of Chromium and the seconds spent installing it (0 if it was present).

    Parameters
    ----------
    lock_dir
        A folder shared by every process of the test run, so that one installs
        while the others wait.
    """
    with file_lock(lock_dir / "chromium.lock"):
        missing = missing_packages()
        path = find_chromium()
        if path and not missing:
            return path, 0.0
        seconds = apt_install(missing, lock_dir)
        path = find_chromium()
        if not path:
            raise RuntimeError("Debian's chromium package was installed but no chromium is on PATH")
        return path, seconds


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A headless Chromium (a Playwright ``Browser``) for this module's tests."""
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError:
        pytest.fail(
            "the browser tests need Playwright for Python: pip install -e '.[dev]' "
            "(do not run 'playwright install'; Debian's chromium is used)",
            pytrace=False,
        )
    try:
        executable, _ = ensure_chromium(tmp_path_factory.getbasetemp().parent)
    except RuntimeError as exc:
        pytest.fail(f"no Chromium for the browser tests: {exc}", pytrace=False)
    try:
        playwright = sync_playwright().start()
    except Exception as exc:  # the driver's own error says little; stderr has the cause
        pytest.fail(
            f"Playwright's driver did not start ({exc}); its reason, such as a missing "
            "shared library, is in the captured stderr above",
            pytrace=False,
        )
    try:
        launched = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
    except Error as exc:
        playwright.stop()
        pytest.fail(f"Chromium at {executable} did not start: {exc}", pytrace=False)
    yield launched
    launched.close()
    playwright.stop()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh page in its own context; ``page.console_errors`` collects its errors."""
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(PAGE_TIMEOUT_MS)
    new_page = context.new_page()
    errors: list[str] = []
    new_page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    new_page.on("pageerror", lambda exc: errors.append(f"uncaught: {exc}"))
    new_page.console_errors = errors
    yield new_page
    context.close()


@pytest.fixture
def console_errors(page: Any) -> list[str]:
    """Console errors and uncaught exceptions of ``page`` so far (a live list)."""
    return page.console_errors  # type: ignore[no-any-return]


def screenshot(page: Any, name: str) -> Path:
    """Save a full-page screenshot as ``test-artifacts/screenshots/NAME.png``.

    Parameters
    ----------
    page
        A Playwright page, for example the ``page`` fixture.
    name
        The file name without extension; characters other than letters,
        digits, ``.``, ``_`` and ``-`` become ``_``.
    """
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{re.sub(r'[^A-Za-z0-9._-]', '_', name)}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "browser" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.browser)


def docs_screenshot(page: Any, name: str) -> Path:
    """:func:`screenshot`, for a picture the documentation shows.

    It is copied into ``docs/screenshots`` only when ``AIMS_UPDATE_SCREENSHOTS=1``: a
    test run in a checkout then leaves the tree as it was.
    """
    path = screenshot(page, name)
    if os.environ.get(UPDATE_DOCS) == "1":
        DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, DOCS_SCREENSHOTS / path.name)
    return path
