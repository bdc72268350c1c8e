"""The largest story clusters of a collection and what differs between their versions.

Read from the catalog (``story_id``, one row per capture); the paragraphs of
each version come from its sidecar by one ranged read. A version is one
capture; it is compared with the story's first version (earliest capture):
paragraphs it adds and paragraphs it drops, whitespace-normalised.
"""

from __future__ import annotations

import datetime as dt
import posixpath
from dataclasses import dataclass, field
from typing import Any

from newsarchive.collection import Collection


@dataclass
class Version:
    """One capture of a story, and how its paragraphs differ from the first version's."""

    url: str
    host: str | None
    captured: dt.datetime
    title: str | None
    words: int | None
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


@dataclass
class Cluster:
    """A story: its id, how many URLs and captures, and its versions in capture order."""

    story_id: str
    urls: int
    captures: int
    versions: list[Version]


def _norm(text: str) -> str:
    return " ".join(text.split())


def paragraph_diff(base: list[str], other: list[str]) -> tuple[list[str], list[str]]:
    """``(added, removed)``: paragraphs of ``other`` not in ``base``, and of ``base`` not in
    ``other``, in their order."""
    have, had = {_norm(p) for p in base}, {_norm(p) for p in other}
    return [p for p in other if _norm(p) not in have], [p for p in base if _norm(p) not in had]


def largest(coll: Collection, top: int = 10, min_urls: int = 2) -> list[Cluster]:
    """The ``top`` stories with the most URLs (at least ``min_urls``), with their versions."""
    from newsarchive.index.query import connect
    from newsarchive.index.sidecars import read_sidecar

    con = connect([coll], trusted=True)
    rows = con.execute(
        "SELECT story_id, count(DISTINCT url) AS urls, count(*) AS captures, "
        "list({'url': url, 'host': host, 'ts': timestamp, 'title': title, 'words': word_count, "
        "'file': sidecar_file, 'off': sidecar_offset, 'len': sidecar_length} "
        "ORDER BY timestamp, url) AS versions "
        "FROM catalog WHERE is_article AND story_id IS NOT NULL GROUP BY story_id "
        "HAVING count(DISTINCT url) >= ? ORDER BY urls DESC, captures DESC, story_id LIMIT ?",
        [min_urls, top],
    ).fetchall()
    files = {posixpath.basename(u): u for u in coll.sidecar_files()}

    def paragraphs(v: dict[str, Any]) -> list[str]:
        uri = files.get(v["file"] or "")
        if uri is None or v["off"] is None:
            return []
        return list(read_sidecar(uri, v["off"], v["len"]).get("paragraphs") or [])

    clusters = []
    for story_id, urls, captures, versions in rows:
        base = paragraphs(versions[0])
        out = []
        for n, v in enumerate(versions):
            added, removed = paragraph_diff(base, paragraphs(v)) if n else ([], [])
            out.append(Version(v["url"], v["host"], v["ts"], v["title"], v["words"],
                               added, removed))
        clusters.append(Cluster(story_id, urls, captures, out))
    return clusters
