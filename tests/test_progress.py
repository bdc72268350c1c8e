"""The one progress display: plain lines every few seconds off a terminal, rich on one."""

from __future__ import annotations

import io

from newsarchive.progress import Progress


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_not_a_terminal_gets_a_plain_line_when_due_and_one_at_the_end() -> None:
    out = io.StringIO()
    shown = Progress("export", unit="articles", stream=out, interval=3600,
                     detail=lambda p: f"{p.completed // 2} written")
    for _ in range(1000):
        shown.advance()
    assert out.getvalue() == ""  # not due yet: logs are not flooded
    shown.interval = 0
    shown.advance()
    shown.close()
    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[-1].startswith("export: 1001 articles | 500 written | ")
    assert "\r" not in out.getvalue() and "\x1b" not in out.getvalue()


def test_total_is_shown_and_disabled_shows_nothing() -> None:
    out = io.StringIO()
    with Progress("index", total=4, unit="WARC files", stream=out, rate=False) as shown:
        shown.update(3)
    assert out.getvalue().strip() == "index: 3/4 WARC files"
    quiet = io.StringIO()
    with Progress("index", stream=quiet, enabled=False) as shown:
        shown.advance(5)
    assert quiet.getvalue() == "" and shown.completed == 5


def test_a_terminal_gets_the_rich_display() -> None:
    term = FakeTerminal()
    with Progress("upload", total=10, unit="files", stream=term) as shown:
        shown.update(10)
    text = term.getvalue()
    assert "upload" in text and "10/10 files" in text
