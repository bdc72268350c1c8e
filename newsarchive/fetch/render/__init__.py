"""Rendering pages that need JavaScript in Chromium, with everything archived.

Modules, one job each: :mod:`.config` (``RENDER_*`` settings), :mod:`.detect`
(does static HTML hold the story?), :mod:`.middleware` (``RENDER_MODE``),
:mod:`.handler` (Scrapy's download-handler slot), :mod:`.pool` (browser,
contexts, tabs, recycling), :mod:`.page` (one render), :mod:`.recorder`
(responses to WARC exchanges), :mod:`.browserside` (the favicon),
:mod:`.procs` (the process tree). Rendering a saved file as if served, for
``extract --render``, is :mod:`newsarchive.extract.savedpage`.

Playwright is imported only when a page is rendered.
"""

from __future__ import annotations

from newsarchive.fetch.render.config import RenderConfig
from newsarchive.fetch.render.detect import render_reason

__all__ = ["RenderConfig", "render_reason"]
