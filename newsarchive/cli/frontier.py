"""``newsarchive frontier status|pause|resume|clear redis://HOST:PORT/DB``: a shared crawl."""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from newsarchive.cli.common import print_json


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``frontier`` verb."""
    p = sub.add_parser(
        "frontier",
        help="look at or steer a crawl shared on Redis (crawl --frontier)",
        description="status: per site, requests queued, leased (being fetched), workers seen "
        "and their pages/s; pause: workers take no new request (what they fetch finishes); "
        "resume; clear: forget a site's queue, leases, dedup index and crawl state.",
    )
    p.add_argument("action", choices=("status", "pause", "resume", "clear"))
    p.add_argument("url", metavar="redis://HOST:PORT/DB")
    p.add_argument("--site", default=None,
                   help="the site (its file's name or its host); default: every site (status), "
                   "required for clear")
    p.add_argument("--json", action="store_true", help="status as JSON")
    p.set_defaults(func=run)


def sites(client: Any) -> list[str]:
    """The sites with keys on this Redis."""
    found = set()
    for key in client.scan_iter(match="newsarchive:*", count=1000):
        parts = key.decode().split(":")
        if len(parts) >= 3:
            found.add(parts[1])
    return sorted(found)


def site_status(client: Any, site: str, now: float) -> dict[str, Any]:
    """One site's queue, leases, workers and rate."""
    from newsarchive.fetch.frontier import FrontierKeys

    k = FrontierKeys(site)
    pipe = client.pipeline(transaction=False)
    pipe.zcard(k.requests).zcard(k.retry).zcard(k.leases).hgetall(k.workers)
    pipe.exists(k.paused).get(k.run).hlen(k.state).scard(k.dupefilter)
    queued, requeued, leased, workers, paused, run, known, seen = pipe.execute()
    expired = client.zcount(k.leases, "-inf", now)
    seen_workers = []
    for name, raw in sorted(workers.items()):
        info = json.loads(raw)
        age = now - float(info.get("seen", 0))
        seen_workers.append({"worker": name.decode(), "last_seen_s": round(age, 1),
                             "pages": info.get("pages", 0),
                             "rate": info.get("rate", 0.0) if age < 120 else 0.0})
    return {
        "site": site, "queued": int(queued) + int(requeued), "requeued": int(requeued),
        "leased": int(leased), "expired_leases": int(expired), "paused": bool(paused),
        "run": run.decode() if run else None, "requests_seen": int(seen),
        "urls_known": int(known), "workers": seen_workers,
        "rate": round(sum(w["rate"] for w in seen_workers), 2),
    }


def run(args: argparse.Namespace) -> int:
    """Do the action; 0 ok, 2 for a missing --site."""
    from newsarchive.exceptions import UserError
    from newsarchive.fetch.frontier import FrontierKeys, redis_client, site_id

    client = redis_client(args.url)
    site = site_id(args.site) if args.site else None
    if args.action == "status":
        now = float(client.time()[0])
        report = [site_status(client, s, now) for s in ([site] if site else sites(client))]
        if args.json:
            print_json({"frontier": args.url, "sites": report})
            return 0
        if not report:
            print(f"{args.url}: no crawl")
        for r in report:
            state = "paused" if r["paused"] else ("running" if r["run"] else "idle")
            print(f"{r['site']}: {state}; {r['queued']} queued ({r['requeued']} requeued), "
                  f"{r['leased']} leased ({r['expired_leases']} expired), "
                  f"{r['urls_known']} URLs known, {r['rate']:.1f} pages/s")
            for w in r["workers"]:
                print(f"  {w['worker']:<24} {w['pages']:>7} pages  {w['rate']:6.1f} pages/s  "
                      f"seen {w['last_seen_s']:.0f} s ago")
        return 0
    targets = [site] if site else sites(client)
    if args.action == "clear" and not site:
        raise UserError("frontier clear needs --site SITE (it forgets that site's crawl state)")
    for s in targets:
        k = FrontierKeys(s)
        if args.action == "pause":
            client.set(k.paused, str(time.time()))
        elif args.action == "resume":
            client.delete(k.paused)
        else:
            keys = list(client.scan_iter(match=f"newsarchive:{s}:*", count=1000))
            if keys:
                client.delete(*keys)
        print(f"{s}: {dict(pause='paused', resume='resumed', clear='cleared')[args.action]}")
    return 0
