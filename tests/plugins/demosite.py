"""Demo news site fixtures.

``demo_site``: one started :class:`~newsarchive.demosite.DemoSite` (60
articles, day 1) for the whole session; tests must not change its day and
should not count its requests (other tests share it) -- use
``make_demo_site`` for that.

``make_demo_site(**kwargs)``: a factory for a test's own site(s), same
arguments as ``DemoSite`` (``articles=``, ``day=``, ``port=``); each is
started and stopped after the test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from newsarchive.demosite import DemoSite


@pytest.fixture(scope="session")
def demo_site() -> Iterator[DemoSite]:
    """The shared demo site, started once per session."""
    with DemoSite() as site:
        yield site


@pytest.fixture
def make_demo_site() -> Iterator[Callable[..., DemoSite]]:
    """Start private demo sites; all are stopped when the test ends."""
    sites: list[DemoSite] = []

    def make(**kwargs: object) -> DemoSite:
        site = DemoSite(**kwargs).start()  # type: ignore[arg-type]
        sites.append(site)
        return site

    yield make
    for site in sites:
        site.stop()
