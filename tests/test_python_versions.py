"""The code runs on the oldest Python that pyproject.toml allows (3.10, what ZeroGPU lists).

A ZeroGPU Space may run Python 3.10 while development and CI use 3.11, so a
3.11-only construct (``enum.StrEnum``, ``except*``, ``typing.Self``...) would
pass every test here and fail only on the Space. ``vermin`` reads the source
and reports each construct newer than the target, without running anything.
It cannot see methods called on objects of unknown type (``exc.add_note``),
which the suite run under 3.10 catches instead.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]

pytest.importorskip("vermin", reason="vermin is a test dependency (requirements-test.txt)")


def oldest_python() -> str:
    """The ``X.Y`` of pyproject.toml's ``requires-python = ">=X.Y"``."""
    text = (REPO_ROOT / "pyproject.toml").read_text()
    match = re.search(r'^requires-python\s*=\s*">=\s*(\d+\.\d+)"', text, re.MULTILINE)
    assert match, 'pyproject.toml has no requires-python = ">=X.Y"'
    return match[1]


def source_paths() -> list[Path]:
    """The project's own Python: top-level modules, packages and the tests."""
    return sorted(
        path
        for path in REPO_ROOT.iterdir()
        if not path.name.startswith(".")
        and (path.suffix == ".py" or (path / "__init__.py").is_file() or path.name == "tests")
    )


def vermin_violations(paths: list[Path], target: str) -> tuple[int, str]:
    """Run vermin over ``paths``; its exit status and each construct newer than ``target``."""
    process = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from vermin import main; sys.exit(main())",
            f"-t={target}-",
            "--violations",
            "--eval-annotations",
            "--no-tips",
            "--format",
            "parsable",
            *map(str, paths),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    # Parsable lines are path:line:column:py2:py3:feature; the summary lines
    # (no line number or no feature) are left out.
    findings = [
        line for line in process.stdout.splitlines() if re.match(r".+:\d+:\d*:[^:]*:[^:]*:.+", line)
    ]
    return process.returncode, "\n".join(findings) or process.stdout + process.stderr


def test_pyproject_and_ruff_target_the_same_oldest_python() -> None:
    target = oldest_python()
    text = (REPO_ROOT / "pyproject.toml").read_text()
    assert f'target-version = "py{target.replace(".", "")}"' in text


def test_the_code_needs_nothing_newer_than_the_oldest_python() -> None:
    paths = source_paths()
    assert {"app.py", "models", "pipeline", "tests", "ui"} <= {path.name for path in paths}
    status, findings = vermin_violations(paths, oldest_python())
    assert status == 0, f"needs a newer Python than {oldest_python()}:\n{findings}"


def test_vermin_reports_a_construct_newer_than_the_target(tmp_path: Path) -> None:
    # The check above passes only if vermin really inspects the files it is given.
    sample = tmp_path / "sample.py"
    sample.write_text('import enum\n\n\nclass Colour(enum.StrEnum):\n    RED = "red"\n')
    status, findings = vermin_violations([sample], "3.10")
    assert status != 0
    assert "sample.py:4:" in findings and "enum.StrEnum" in findings
