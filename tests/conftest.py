"""Shared pytest set-up: fixtures live in ``tests/plugins/<area>.py``, one file per
area (demo site, S3 server, browser...), and are all loaded here."""

from __future__ import annotations

import pathlib

_PLUGINS = pathlib.Path(__file__).parent / "plugins"
pytest_plugins = sorted(
    f"tests.plugins.{p.stem}" for p in _PLUGINS.glob("*.py") if not p.stem.startswith("_")
)
