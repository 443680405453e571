"""Headless Chromium for the dashboard tests, driven by Playwright.

Debian's ``chromium`` is installed (once per run, under a lock) when it is
missing; Playwright never downloads a browser of its own. Pages record their
console errors, and screenshots go to ``test-artifacts/screenshots/``.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: runs in a real headless Chromium")


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


def ensure_chromium(lock_dir: Path) -> str:
    """The path of Chromium, installing Debian's package when it is missing."""
    lock_dir.mkdir(parents=True, exist_ok=True)
    with open(lock_dir / "chromium.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        path = find_chromium()
        if path:
            return path
        sudo = [] if os.geteuid() == 0 else ["sudo", "-n"]
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        for cmd in (
            [*sudo, "apt-get", "update", "-q"],
            [*sudo, "apt-get", "install", "-y", "-q", "--no-install-recommends", "chromium"],
        ):
            out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1200)
            if out.returncode != 0:
                raise RuntimeError(f"{' '.join(cmd)} failed: {out.stderr.strip()[-400:]}")
        path = find_chromium()
        if not path:
            raise RuntimeError("chromium was installed but is not on PATH")
        return path


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    try:
        exe = ensure_chromium(tmp_path_factory.getbasetemp().parent)
    except Exception as exc:
        pytest.fail(f"no Chromium for the browser tests: {exc}", pytrace=False)
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=exe, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser) -> Iterator[object]:  # type: ignore[no-untyped-def]
    """A fresh page; ``page.console_errors`` collects console errors and page errors."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    errors: list[str] = []
    pg.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.console_errors = errors  # type: ignore[attr-defined]
    yield pg
    context.close()


def screenshot(page, name: str) -> Path:  # type: ignore[no-untyped-def]
    """Save a full-page screenshot under test-artifacts/screenshots/NAME.png."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "browser" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.browser)
