"""vl-convert in a child process, started before a report's numbers are gathered.

vl-convert's engine (V8 running the Vega and Vega-Lite bundles) takes about a
CPU-second to start, once per process, and that start and every chart after it
hold the GIL of the process they run in: a thread would stop this process for
as long. A report gathers its numbers first (the catalog through DuckDB, the
crawl log, the sidecar files), so :class:`ChartProcess` starts the engine in a
child at the beginning of a report, where it runs on the other core meanwhile;
the charts' specifications then go to the child in one message, their SVG comes
back in one. At the end of a crawl this takes the engine's start out of the
crawl's serial tail (``benchmarks/README.md``).

The child imports nothing but the standard library and vl-convert, and runs
isolated (``python -I``: no script folder, no ``PYTHONPATH``). If it cannot be
started, fails or answers with an error, :meth:`ChartProcess.draw` returns None
and the caller draws in its own process, as before: the report is the same
either way, and an error of a chart is raised there as it always was.
"""

from __future__ import annotations

import contextlib
import json
import logging
import subprocess
import sys
from typing import Any

logger = logging.getLogger(__name__)

#: seconds a report waits for its charts before drawing them itself
TIMEOUT = 300.0
# A first chart: what starts the engine (the bundles are compiled on the first call).
_WARM_UP = {"data": {"values": [{"a": "a", "n": 1}]}, "mark": "bar",
            "encoding": {"y": {"field": "a", "type": "nominal"},
                         "x": {"field": "n", "type": "quantitative"}}}


class ChartProcess:
    """A child drawing Vega-Lite specifications to SVG; its engine starts at once."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen[bytes] | None
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-I", __file__], stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        except OSError as exc:
            logger.debug("chart process not started (%s); charts drawn in this process", exc)
            self._proc = None

    def draw(self, specs: dict[str, Any]) -> dict[str, str] | None:
        """SVG of each specification by name, or None if the child could not draw them."""
        proc, self._proc = self._proc, None
        if proc is None:
            return None
        try:
            out, _ = proc.communicate(json.dumps(specs).encode("utf-8"), timeout=TIMEOUT)
            answer = json.loads(out)
        except (OSError, ValueError, TypeError, subprocess.TimeoutExpired) as exc:
            logger.debug("chart process failed (%s); charts drawn in this process", exc)
            _end(proc)
            return None
        if proc.returncode != 0 or "svgs" not in answer:
            logger.debug("chart process answered %s (exit %s); charts drawn in this process",
                         answer.get("error"), proc.returncode)
            return None
        svgs: dict[str, str] = answer["svgs"]
        return svgs

    def close(self) -> None:
        """End the child if :meth:`draw` did not (a report that failed before its charts)."""
        proc, self._proc = self._proc, None
        if proc is not None:
            _end(proc)


def _end(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.wait()
    for pipe in (proc.stdin, proc.stdout):
        if pipe is not None:
            with contextlib.suppress(OSError):
                pipe.close()


def _serve() -> int:
    """The child: start the engine, then read the specifications (JSON, a name -> spec
    object) from stdin to its end and write ``{"svgs": {name: svg}}`` (or ``{"error": ...}``)."""
    import vl_convert

    vl_convert.vegalite_to_svg(_WARM_UP)
    specs = json.loads(sys.stdin.buffer.read())
    try:
        answer: dict[str, Any] = {
            "svgs": {name: vl_convert.vegalite_to_svg(spec) for name, spec in specs.items()}}
    except Exception as exc:  # the parent draws them itself and raises it there
        answer = {"error": f"{type(exc).__name__}: {exc}"}
    sys.stdout.buffer.write(json.dumps(answer).encode("utf-8"))
    return 0


if __name__ == "__main__":
    sys.exit(_serve())
