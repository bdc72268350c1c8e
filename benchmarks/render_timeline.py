#!/usr/bin/env python3
"""Where a rendering tab spends each page: a per-phase timeline, newsarchive beside bare Playwright.

``benchmarks/render.py`` says *how fast*; this says *where the time goes* on a
tab's path, so a gap in rate can be put down to a wait on one side (a fixed
delay, sequential awaits, Scrapy's scheduling between a tab's release and its
next page, the reactor's lateness) or to every phase being slower (CPU).

On ``render.py``'s pages, for each side asked for, one run of N pages at C tabs:

* ``bare``        ``render.py``'s bare Playwright (cache on), with marks added;
* ``bare-nocache`` the same with the HTTP cache off, as newsarchive's tabs had it until 2026-12-01;
* ``newsarchive`` the crawl, in this process, with marks put on the render
  handler, the tab pool and the tab's recorder (wrappers; nothing else changes).

Each tab's pages are cut into phases by these marks: ``goto`` called, the
document's request event, its finished event, the story's request (the page's
script ran), ``goto`` returned (``load``), the story's finished event, settled
(quiet for ``RENDER_IDLE_MS``), ``content()`` returned, the bodies read (all
handed to the WARC service), the tab released, the next ``goto`` on that tab.
Medians and means over the pages, first and last of each tab left out. For
newsarchive also the event loop's lateness: a 5 ms sleep's overshoot, sampled
all along (the reactor's callbacks run as late as that).

The times are those the Python side sees (events arrive through Playwright's
driver), so they include the driver's and Python's delays -- which is the point.
The marks cost a little on both sides; compare rates with ``render.py``, not here.

usage: .venv/bin/python benchmarks/render_timeline.py [--pages 100] [--concurrency 1]
           [--sides bare,bare-nocache,newsarchive]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import render  # noqa: E402  (benchmarks/render.py: its pages, its bare script)

Mark = tuple[float, Any, str]  # (seconds, tab key or (tab key, url), what)
MARKS: list[Mark] = []
T0 = time.perf_counter()

PHASES = (
    ("goto_start", "doc_request"), ("doc_request", "doc_finished"), ("doc_finished", "story_request"),
    ("story_request", "goto_done"), ("goto_done", "story_finished"), ("story_finished", "settled"),
    ("settled", "content_done"), ("content_done", "bodies_done"), ("bodies_done", "released"),
    ("released", "next_goto"), ("goto_start", "next_goto"),
)

# Marks added to render.BARE, the bare side's script: (text in it, text it becomes).
BARE_MARKS = (
    ("import asyncio, sys\n",
     "import asyncio, sys, time, json, os\nEV = []\nT0 = time.perf_counter()\n"
     "def mark(u, w): EV.append((time.perf_counter() - T0, u, w))\n"),
    ("    def started(self, request):\n        self.touch()",
     "    def started(self, request):\n        mark((id(self), request.url), 'ev_request')\n        self.touch()"),
    ("    def ended(self, request):\n        if request in self.open:",
     "    def ended(self, request):\n        mark((id(self), request.url), 'ev_finished')\n"
     "        if request in self.open:"),
    ('        await page.goto(url, wait_until="load")\n        while True:',
     "        mark(id(self), 'goto_start')\n        await page.goto(url, wait_until=\"load\")\n"
     "        mark(id(self), 'goto_done')\n        while True:"),
    ("                if left <= 0:\n                    return",
     "                if left <= 0:\n                    mark(id(self), 'settled')\n                    return"),
    ("                await page.content()\n",
     "                await page.content()\n                if wait == 'quiet':\n"
     "                    for w in ('content_done', 'bodies_done', 'released'): mark(id(quiet), w)\n"),
    ("asyncio.run(main())", "asyncio.run(main())\njson.dump(EV, open(os.environ['TIMELINE_OUT'], 'w'))"),
)


def mark(key: Any, what: str) -> None:
    """Note ``what`` happened now, for ``key`` (a tab, or a tab and a URL)."""
    MARKS.append((time.perf_counter() - T0, key, what))


def bare_script() -> str:
    """render.BARE with marks; fails loudly if that script changed under a mark."""
    script = render.BARE
    for old, new in BARE_MARKS:
        if script.count(old) != 1:
            raise SystemExit(f"render.BARE changed: cannot place a mark at {old!r}")
        script = script.replace(old, new)
    return script


def _wrap_async(owner: type, name: str, before: Callable[..., None] | None,
                after: Callable[..., None] | None) -> None:
    original = getattr(owner, name)

    async def wrapper(self: Any, *args: Any) -> Any:
        if before is not None:
            before(self, *args)
        result = await original(self, *args)
        if after is not None:
            after(self, *args)
        return result

    setattr(owner, name, wrapper)


def _wrap_event(owner: type, name: str, what: str) -> None:
    original = getattr(owner, name)

    def wrapper(self: Any, request: Any) -> None:
        if self.active:
            mark((id(self), request.url), what)
        original(self, request)

    setattr(owner, name, wrapper)


def instrument() -> None:
    """Put the marks on newsarchive's render path (this process only)."""
    from newsarchive.fetch.render import pool, recorder

    rec = recorder.PageRecorder
    original_begin = rec.begin

    def begin(self: Any, sink: Any) -> None:
        mark(id(self), "goto_start")
        original_begin(self, sink)

    rec.begin = begin  # type: ignore[method-assign]
    _wrap_async(rec, "settle", lambda self, *a: mark(id(self), "goto_done"),
                lambda self, *a: mark(id(self), "settled"))
    _wrap_async(rec, "finish", lambda self: mark(id(self), "content_done"),
                lambda self: mark(id(self), "bodies_done"))
    _wrap_event(rec, "_on_request", "ev_request")
    _wrap_event(rec, "_on_finished", "ev_finished")
    _wrap_async(pool.BrowserPool, "_release", None, lambda self, slot, tab, healthy: mark(id(tab.recorder), "released"))
    original_launch = pool.BrowserPool._launch

    async def launch(self: Any) -> None:
        await original_launch(self)
        asyncio.ensure_future(_loop_lateness())

    pool.BrowserPool._launch = launch  # type: ignore[method-assign]


async def _loop_lateness() -> None:
    loop = asyncio.get_running_loop()
    while True:
        start = loop.time()
        await asyncio.sleep(0.005)
        MARKS.append((time.perf_counter() - T0, None, f"late:{(loop.time() - start - 0.005) * 1000:.2f}"))


def pages_by_tab(marks: list[Mark]) -> list[dict[str, float]]:
    """One dict of phase times per page, first and last page of each tab left out."""
    tabs: dict[Any, list[dict[str, float]]] = {}
    for t, key, what in marks:
        if key is None:
            continue
        tab, url = key if isinstance(key, (tuple, list)) else (key, "")
        pages = tabs.setdefault(tab, [])
        if what == "goto_start":
            pages.append({"goto_start": t})
            continue
        if not pages:
            continue
        page = pages[-1]
        if what in ("ev_request", "ev_finished"):
            kind = "doc" if "/p/" in url else "story" if "/story/" in url else ""
            if kind:
                page.setdefault(f"{kind}_{'request' if what == 'ev_request' else 'finished'}", t)
        else:
            page.setdefault(what, t)
    out: list[dict[str, float]] = []
    for pages in tabs.values():
        for page, following in zip(pages, pages[1:], strict=False):
            page["next_goto"] = following["goto_start"]
        out += pages[1:-1]
    return out


def report(side: str, rate: float, marks: list[Mark]) -> None:
    """Print one side's phases."""
    pages = pages_by_tab(marks)
    print(f"\n{side}: {rate:.2f} pages/s, {len(pages)} pages timed")
    for a, b in PHASES:
        spans = [p[b] - p[a] for p in pages if a in p and b in p]
        if spans:
            print(f"  {a:>14} -> {b:<14} median {statistics.median(spans) * 1000:7.1f} ms"
                  f"  mean {statistics.mean(spans) * 1000:7.1f}")
    late = sorted(float(w[5:]) for _, _, w in marks if w.startswith("late:"))
    if late:
        print(f"  event loop late (5 ms sleeps): median {late[len(late) // 2]:.1f} ms, "
              f"p90 {late[len(late) * 9 // 10]:.1f}, p99 {late[len(late) * 99 // 100]:.1f}, max {late[-1]:.0f}")


def run_bare(base: str, pages: int, conc: int, cache: bool, shared: tuple[Any, Any, Any]) -> None:
    """The bare side, in its own process as in render.py."""
    cmd = render.bare_command(base, pages, conc, "quiet", cache=cache)
    cmd[2] = bare_script()
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        subprocess.run(cmd, check=True, env={**os.environ, "TIMELINE_OUT": out.name})
        marks = json.load(open(out.name, encoding="utf-8"))
    report("bare" if cache else "bare-nocache", rate(pages, shared), marks)


def run_newsarchive(base: str, pages: int, conc: int, shared: tuple[Any, Any, Any]) -> None:
    """The crawl in a child process (Scrapy's reactor runs once per process)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "marks.json"
        code = ("import sys; sys.path.insert(0, sys.argv[1]); import render_timeline as t; "
                "t.crawl_child(*sys.argv[2:])")
        subprocess.run([sys.executable, "-c", code, str(Path(__file__).resolve().parent), base, str(pages),
                        str(conc), tmp, str(out)], check=True)
        marks = json.load(open(out, encoding="utf-8"))
    report("newsarchive", rate(pages, shared), marks)


def crawl_child(base: str, pages: str, conc: str, tmp: str, out: str) -> None:
    """Run the crawl as render.py does, with the marks on; write them to ``out``."""
    from newsarchive.crawl import run_crawl

    instrument()
    overrides = {
        "RENDER_MODE": "always", "RENDER_MAX_PAGES": int(conc), "SIDECAR_ENABLED": False,
        "STATE_ENABLED": False, "PROGRESS_ENABLED": False, "CONCURRENT_REQUESTS": max(8, 2 * int(conc)),
        "CONCURRENT_REQUESTS_PER_DOMAIN": max(8, 2 * int(conc)), "LOG_LEVEL": "WARNING",
    }
    urls = [f"{base}/p/{n}.html" for n in range(int(pages))]
    summary = run_crawl(Path(tmp) / "out", {"start_urls": urls, "depth": 0}, overrides)
    assert summary.pages >= len(urls) and not summary.errors, summary.as_dict()
    Path(out).write_text(json.dumps(MARKS), encoding="utf-8")


def rate(pages: int, shared: tuple[Any, Any, Any]) -> float:
    """Pages per second between the server's first page request and its last story request."""
    _, first, last = shared
    return float(pages / (last.value - first.value))


def main() -> int:
    """Serve the pages; run each side once; print their timelines."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--pages", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--sides", default="bare,bare-nocache,newsarchive")
    args = parser.parse_args()
    shared = (multiprocessing.Value("l", 0), multiprocessing.Value("d", 0.0), multiprocessing.Value("d", 0.0))
    ports: multiprocessing.Queue[int] = multiprocessing.Queue()
    server = multiprocessing.Process(target=render.serve, args=(ports, *shared), daemon=True)
    server.start()
    base = f"http://127.0.0.1:{ports.get(timeout=10)}"
    print(f"{args.pages} client-rendered pages, {args.concurrency} tabs, load average {os.getloadavg()[0]:.1f}")
    try:
        for side in args.sides.split(","):
            shared[1].value = shared[2].value = 0.0
            if side == "newsarchive":
                run_newsarchive(base, args.pages, args.concurrency, shared)
            elif side in ("bare", "bare-nocache"):
                run_bare(base, args.pages, args.concurrency, side == "bare", shared)
            else:
                raise SystemExit(f"unknown side {side!r}")
    finally:
        server.terminate()
    print(f"load average {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
