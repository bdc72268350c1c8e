"""The code type-checks: mypy with the configuration in pyproject.toml passes.

Slow (a cold check of every module takes minutes on two loaded cores; later
runs reuse ``.mypy_cache``), so it is left out of ``-m "not slow"``.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_mypy_passes_on_the_package_and_spiders() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["mypy"]
    assert config["files"] == ["newsarchive", "spiders"]  # what is checked, not just that mypy ran
    done = subprocess.run([sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True,
                          text=True, timeout=1500)
    assert done.returncode == 0, done.stdout[-5000:] + done.stderr[-2000:]
    assert "Success: no issues found" in done.stdout


def test_the_package_says_it_is_typed() -> None:
    # PEP 561: without the marker, a user's mypy ignores our hints.
    assert (ROOT / "newsarchive" / "py.typed").is_file()
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "py.typed" in config["tool"]["setuptools"]["package-data"]["newsarchive"]
