"""Shared pytest set-up: fixtures live in ``tests/plugins/<area>.py``, one file per
area (demo site, S3 server, browser...), and are all loaded here."""

from __future__ import annotations

import pathlib

_PLUGINS = pathlib.Path(__file__).parent / "plugins"
pytest_plugins = sorted(
    f"tests.plugins.{p.stem}" for p in _PLUGINS.glob("*.py") if not p.stem.startswith("_")
)


import logging  # noqa: E402

import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _our_loggers_enabled() -> None:
    """Undo dateparser's logging set-up between tests.

    dateparser (reached through htmldate) runs ``logging.config.dictConfig`` with
    ``disable_existing_loggers=True`` the first time it logs while the root logger
    has no handler, which silences every logger that exists at that moment. The
    CLI configures the root logger before any work, so a user never meets it; in
    one test process it would hide the log records later tests assert on.
    """
    for name, logger in list(logging.Logger.manager.loggerDict.items()):
        if name.startswith("newsarchive") and isinstance(logger, logging.Logger):
            logger.disabled = False


#: Fixtures that make every test using them slow: a crawl of the demo site in a
#: process of its own (once per session, then shared), or moto's S3 server.
#: Tests that start crawls or Chromium themselves carry ``@pytest.mark.slow``.
SLOW_FIXTURES = frozenset({"demo_collection", "escape_collection", "s3_server"})


@pytest.hookimpl(tryfirst=True)  # before ``-m`` deselects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the tests that use a :data:`SLOW_FIXTURES` fixture ``slow``."""
    for item in items:
        if SLOW_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
