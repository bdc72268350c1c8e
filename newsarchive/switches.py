"""Switching a crawl component off by its settings, the same way everywhere.

Every Scrapy component of a crawl (middlewares, pipelines, extensions) is on or
off by a boolean setting, and some need another one on too (indexes and
sidecars need ``WARC_ENABLED``). Its ``from_crawler`` asks :func:`require`
first. The :class:`~scrapy.exceptions.NotConfigured` carries no message on
purpose: Scrapy logs a "Disabled ..." warning for one with a message, and a
component switched off by a setting is not worth a warning on every crawl.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from scrapy.exceptions import NotConfigured

if TYPE_CHECKING:
    from scrapy.settings import BaseSettings


def require(settings: BaseSettings, *names: str) -> None:
    """Raise :class:`NotConfigured` (without a message) unless every setting in ``names`` is on."""
    for name in names:
        if not settings.getbool(name):
            raise NotConfigured
