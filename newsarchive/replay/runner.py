"""Running a replay: prepare the work folder, start the server process, stop it cleanly.

pywb runs from a virtualenv of its own (pywb pins ``redis<3``; the crawl uses
scrapy-redis with a current client): :func:`pywb_python` finds it.

The CLI process stays in charge: it prepares (where user mistakes become
one-line errors), starts :mod:`newsarchive.replay.serve` as a child, relays its
"listening" line, and on Ctrl-C or SIGTERM stops the child and deletes the
work folder.

After the "listening" line, a thread keeps reading the child's stdout (pywb
prints a line per index lookup; unread, the pipe fills and the server blocks
for good) and passes it to the debug log. A child that does not stop within
:data:`STOP_TIMEOUT` seconds of SIGTERM is killed.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import logging
import os
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from newsarchive.collection import Collection
from newsarchive.exceptions import NewsarchiveError
from newsarchive.replay.setup import ReplayOptions, prepare

logger = logging.getLogger(__name__)

STOP_TIMEOUT = 5.0


def pywb_python() -> str:
    """The Python that runs the replay server: ``.venv-pywb`` beside the source
    checkout (made by ``./run``), else this one if pywb is installed here."""
    root = Path(__file__).resolve().parents[2]
    candidate = root / ".venv-pywb" / "bin" / "python"
    if candidate.exists():
        return str(candidate)
    if importlib.util.find_spec("pywb") is not None:
        return sys.executable
    raise NewsarchiveError(
        f"pywb is not installed: run ./run setup (it makes {candidate.parent.parent}), or "
        "install pywb==2.10.0 into a virtualenv of its own with newsarchive (--no-deps)"
    )


def _drain(stream: Any) -> None:
    """Read the child's stdout to its end (see the module docstring)."""
    with contextlib.suppress(OSError, ValueError):
        for line in stream:
            logger.debug("replay server: %s", line.rstrip())


def serve(
    coll: Collection,
    options: ReplayOptions,
    on_ready: Callable[[dict[str, Any]], None],
    work_dir: Path | None = None,
) -> int:
    """Serve ``coll`` until interrupted; ``on_ready`` gets the URLs once listening."""
    with tempfile.TemporaryDirectory(prefix="newsarchive-replay-", dir=work_dir) as tmp:
        work = Path(tmp)
        setup = prepare(coll, work, options)
        run_file = work / "run.json"
        # The server dies with this process, even after its kill -9 (lifetime.py).
        run_file.write_text(json.dumps({**setup.as_dict(), "parent": os.getpid()}),
                            encoding="utf-8")
        child = subprocess.Popen(
            [pywb_python(), "-m", "newsarchive.replay.serve", str(run_file)],
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONWARNINGS": "ignore"},
        )
        stopping = False

        def stop(signum: int, _frame: Any) -> None:
            nonlocal stopping
            stopping = True
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)

        previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            assert child.stdout is not None
            line = child.stdout.readline()
            if not line:
                code = child.wait()
                if stopping:
                    return 0
                raise NewsarchiveError(
                    f"the replay server stopped at start (exit {code}); see the messages above "
                    "(is the port in use? try --port)"
                )
            threading.Thread(target=_drain, args=(child.stdout,), name="replay-stdout",
                             daemon=True).start()
            on_ready(json.loads(line))
            while True:
                try:
                    code = child.wait(0.5 if not stopping else STOP_TIMEOUT)
                    break
                except subprocess.TimeoutExpired:
                    if stopping:
                        child.kill()
            return 0 if stopping else code
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            if child.poll() is None:
                child.terminate()
                try:
                    child.wait(STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    child.kill()
                    child.wait()
