"""Progress of long work, for every verb: a live rich display on a terminal, plain lines otherwise.

On a terminal, :class:`Progress` draws with ``rich`` (a bar when the total
is known, the counters and the rate, redrawn in place). When stderr is a file
or a pipe (cron, CI, ``2> log``) it writes one plain, timestamp-free line
every ``interval`` seconds and a last one at the end, so logs show that work
moves without being flooded. Callers only count: ``advance()``, ``update()``,
and give the counters to show as text through ``detail``.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from typing import Any, TextIO

PLAIN_INTERVAL = 5.0  # seconds between two plain lines when stderr is not a terminal


def is_terminal(stream: TextIO) -> bool:
    """Whether ``stream`` is an interactive terminal."""
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


class Progress:
    """A progress display; use as a context manager or call :meth:`close`.

    ``label`` names the work (``crawl``, ``export``); ``total`` (when known)
    and ``unit`` describe what :meth:`advance` counts; ``detail`` returns the
    rest of the line (``"120 records, 30 sidecars"``). ``enabled=False`` shows
    nothing but still counts, so callers need no branches.
    """

    def __init__(
        self,
        label: str,
        *,
        total: int | None = None,
        unit: str = "",
        detail: Callable[[Progress], str] | None = None,
        stream: TextIO | None = None,
        enabled: bool = True,
        interval: float = PLAIN_INTERVAL,
        rate: bool = True,
    ) -> None:
        self.label = label
        self.total = total
        self.unit = unit
        self.detail = detail
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled
        self.interval = interval
        self.show_rate = rate
        self.completed = 0
        self.start = time.monotonic()
        self._last_plain = self.start
        self._lock = threading.Lock()
        self._rich: Any = None
        self._task: Any = None
        self._closed = False
        self._last_text = ""
        if enabled and is_terminal(self.stream):
            self._start_rich()

    # -- counting -------------------------------------------------------------------
    def advance(self, n: int = 1) -> None:
        """``n`` more units done."""
        with self._lock:
            self.completed += n
        self._show()

    def update(self, completed: int | None = None, total: int | None = None) -> None:
        """Set the count (and the total, when it becomes known); redraw if due."""
        with self._lock:
            if completed is not None:
                self.completed = completed
            if total is not None:
                self.total = total
        self._show()

    @property
    def elapsed(self) -> float:
        """Seconds since the start."""
        return time.monotonic() - self.start

    def rate(self) -> float:
        """Units per second so far."""
        return self.completed / max(self.elapsed, 1e-9)

    def line(self) -> str:
        """The plain text of the display: ``export: 1200 articles | 830 written | 410.2/s``."""
        count = f"{self.completed}/{self.total}" if self.total else str(self.completed)
        parts = [f"{self.label}: {count}{' ' + self.unit if self.unit else ''}"]
        if self.detail is not None:
            text = self.detail(self)
            if text:
                parts.append(text)
        if self.show_rate:
            parts.append(f"{self.rate():.1f}/s")
        return " | ".join(parts)

    # -- display --------------------------------------------------------------------
    def _start_rich(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, TextColumn, TimeElapsedColumn
        from rich.progress import Progress as RichProgress

        console = Console(file=self.stream, stderr=self.stream is sys.stderr)
        self._rich = RichProgress(
            TextColumn("[bold]{task.description}"),
            BarColumn(bar_width=24),
            TextColumn("{task.fields[text]}"),
            TimeElapsedColumn(),
            console=console,
            transient=False,
            refresh_per_second=4,
        )
        self._rich.start()
        self._task = self._rich.add_task(self.label, total=self.total, text="")

    def _rich_text(self) -> str:
        return self.line().split(": ", 1)[1] if ": " in self.line() else self.line()

    def _show(self, force: bool = False) -> None:
        if not self.enabled or self._closed:
            return
        if self._rich is not None:
            self._rich.update(self._task, completed=self.completed, total=self.total,
                              text=self._rich_text())
            return
        now = time.monotonic()
        with self._lock:
            due = force or now - self._last_plain >= self.interval
            if due:
                self._last_plain = now
        if due:
            text = self.line()
            if force and text == self._last_text:
                return  # the last line already says it
            self._last_text = text
            self.stream.write(text + "\n")
            self.stream.flush()

    def refresh(self) -> None:
        """Redraw now if due (for callers that poll counters rather than count)."""
        self._show()

    def close(self) -> None:
        """Show the final state and end the display."""
        if self._closed:
            return
        if self.enabled:
            if self._rich is not None:
                self._rich.update(self._task, completed=self.completed, total=self.total,
                                  text=self._rich_text())
                self._rich.stop()
            else:
                self._show(force=True)
        self._closed = True

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
