#!/usr/bin/env python3
"""Rendered capture against bare Playwright: pages/s, CPU per page and browser memory.

Serves N client-rendered pages (an empty app root, a stylesheet, a script, the
story JSON fetched by XHR -- the shape of the demo site's ``clientside``
articles) from a server in its own process (its CPU is charged to neither
side), then, for 1, 2 and 4 concurrent pages:

* ``bare``        a plain Playwright script on the same Chromium, flags and viewport:
                  reused tabs recycled every ``RENDER_TAB_PAGES``, ``goto`` and the
                  *same readiness rule* as newsarchive (``load``, then no request open
                  for ``RENDER_IDLE_MS``, counted from the page's request events),
                  ``content()``. Nothing archived. The ceiling.
* ``newsarchive`` a full crawl (``RENDER_MODE=always``) of the same pages: Scrapy,
                  the render handler, every response archived as WARC records, the
                  DOM as a resource record, sidecars off (extraction is measured by
                  benchmarks/extraction.py).
* ``before``      (``--before DIR``) the same crawl run from another checkout of
                  newsarchive, e.g. ``git archive OLD newsarchive spiders | tar -x -C DIR``.
* ``bare-nocache`` (``--bare-nocache``) bare Playwright with the HTTP cache off, as
                  newsarchive's tabs had it until 2026-12-01 (each page fetched its
                  stylesheet and script again): what that policy cost. Reference.
* ``bare-sel``    (``--selector``) bare Playwright waiting for the story element
                  instead: site-specific knowledge a generic crawler does not have,
                  shown for reference only.

Rate: pages / the time between the server's first page request and its last
story request, so start-up (Python imports, browser launch) counts for neither
side. CPU: user+system seconds of the side's Python process (with the WARC
writer thread), of Playwright's driver and of Chromium's processes, sampled per process from /proc (steadier than wall time on a shared
machine). Memory: resident memory of the whole browser process tree
(Playwright's driver, Chromium's browser, zygotes, utility and every renderer),
summed every 0.1 s; peaks over the first and the last 100 pages.
Targets (issue 5): newsarchive >= 90% of bare's rate; last-100 peak within 20%
of the first-100 peak.

The machine's speed drifts by several percent between runs (a shared VM), as
much as the differences measured: ``--rounds N`` runs each side N times,
alternating which goes first, and prints the median of the per-round ratios.

usage: .venv/bin/python benchmarks/render.py [--pages 1000] [--concurrency 1,2,4]
           [--rounds N] [--before DIR] [--selector] [--profile DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import http.server
import json
import multiprocessing
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from newsarchive.fetch.render import procs  # noqa: E402
from newsarchive.fetch.render.config import RenderConfig  # noqa: E402

APP_JS = b"""fetch('/story/' + document.body.dataset.n + '.json').then(r => r.json()).then(d => {
  document.getElementById('root').innerHTML = '<article><h1>' + d.title + '</h1>' + d.html + '</article>';
});"""
CSS = b"body { font-family: serif; } article { max-width: 40em; }" * 20


def serve(port_out: Any, counter: Any, first: Any, last: Any) -> None:
    """The page server (own process, so its CPU is charged to neither side)."""

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802
            if self.path.startswith("/p/"):
                with first.get_lock():
                    if not first.value:
                        first.value = time.time()
                n = self.path[3:].split(".")[0]
                body = (f'<!DOCTYPE html><html><head><title>Story {n}</title>'
                        '<link rel="stylesheet" href="/site.css">'
                        '<script src="/app.js" defer></script></head>'
                        f'<body data-n="{n}"><nav><a href="/">Home</a></nav>'
                        '<div id="root"></div></body></html>').encode()
                ctype = "text/html; charset=utf-8"
            elif self.path == "/app.js":
                body, ctype = APP_JS, "application/javascript"
            elif self.path == "/site.css":
                body, ctype = CSS, "text/css"
            elif self.path.startswith("/story/"):
                with counter.get_lock():
                    counter.value += 1
                last.value = time.time()
                n = self.path[7:].split(".")[0]
                paras = "".join(f"<p>Paragraph {i} of story {n}. " + "Words of the story. " * 15 + "</p>"
                                for i in range(8))
                body = json.dumps({"title": f"Story {n}", "html": paras}).encode()
                ctype = "application/json"
            elif self.path == "/robots.txt":
                body, ctype = b"User-agent: *\nAllow: /\n", "text/plain"
            else:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "max-age=600")
            self.end_headers()
            self.wfile.write(body)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    port_out.put(server.server_address[1])
    server.serve_forever()


# The bare side. "quiet" is newsarchive's readiness rule written out in plain
# Playwright (see newsarchive/fetch/render/page.py); keep the two in step, or
# the comparison favours one side.
BARE = r"""
import asyncio, sys
from playwright.async_api import async_playwright
base, pages, conc, wait, idle = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], int(sys.argv[5]) / 1000
tab_pages, width, height = int(sys.argv[6]), int(sys.argv[7]), int(sys.argv[8])
args = sys.argv[9].split("\x1f")
nocache = len(sys.argv) > 10 and sys.argv[10] == "nocache"

class Quiet:
    # listeners once per tab, as newsarchive's recorder does
    def __init__(self, page):
        self.open, self.last, self.wake = set(), 0.0, None
        page.on("request", self.started)
        page.on("requestfinished", self.ended)
        page.on("requestfailed", self.ended)
    def touch(self):
        self.last = asyncio.get_running_loop().time()
        if self.wake is not None and not self.wake.done():
            self.wake.set_result(None)
    def started(self, request):
        self.touch()
        if request.url.startswith(("http:", "https:")):
            self.open.add(request)
    def ended(self, request):
        if request in self.open:
            self.touch()
            self.open.discard(request)
    async def goto(self, page, url):
        loop = asyncio.get_running_loop()
        self.open.clear()
        self.touch()
        await page.goto(url, wait_until="load")
        while True:
            left = None
            if not self.open:
                left = idle - (loop.time() - self.last)
                if left <= 0:
                    return
            self.wake = loop.create_future()
            try:
                await asyncio.wait_for(self.wake, left)
            except asyncio.TimeoutError:
                pass
            finally:
                self.wake = None

async def main():
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=args)
        context = await browser.new_context(viewport={"width": width, "height": height}, service_workers="block")
        queue = list(range(pages))
        async def new_page():
            page = await context.new_page()
            if nocache:  # as newsarchive's tabs: every page fetches all it needs
                session = await context.new_cdp_session(page)
                await session.send("Network.enable")
                await session.send("Network.setCacheDisabled", {"cacheDisabled": True})
            return page
        async def worker():
            page = await new_page()
            quiet = Quiet(page)
            done = 0
            while queue:
                url = f"{base}/p/{queue.pop()}.html"
                if wait == "quiet":
                    await quiet.goto(page, url)
                else:
                    await page.goto(url, wait_until="load")
                    await page.wait_for_selector("#root article")
                await page.content()
                done += 1
                if done % tab_pages == 0:  # recycle tabs as newsarchive does (RENDER_TAB_PAGES)
                    await page.close()
                    page = await new_page()
                    quiet = Quiet(page)
        await asyncio.gather(*[worker() for _ in range(conc)])
        await browser.close()
asyncio.run(main())
"""

CRAWL = r"""
import json, sys
from pathlib import Path
from newsarchive.crawl import run_crawl
urls = [f"{sys.argv[1]}/p/{n}.html" for n in range(int(sys.argv[2]))]
s = run_crawl(Path(sys.argv[3]), {"start_urls": urls, "depth": 0}, json.loads(sys.argv[4]))
assert s.pages >= len(urls) and not s.errors, s.as_dict()
"""


def bare_command(base: str, pages: int, conc: int, wait: str, cache: bool = True) -> list[str]:
    """Bare Playwright with newsarchive's defaults for idle, tab recycling, viewport and flags."""
    config = RenderConfig()
    width, height = config.viewport
    return [sys.executable, "-c", BARE, base, str(pages), str(conc), wait, str(config.idle_ms),
            str(config.tab_pages), str(width), str(height), "\x1f".join(config.launch_args()),
            "cache" if cache else "nocache"]


def crawl_command(base: str, pages: int, conc: int, out: Path, profile: Path | None) -> list[str]:
    """A crawl of exactly the pages (depth 0), rendered and archived with the default settings."""
    overrides = {
        "RENDER_MODE": "always", "RENDER_MAX_PAGES": conc, "SIDECAR_ENABLED": False,
        "STATE_ENABLED": False, "PROGRESS_ENABLED": False, "CONCURRENT_REQUESTS": max(8, 2 * conc),
        "CONCURRENT_REQUESTS_PER_DOMAIN": max(8, 2 * conc), "LOG_LEVEL": "WARNING",
    }
    script = out.parent / "crawl_bench.py"
    script.write_text(CRAWL, encoding="utf-8")
    prof = ["-m", "cProfile", "-o", str(profile)] if profile else []
    return [sys.executable, *prof, str(script), base, str(pages), str(out), json.dumps(overrides)]


def measure(cmd: list[str], cwd: Path, shared: tuple[Any, Any, Any], pages: int) -> dict[str, float]:
    """Run one side; sample its CPU and the browser tree's memory against pages done."""
    counter, first, last = shared
    with counter.get_lock():
        counter.value = 0
    first.value = last.value = 0.0
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "PYTHONPATH": str(cwd)})
    samples: list[tuple[int, int]] = []
    cpu: dict[int, float] = {}  # pid -> latest cumulative CPU seen
    driver: set[int] = set()  # Playwright's node driver

    def sample() -> None:
        while proc.poll() is None:
            tree = procs.browser_processes(proc.pid)
            samples.append((counter.value, sum(procs.rss_bytes(p) for p in tree)))
            for pid in (proc.pid, *procs.descendants(proc.pid)):
                if pid not in cpu and "playwright" in procs.cmdline(pid) and "chrom" not in procs.cmdline(pid):
                    driver.add(pid)
                cpu[pid] = max(cpu.get(pid, 0.0), procs.cpu_seconds(pid))
            time.sleep(0.1)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        _, err = proc.communicate()
    except BaseException:  # Ctrl-C or SIGTERM: leave no browser, driver or crawl behind
        for pid in (*procs.descendants(proc.pid), proc.pid):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        proc.wait()
        raise
    thread.join()
    if proc.returncode != 0:
        raise SystemExit(f"{cmd[:4]} failed:\n{err.decode()[-3000:]}")
    if counter.value < pages:
        raise SystemExit(f"{cmd[:4]} rendered only {counter.value} of {pages} pages")
    window = min(100, pages // 3)
    first_peak = max((r for n, r in samples if 0 < n <= window), default=0)
    last_peak = max((r for n, r in samples if n > pages - window), default=0)
    own = cpu.pop(proc.pid, 0.0)
    node = sum(cpu.pop(p, 0.0) for p in driver)
    return {"rate": pages / (last.value - first.value), "peak": max((r for _, r in samples), default=0),
            "first": first_peak, "last": last_peak, "cpu_py": own / pages * 1000,
            "cpu_driver": node / pages * 1000, "cpu_browser": sum(cpu.values()) / pages * 1000}


def total(r: dict[str, float]) -> float:
    """CPU ms per page of one side: Python, driver and Chromium."""
    return r["cpu_py"] + r["cpu_driver"] + r["cpu_browser"]


def main() -> int:
    """Run the comparison; print the table."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--concurrency", default="1,2,4")
    parser.add_argument("--before", type=Path, help="also crawl with the newsarchive checked out in DIR")
    parser.add_argument("--bare-nocache", action="store_true",
                        help="also run bare Playwright with the HTTP cache off (each page fetches "
                        "its stylesheet and scripts again), as newsarchive's tabs had it until "
                        "2026-12-01: what that policy cost (reference)")
    parser.add_argument("--selector", action="store_true",
                        help="also run bare Playwright waiting for the story element (reference)")
    parser.add_argument("--profile", type=Path, help="write cProfile output of each crawl to DIR "
                        "(it slows newsarchive's side: not for the ratio)")
    parser.add_argument("--rounds", type=int, default=1,
                        help="rounds per concurrency, alternating which side runs first; the median ratio")
    args = parser.parse_args()
    # SIGTERM as Ctrl-C: measure() then kills the side it was running.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    shared = (multiprocessing.Value("l", 0), multiprocessing.Value("d", 0.0), multiprocessing.Value("d", 0.0))
    ports: multiprocessing.Queue[int] = multiprocessing.Queue()
    server = multiprocessing.Process(target=serve, args=(ports, *shared), daemon=True)
    server.start()
    base = f"http://127.0.0.1:{ports.get(timeout=10)}"
    config = RenderConfig()
    print(f"{args.pages} client-rendered pages, Debian Chromium, {os.cpu_count()} CPUs, "
          f"RENDER_IDLE_MS={config.idle_ms}, load average {os.getloadavg()[0]:.1f}", flush=True)
    print(f"{'tabs':>4} {'side':<12} {'pages/s':>8} {'py ms/p':>8} {'drv ms/p':>8} {'chr ms/p':>8} {'cpu ms/p':>8} "
          f"{'peak MB':>8} {'first100':>9} {'last100':>8} {'growth':>7}", flush=True)
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    try:
        for conc in (int(c) for c in args.concurrency.split(",")):
            ratios: list[float] = []
            for round_no in range(args.rounds):
                results = run_round(args, base, conc, shared, round_no)
                for name, r in results.items():
                    growth = r["last"] / r["first"] - 1 if r["first"] else float("nan")
                    print(f"{conc:>4} {name:<12} {r['rate']:>8.2f} {r['cpu_py']:>8.1f} {r['cpu_driver']:>8.1f} "
                          f"{r['cpu_browser']:>8.1f} {total(r):>8.1f} {r['peak'] / 1e6:>8.0f} "
                          f"{r['first'] / 1e6:>9.0f} {r['last'] / 1e6:>8.0f} {growth:>+7.0%}")
                bare, ours = results["bare"], results["newsarchive"]
                ratios.append(ours["rate"] / bare["rate"])
                line = (f"{conc:>4} newsarchive/bare: rate {ratios[-1]:.2f} (target >= 0.90), "
                        f"CPU per page bare/newsarchive {total(bare) / total(ours):.2f}")
                if "before" in results:
                    line += f"; before/bare: rate {results['before']['rate'] / bare['rate']:.2f}"
                print(line, f"load average {os.getloadavg()[0]:.1f}", flush=True)
            if args.rounds > 1:
                print(f"{conc:>4} rate ratio over {args.rounds} rounds: median {statistics.median(ratios):.2f} "
                      f"(each: {', '.join(f'{r:.2f}' for r in ratios)})", flush=True)
    finally:
        server.terminate()
    return 0


def run_round(args: argparse.Namespace, base: str, conc: int, shared: tuple[Any, Any, Any],
              round_no: int) -> dict[str, dict[str, float]]:
    """Each side once; odd rounds run newsarchive first, so drift in the machine's speed
    does not always favour the same side."""
    results: dict[str, dict[str, float]] = {}

    def bare() -> None:
        results["bare"] = measure(bare_command(base, args.pages, conc, "quiet"), ROOT, shared, args.pages)

    def ours() -> None:
        with tempfile.TemporaryDirectory() as tmp:
            prof = args.profile / f"crawl-{conc}-{round_no}.prof" if args.profile else None
            cmd = crawl_command(base, args.pages, conc, Path(tmp) / "out", prof)
            results["newsarchive"] = measure(cmd, ROOT, shared, args.pages)

    for side in ((bare, ours) if round_no % 2 == 0 else (ours, bare)):
        side()
    if args.before:
        with tempfile.TemporaryDirectory() as tmp:
            cmd = crawl_command(base, args.pages, conc, Path(tmp) / "out", None)
            results["before"] = measure(cmd, args.before.resolve(), shared, args.pages)
    if args.bare_nocache:
        results["bare-nocache"] = measure(bare_command(base, args.pages, conc, "quiet", cache=False),
                                          ROOT, shared, args.pages)
    if args.selector:
        results["bare-sel"] = measure(bare_command(base, args.pages, conc, "selector"), ROOT, shared, args.pages)
    return {k: results[k] for k in ("bare", "newsarchive", "before", "bare-nocache", "bare-sel")
            if k in results}


if __name__ == "__main__":
    sys.exit(main())
