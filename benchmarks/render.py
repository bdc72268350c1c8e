#!/usr/bin/env python3
"""Rendered capture against bare Playwright: pages/s and browser memory.

Serves N client-rendered pages (an empty app root, a script, the story JSON
fetched by XHR -- the shape of the demo site's ``clientside`` articles) from
a server in its own process, then, for 1, 2 and 4 concurrent pages:

* ``bare``        a plain Playwright script on the same Chromium and flags: reused
                  tabs, ``goto`` and a wait for the story element, ``content()``.
                  Nothing archived. The ceiling.
* ``newsarchive`` a full crawl (``RENDER_MODE=always``) of the same pages: Scrapy,
                  the render handler, every response archived as WARC records, the
                  DOM as a resource record, sidecars off (extraction is measured
                  by benchmarks/extraction.py).

Memory: the resident memory of the whole browser process tree (Playwright's
driver, Chromium's browser, zygotes, GPU/utility and every renderer), summed
from /proc every 0.1 s; peaks over the first and the last 100 pages.
Targets (issue 5): newsarchive >= 90% of bare's rate; last-100 peak within
20% of the first-100 peak.

usage: .venv/bin/python benchmarks/render.py [--pages 1000] [--concurrency 1,2,4]
"""

from __future__ import annotations

import argparse
import http.server
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from newsarchive.fetch.render import procs  # noqa: E402
from newsarchive.fetch.render.config import RenderConfig  # noqa: E402

APP_JS = b"""fetch('/story/' + document.body.dataset.n + '.json').then(r => r.json()).then(d => {
  document.getElementById('root').innerHTML = '<article><h1>' + d.title + '</h1>' + d.html + '</article>';
});"""
CSS = b"body { font-family: serif; } article { max-width: 40em; }" * 20


def serve(port_out: multiprocessing.Queue, counter: multiprocessing.Value) -> None:  # type: ignore[type-arg]
    """The page server (own process, so its CPU is not charged to either side)."""

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802
            if self.path.startswith("/p/"):
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


BARE = r"""
import asyncio, sys, time
from playwright.async_api import async_playwright
base, pages, conc = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
args = sys.argv[4].split("\x1f")
async def main():
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=args)
        context = await browser.new_context()
        queue = list(range(pages))
        async def worker():
            page = await context.new_page()
            done = 0
            while queue:
                n = queue.pop()
                await page.goto(f"{base}/p/{n}.html", wait_until="load")
                await page.wait_for_selector("#root article")
                await page.content()
                done += 1
                if done % 20 == 0:  # recycle tabs as newsarchive does (RENDER_TAB_PAGES)
                    await page.close()
                    page = await context.new_page()
        t = time.monotonic()
        await asyncio.gather(*[worker() for _ in range(conc)])
        print(time.monotonic() - t)
        await browser.close()
asyncio.run(main())
"""


def newsarchive_command(base: str, pages: int, conc: int, out: Path, idle_ms: int) -> list[str]:
    """A crawl of exactly the pages (depth 0), rendered, archived, timed inside."""
    overrides = {
        "RENDER_MODE": "always", "RENDER_MAX_PAGES": conc, "RENDER_IDLE_MS": idle_ms, "SIDECAR_ENABLED": False,
        "STATE_ENABLED": False, "PROGRESS_ENABLED": False, "CONCURRENT_REQUESTS": max(8, 2 * conc),
        "CONCURRENT_REQUESTS_PER_DOMAIN": max(8, 2 * conc), "LOG_LEVEL": "WARNING",
    }
    code = (
        "import json, sys, time; from pathlib import Path; "
        "from newsarchive.fetch.crawl import run_crawl; "
        "urls = [f'{sys.argv[1]}/p/{n}.html' for n in range(int(sys.argv[2]))]; "
        "s = run_crawl(Path(sys.argv[3]), {'start_urls': urls, 'depth': 0}, json.loads(sys.argv[4])); "
        "print(s.elapsed)"
    )
    return [sys.executable, "-c", code, base, str(pages), str(out), json.dumps(overrides)]


def measure(cmd: list[str], counter: multiprocessing.Value, pages: int) -> dict[str, float]:  # type: ignore[type-arg]
    """Run one side; sample the browser tree's memory against pages done."""
    with counter.get_lock():
        counter.value = 0
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    samples: list[tuple[int, int]] = []

    def sample() -> None:
        while proc.poll() is None:
            rss = sum(procs.rss_bytes(p) for p in procs.browser_processes(proc.pid))
            samples.append((counter.value, rss))
            time.sleep(0.1)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    out, err = proc.communicate()
    thread.join()
    if proc.returncode != 0:
        raise SystemExit(f"{cmd[:3]} failed:\n{err.decode()[-2000:]}")
    elapsed = float(out.decode().strip().splitlines()[-1])
    window = min(100, pages // 3)
    first = max((r for n, r in samples if 0 < n <= window), default=0)
    last = max((r for n, r in samples if n > pages - window), default=0)
    return {"rate": pages / elapsed, "peak": max((r for _, r in samples), default=0),
            "first": first, "last": last}


def main() -> int:
    """Run the comparison; print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--concurrency", default="1,2,4")
    parser.add_argument("--idle-ms", type=int, default=RenderConfig.idle_ms,
                        help="RENDER_IDLE_MS for newsarchive (default: the setting's default)")
    args = parser.parse_args()
    counter = multiprocessing.Value("l", 0)
    ports: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
    server = multiprocessing.Process(target=serve, args=(ports, counter), daemon=True)
    server.start()
    base = f"http://127.0.0.1:{ports.get(timeout=10)}"
    flags = "\x1f".join(RenderConfig().launch_args())
    print(f"{args.pages} client-rendered pages, Debian Chromium, {os.cpu_count()} CPUs")
    print(f"{'pages':>5} {'side':<12} {'pages/s':>8} {'peak MB':>8} {'first100':>9} "
          f"{'last100':>8} {'growth':>7}")
    try:
        for conc in (int(c) for c in args.concurrency.split(",")):
            bare = measure([sys.executable, "-c", BARE, base, str(args.pages), str(conc), flags],
                           counter, args.pages)
            with tempfile.TemporaryDirectory() as tmp:
                ours = measure(newsarchive_command(base, args.pages, conc, Path(tmp), args.idle_ms), counter,
                               args.pages)
            for name, r in (("bare", bare), ("newsarchive", ours)):
                growth = r["last"] / r["first"] - 1 if r["first"] else float("nan")
                print(f"{conc:>5} {name:<12} {r['rate']:>8.2f} {r['peak'] / 1e6:>8.0f} "
                      f"{r['first'] / 1e6:>9.0f} {r['last'] / 1e6:>8.0f} {growth:>+7.0%}")
            print(f"{conc:>5} ratio newsarchive/bare = {ours['rate'] / bare['rate']:.2f} (target >= 0.90)")
    finally:
        server.terminate()
    return 0


if __name__ == "__main__":
    sys.exit(main())
