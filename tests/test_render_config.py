"""RENDER_* settings and the auto-mode detector: no browser needed."""

from __future__ import annotations

import pytest
from scrapy.settings import Settings

from newsarchive.exceptions import ConfigError
from newsarchive.fetch.render.config import RenderConfig
from newsarchive.fetch.render.detect import render_reason
from newsarchive.fetch.render.pool import block_patterns


def settings(**values: object) -> Settings:
    s = Settings()
    s.setmodule("newsarchive.settings")
    s.update(values)
    return s


def test_defaults_come_from_newsarchive_settings() -> None:
    config = RenderConfig.from_settings(settings())
    assert config.mode == "auto"
    assert config.executable == "/usr/bin/chromium"
    assert "--no-sandbox" in config.launch_args() and "--disable-quic" in config.launch_args()
    assert "--js-flags=--max-old-space-size=384" in config.launch_args() and config.tab_memory_mb == 640
    assert not any("max-old-space" in a for a in RenderConfig(js_heap_mb=0).launch_args())


@pytest.mark.parametrize(
    ("values", "names"),
    [
        ({"RENDER_MODE": "sometimes"}, "RENDER_MODE"),
        ({"RENDER_MAX_PAGES": 0}, "RENDER_MAX_PAGES"),
        ({"RENDER_MAX_PAGES": 2, "RENDER_MAX_CONTEXTS": 3}, "RENDER_MAX_CONTEXTS"),
        ({"RENDER_TAB_PAGES": 50, "RENDER_CONTEXT_PAGES": 10}, "RENDER_TAB_PAGES"),
        ({"RENDER_CONTEXT_PAGES": 500, "RENDER_BROWSER_PAGES": 100}, "RENDER_CONTEXT_PAGES"),
        ({"RENDER_TIMEOUT": 0}, "RENDER_TIMEOUT"),
        ({"RENDER_TIMEOUT": "soon"}, "RENDER_TIMEOUT"),
        ({"RENDER_SCREENSHOT": True, "RENDER_MODE": "never"}, "RENDER_SCREENSHOT"),
        ({"RENDER_VIEWPORT": "wide"}, "RENDER_VIEWPORT"),
        ({"RENDER_JS_HEAP_MB": -1}, "RENDER_JS_HEAP_MB"),
        ({"RENDER_TAB_MEMORY_MB": "lots"}, "RENDER_TAB_MEMORY_MB"),
    ],
)
def test_conflicting_or_bad_settings_name_what_to_change(values: dict[str, object], names: str) -> None:
    with pytest.raises(ConfigError) as err:
        RenderConfig.from_settings(settings(**values))
    assert names in str(err.value) and "\n" not in str(err.value)


def test_missing_browser_is_a_one_line_error() -> None:
    config = RenderConfig(executable="/nonexistent/chromium")
    with pytest.raises(ConfigError, match="RENDER_EXECUTABLE.*RENDER_MODE=never"):
        config.check_browser()


def test_blocked_hosts_cover_subdomains_and_ports() -> None:
    config = RenderConfig(block_hosts=("doubleclick.net", "*.tracker.example"))
    assert config.is_blocked("ad.doubleclick.net") and config.is_blocked("doubleclick.net")
    assert config.is_blocked("a.tracker.example")
    assert not config.is_blocked("notdoubleclick.net")
    assert "*://*.doubleclick.net/*" in block_patterns(config)
    assert "*://doubleclick.net:*" in block_patterns(config)


STORY = "<p>" + "A sentence of the story that a reader would read. " * 10 + "</p>"


@pytest.mark.parametrize(
    ("html", "reason"),
    [
        (f"<html><body><article>{STORY}</article><script src=a.js></script></body></html>", None),
        (f"<html><body>{STORY}</body></html>", None),  # no script: nothing to wait for
        ('<html><body><div id="root"></div><script src="/app.js"></script></body></html>',
         "empty app root"),
        ('<html><body><nav>Home World</nav><div id="__next"></div><script></script></body></html>',
         "empty app root"),
        ("<html><body><noscript>Please enable JavaScript to continue.</noscript>"
         "<script src=x.js></script></body></html>", "noscript wall"),
        ("<html><body><div class=x>Loading…</div><script src=x.js></script></body></html>",
         "no readable text"),
        # a filled app root is server-rendered: no browser needed
        (f'<html><body><div id="root">{STORY}</div><script src=a.js></script></body></html>', None),
        # text inside scripts, styles, navigation and comments is not the page's text...
        (f"<html><body><nav><p>{STORY}</p></nav><!-- {STORY} --><script>var s = '{STORY}'</script>"
         f"<footer><div>{STORY}</div></footer><div>Loading</div></body></html>", "no readable text"),
        # ...but the text after them is
        (f"<html><body><nav>Home</nav>{STORY[3:-4]}<script>x()</script></body></html>", None),
        (f"<html><body><!-- ad -->{STORY[3:-4]}<script>x()</script></body></html>", None),
        (f"<html><body><div><footer>Contact</footer>{STORY[3:-4]}</div><script></script>"
         "</body></html>", None),
        ("", None),
    ],
)
def test_render_reason(html: str, reason: str | None) -> None:
    assert render_reason(html.encode()) == reason
