"""``RENDER_*`` settings, parsed once into a :class:`RenderConfig`.

Parsed once so that a conflicting combination fails when the crawl starts,
with a message naming the setting to change, instead of half-way through a
crawl (the habit scrapy-playwright's ``Config`` taught us).
"""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass
from typing import Any

from newsarchive.exceptions import ConfigError

MODES = ("never", "always", "auto")

# Flags for Debian's Chromium in a crawler: no GPU, no background traffic of
# its own (component updates, sync, safe-browsing lists) that would otherwise
# end up in nobody's WARC, and no QUIC so every fetch is plain HTTP/1.1 or h2.
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
    # A reused tab keeps the pages it left in the back-forward cache, so its
    # renderer grows with every page (benchmarks/README.md). A crawler never goes back.
    "--disable-features=BackForwardCache",
)


@dataclass(frozen=True)
class RenderConfig:
    """How pages are rendered; see the ``RENDER_*`` settings for each field."""

    mode: str = "auto"
    executable: str = "/usr/bin/chromium"
    max_pages: int = 2
    max_contexts: int = 1
    tab_pages: int = 20
    context_pages: int = 200
    browser_pages: int = 2000
    timeout: float = 30.0
    idle_ms: int = 150
    block_hosts: tuple[str, ...] = ()
    screenshot: bool = False
    extra_args: tuple[str, ...] = ()
    viewport: tuple[int, int] = (1280, 900)
    js_heap_mb: int = 384
    tab_memory_mb: int = 640

    @classmethod
    def from_settings(cls, settings: Any) -> RenderConfig:
        """Read the ``RENDER_*`` settings (a Scrapy ``Settings`` or a dict)."""

        def get(name: str, default: Any) -> Any:
            value = settings.get(name) if hasattr(settings, "get") else None
            return default if value is None else value

        def integer(name: str, default: int) -> int:
            try:
                return int(get(name, default))
            except (TypeError, ValueError):
                raise ConfigError(f"{name} must be a whole number, not {get(name, default)!r}") from None

        def flag(name: str, default: bool) -> bool:
            value = get(name, default)
            if isinstance(value, str):
                return value.strip().lower() in ("1", "true", "yes", "on")
            return bool(value)

        def strings(name: str) -> tuple[str, ...]:
            value = get(name, ())
            if isinstance(value, str):
                value = value.split(",")
            return tuple(str(v).strip() for v in value if str(v).strip())

        try:
            timeout = float(get("RENDER_TIMEOUT", cls.timeout))
        except (TypeError, ValueError):
            raise ConfigError(f"RENDER_TIMEOUT must be seconds, not {get('RENDER_TIMEOUT', '')!r}") from None
        width, _, height = str(get("RENDER_VIEWPORT", "1280x900")).partition("x")
        try:
            viewport = (int(width), int(height))
        except ValueError:
            raise ConfigError("RENDER_VIEWPORT must look like 1280x900") from None
        config = cls(
            mode=str(get("RENDER_MODE", cls.mode)).strip().lower(),
            executable=str(get("RENDER_EXECUTABLE", cls.executable)),
            max_pages=integer("RENDER_MAX_PAGES", cls.max_pages),
            max_contexts=integer("RENDER_MAX_CONTEXTS", cls.max_contexts),
            tab_pages=integer("RENDER_TAB_PAGES", cls.tab_pages),
            context_pages=integer("RENDER_CONTEXT_PAGES", cls.context_pages),
            browser_pages=integer("RENDER_BROWSER_PAGES", cls.browser_pages),
            timeout=timeout,
            idle_ms=integer("RENDER_IDLE_MS", cls.idle_ms),
            block_hosts=strings("RENDER_BLOCK_HOSTS"),
            screenshot=flag("RENDER_SCREENSHOT", cls.screenshot),
            extra_args=strings("RENDER_CHROMIUM_ARGS"),
            viewport=viewport,
            js_heap_mb=integer("RENDER_JS_HEAP_MB", cls.js_heap_mb),
            tab_memory_mb=integer("RENDER_TAB_MEMORY_MB", cls.tab_memory_mb),
        )
        config.validate()
        return config

    def validate(self) -> None:
        """Reject values and combinations that cannot work, naming what to change."""
        if self.mode not in MODES:
            raise ConfigError(f"RENDER_MODE must be one of {', '.join(MODES)}, not {self.mode!r}")
        for name, value in (
            ("RENDER_MAX_PAGES", self.max_pages),
            ("RENDER_MAX_CONTEXTS", self.max_contexts),
            ("RENDER_TAB_PAGES", self.tab_pages),
        ):
            if value < 1:
                raise ConfigError(f"{name} must be 1 or more, not {value}")
        if self.max_contexts > self.max_pages:
            raise ConfigError(
                f"RENDER_MAX_CONTEXTS ({self.max_contexts}) is more than RENDER_MAX_PAGES "
                f"({self.max_pages}): a context without a page renders nothing; lower it"
            )
        if self.context_pages < 0 or self.browser_pages < 0:
            raise ConfigError("RENDER_CONTEXT_PAGES and RENDER_BROWSER_PAGES must be 0 (never) or more")
        if self.context_pages and self.tab_pages > self.context_pages:
            raise ConfigError(
                f"RENDER_TAB_PAGES ({self.tab_pages}) is more than RENDER_CONTEXT_PAGES "
                f"({self.context_pages}): a context restart closes its tabs first; lower RENDER_TAB_PAGES"
            )
        if self.browser_pages and self.context_pages and self.context_pages > self.browser_pages:
            raise ConfigError(
                f"RENDER_CONTEXT_PAGES ({self.context_pages}) is more than RENDER_BROWSER_PAGES "
                f"({self.browser_pages}): a browser restart closes every context; lower RENDER_CONTEXT_PAGES"
            )
        if self.timeout <= 0:
            raise ConfigError(f"RENDER_TIMEOUT must be more than 0 seconds, not {self.timeout}")
        if self.idle_ms < 0:
            raise ConfigError(f"RENDER_IDLE_MS must be 0 or more, not {self.idle_ms}")
        if self.js_heap_mb < 0 or self.tab_memory_mb < 0:
            raise ConfigError("RENDER_JS_HEAP_MB and RENDER_TAB_MEMORY_MB must be 0 (no limit) or more")
        if self.screenshot and self.mode == "never":
            raise ConfigError("RENDER_SCREENSHOT is on but RENDER_MODE is never: nothing is rendered")

    def check_browser(self) -> None:
        """Fail with a one-line message when the browser cannot be run."""
        if not (os.path.isfile(self.executable) and os.access(self.executable, os.X_OK)):
            raise ConfigError(
                f"no browser at {self.executable} (RENDER_EXECUTABLE): install Debian's "
                "chromium (apt-get install chromium) or set RENDER_MODE=never"
            )

    def launch_args(self) -> list[str]:
        """Chromium's command-line flags: ours, the JavaScript heap limit, then the user's."""
        heap = [f"--js-flags=--max-old-space-size={self.js_heap_mb}"] if self.js_heap_mb else []
        return [*CHROMIUM_ARGS, *heap, *self.extra_args]

    def is_blocked(self, host: str) -> bool:
        """True when ``host`` matches a ``RENDER_BLOCK_HOSTS`` pattern (glob, or a domain suffix)."""
        host = host.lower()
        for pattern in self.block_hosts:
            pattern = pattern.lower()
            if fnmatch.fnmatchcase(host, pattern) or host == pattern or host.endswith("." + pattern):
                return True
        return False

