"""The import contracts in ``.importlinter`` hold on the tree and catch what they forbid.

Each negative case copies the package to a temporary folder, adds one forbidden
import, and runs the real ``lint-imports`` on the copy, which shows that a
change of that kind fails ``make lint`` and ``make test``.
"""

from __future__ import annotations

import configparser
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / ".importlinter"
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def lint(src: Path, config: Path = CONFIG) -> subprocess.CompletedProcess[str]:
    """Run lint-imports over the ``aims`` package found first in ``src``."""
    env = {**os.environ, "PYTHONPATH": str(src)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-logo", "--no-cache", str(config)],
        cwd=src.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A copy of ``src/aims`` under ``tmp_path/src``; returns the copy's ``aims`` folder."""
    shutil.copytree(
        ROOT / "src" / "aims",
        tmp_path / "src" / "aims",
        ignore=shutil.ignore_patterns("__pycache__", "static", "templates", "migrations"),
    )
    return tmp_path / "src" / "aims"


def append(path: Path, code: str) -> None:
    """Add ``code`` at the end of a module of the copied tree."""
    path.write_text(path.read_text() + "\n\n" + code + "\n")


def broken(result: subprocess.CompletedProcess[str], contract: str) -> str:
    """Assert that lint-imports failed and named ``contract`` as broken; return its output."""
    out = result.stdout + result.stderr
    assert result.returncode != 0, out
    assert f"{contract} BROKEN" in " ".join(out.split()), out
    return out


def test_the_tree_keeps_every_contract() -> None:
    result = lint(ROOT / "src")
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    assert "0 broken" in out, out


def test_the_copied_tree_is_the_one_checked(tree: Path) -> None:
    # Guards the negative cases below: an unmodified copy passes, so their
    # failures come from the import each one adds.
    result = lint(tree.parent)
    assert result.returncode == 0, result.stdout + result.stderr


def test_an_upward_import_inside_a_function_breaks_the_layers(tree: Path) -> None:
    append(
        tree / "storage" / "artifacts.py",
        "def _upward():\n    from aims.services import registry\n\n    return registry",
    )
    out = broken(lint(tree.parent), "Layers point down")
    assert "aims.storage.artifacts -> aims.services.registry" in out


def test_an_interface_importing_another_breaks_the_layers(tree: Path) -> None:
    append(tree / "cli" / "audit.py", "import aims.ui.router  # noqa: E402")
    out = broken(lint(tree.parent), "Layers point down")
    assert "aims.cli.audit -> aims.ui.router" in out


def test_core_importing_the_workspace_breaks_core_purity(tree: Path) -> None:
    append(tree / "core" / "risk.py", "from aims import refs  # noqa: E402")
    out = broken(lint(tree.parent), "Core imports only aims.errors and aims.clock")
    assert "aims.core.risk -> aims.refs" in out


def test_a_private_module_imported_from_another_package_breaks_the_contract(tree: Path) -> None:
    (tree / "core" / "_hidden.py").write_text('"""A private helper."""\n')
    append(tree / "services" / "audit.py", "from aims.core import _hidden  # noqa: E402")
    out = broken(lint(tree.parent), "Private modules stay in their package")
    assert "aims.core._hidden" in out


def test_a_cycle_between_sibling_modules_breaks_the_contract(tree: Path) -> None:
    append(tree / "core" / "risk.py", "from aims.core import slicing  # noqa: E402")
    append(tree / "core" / "slicing.py", "from aims.core import risk  # noqa: E402")
    out = broken(lint(tree.parent), "No cycles between sibling modules")
    assert "risk" in out and "slicing" in out


def test_a_new_top_level_module_must_be_given_a_layer(tree: Path) -> None:
    (tree / "newcomer.py").write_text('"""A module nobody placed in a layer."""\n')
    out = broken(lint(tree.parent), "Layers point down")
    assert "aims.newcomer" in out


def test_core_is_forbidden_every_other_module_of_the_package() -> None:
    config = configparser.ConfigParser()
    config.read(CONFIG)
    forbidden = set(config["importlinter:contract:core-pure"]["forbidden_modules"].split())
    package = ROOT / "src" / "aims"
    children = {
        f"aims.{p.stem}"
        for p in package.iterdir()
        if (p.suffix == ".py" and p.stem != "__init__") or (p / "__init__.py").is_file()
    }
    assert forbidden == children - {"aims.core", "aims.errors", "aims.clock"}


def test_no_module_passes_450_lines() -> None:
    # Small modules named after one concept each; migrations are declarative history.
    package = Path(__file__).resolve().parents[1] / "src" / "aims"
    long = {
        str(p.relative_to(package)): n
        for p in package.rglob("*.py")
        if "migrations" not in p.parts and (n := len(p.read_text().splitlines())) > 450
    }
    assert long == {}, f"split these by noun: {long}"
