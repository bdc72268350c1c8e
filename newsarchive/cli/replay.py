"""``newsarchive replay COLLECTION [--port N]``: browse a collection with pywb."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from newsarchive.cli.common import add_s3_options, apply_s3_options


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``replay`` verb."""
    p = sub.add_parser(
        "replay",
        help="serve a collection in the browser with pywb, with a sidecar page per article",
        description="Serve a collection (folder or s3:// store) with pywb: /NAME/TIMESTAMP/URL "
        "for a capture, /NAME/URL for the latest, /NAME/*/URL for the list of captures. "
        "Archived pages run on the replay port only, under a Content-Security-Policy that "
        "keeps every request on the replay host. Sidecar pages (story, ads, related links, "
        "WARC record) are on --admin-port, a separate origin: /_sidecar/NAME/TIMESTAMP/URL. "
        "Stop with Ctrl-C. Exit 0 when stopped, 2 on a bad option, 3 on a storage problem.",
    )
    p.add_argument("collection", metavar="COLLECTION", help="collection folder or s3:// store")
    p.add_argument("--port", type=int, default=8080, help="replay port (default 8080; 0: any free port)")
    p.add_argument("--admin-port", type=int, default=None,
                   help="sidecar pages port (default: --port + 1; 0: any free port)")
    p.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    add_s3_options(p)
    p.add_argument("--json", action="store_true", help="print the URLs as one JSON line")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Prepare and serve until interrupted."""
    from newsarchive.collection import Collection
    from newsarchive.replay.runner import serve
    from newsarchive.replay.setup import ReplayOptions

    apply_s3_options(args)
    options = ReplayOptions(host=args.host, port=args.port, admin_port=args.admin_port)
    coll = Collection.open(args.collection)

    def ready(info: dict[str, Any]) -> None:
        if args.json:
            print(json.dumps(info))
        else:
            print(f"replaying {info['collection']} at {info['replay']}\n"
                  f"sidecar pages at {info['sidecars']}\nCtrl-C to stop")
        sys.stdout.flush()

    return serve(coll, options, ready)
