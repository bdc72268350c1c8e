"""The replay server process: pywb and the sidecar pages, on two ports, with gevent.

Run as ``python -m newsarchive.replay.serve WORK/run.json`` by
:mod:`newsarchive.replay.runner`. pywb is built for gevent (it even starts its
internal warcserver as a gevent server), and gevent must patch the standard
library before anything else imports it, so the server gets a fresh process
of its own. It prints one JSON line on stdout when both ports listen, stops
cleanly on SIGTERM or SIGINT, and dies with the ``replay`` command that
started it.
"""

from __future__ import annotations

if __name__ == "__main__":  # pragma: no cover - patched before any other import
    from gevent import monkey

    monkey.patch_all()

import json  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

logger = logging.getLogger("newsarchive.replay.serve")


def main(argv: list[str] | None = None) -> int:
    """Serve until signalled; return the exit code."""
    import gevent
    from gevent.event import Event
    from gevent.pywsgi import WSGIServer

    from newsarchive.lifetime import die_with_parent

    args = sys.argv[1:] if argv is None else argv
    setup = json.loads(Path(args[0]).read_text("utf-8"))
    if setup.get("parent"):
        die_with_parent(int(setup["parent"]))  # no server left holding the ports
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s")
    os.chdir(setup["work"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from pywb.apps.frontendapp import FrontEndApp

    from newsarchive.replay.isolation import ReplayOrigin
    from newsarchive.replay.sidecar_page import SidecarApp

    pywb_app = FrontEndApp(config_file=setup["config"])
    replay = WSGIServer((setup["host"], setup["port"]),
                        ReplayOrigin(pywb_app, setup["collection"]), log=None)
    replay.start()
    admin_app = SidecarApp(setup["collection"], Path(setup["articles_db"]),
                           Path(setup["work"]) / "pathindex.txt", replay.server_port)
    admin = WSGIServer((setup["host"], setup["admin_port"]), admin_app, log=None)
    admin.start()
    host = setup["host"] if setup["host"] not in ("0.0.0.0", "::") else "127.0.0.1"
    print(json.dumps({
        "collection": setup["collection"],
        "replay": f"http://{host}:{replay.server_port}/{setup['collection']}/",
        "sidecars": f"http://{host}:{admin.server_port}/",
        "replay_port": replay.server_port,
        "admin_port": admin.server_port,
    }), flush=True)
    stop = Event()
    gevent.signal_handler(signal.SIGTERM, stop.set)
    gevent.signal_handler(signal.SIGINT, stop.set)
    stop.wait()
    admin.stop(timeout=2)
    replay.stop(timeout=2)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
