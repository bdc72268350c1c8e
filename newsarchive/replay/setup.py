"""Preparing a replay: indexes, a WARC path index, pywb's config, the article table.

Everything goes in a work folder the runner deletes at exit:

- ``indexes/``: the collection's CDXJ files (a local collection's own folder
  is used in place; an ``s3://`` collection's are copied down, or built by
  streaming the WARCs when missing);
- ``pathindex.txt``: WARC file name -> local path or ``s3://`` URI (pywb's
  PathIndexResolver; it covers the store's date folders ``warc/YYYY/MM/DD/``,
  and pywb reads ``s3://`` WARCs with ranged GETs through boto3);
- ``config.yaml``: pywb's config, in layers: pywb's packaged default, then
  ours (:file:`newsarchive/replay/pywb.yaml`, commented), then this run's
  options;
- ``articles.sqlite``: see :mod:`newsarchive.replay.articles`.
"""

from __future__ import annotations

import logging
import posixpath
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from newsarchive.collection import INDEX_SUFFIX, Collection, Layout, index_name
from newsarchive.exceptions import ConfigError, WarcError
from newsarchive.index.cdxj import index_warc

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReplayOptions:
    """How to serve: interface, ports, extra pywb settings."""

    host: str = "127.0.0.1"
    port: int = 8080
    admin_port: int | None = None  # default: port + 1 (0: any free port)
    pywb: tuple[tuple[str, Any], ...] = ()

    def __post_init__(self) -> None:
        for name, value in (("--port", self.port), ("--admin-port", self.admin_port)):
            if value is not None and not 0 <= value < 65536:
                raise ConfigError(f"{name} {value}: give a port number from 0 to 65535")
        if self.port and self.admin_port == self.port:
            raise ConfigError("--admin-port must differ from --port: the sidecar pages need "
                              "their own origin, apart from archived scripts")


@dataclass(frozen=True)
class ReplaySetup:
    """What the server process needs, saved as ``run.json`` in the work folder."""

    collection: str
    root: str
    work: str
    config: str
    articles_db: str
    host: str
    port: int
    admin_port: int

    def as_dict(self) -> dict[str, Any]:
        """JSON form."""
        return asdict(self)


def default_config() -> dict[str, Any]:
    """Our packaged pywb defaults (layer 2)."""
    text = resources.files("newsarchive.replay").joinpath("pywb.yaml").read_text("utf-8")
    return yaml.safe_load(text) or {}


def _indexes(coll: Collection, work: Path) -> Path:
    """A folder of CDXJ files covering every WARC of the collection."""
    from newsarchive.store import open_input

    have = {posixpath.basename(i): i for i in coll.index_files()}
    missing = [w for w in coll.warcs() if index_name(posixpath.basename(w)) not in have]
    answered_304 = {n for n, uri in have.items() if not coll.remote and _has_304(uri)}
    if not coll.remote and not missing and not answered_304:
        return Layout(coll.local_path).index_dir
    folder = Layout(work).index_dir
    folder.mkdir(parents=True, exist_ok=True)
    for name, uri in have.items():
        if coll.remote or name in answered_304:
            with open_input(uri) as src, open(folder / name, "wb") as out:
                _copy_without_304(src, out)
        else:
            (folder / name).symlink_to(uri)
    for warc in missing:
        logger.warning("no index for %s; indexing it now (run `newsarchive index`)", warc)
        try:
            index_warc(warc, folder / index_name(posixpath.basename(warc)))
        except WarcError as exc:  # one unreadable file must not keep the others from replay
            logger.error("%s; its captures are not replayed", exc)
    return folder


#: a CDXJ line of a capture answered ``304 Not Modified`` (cdxj-indexer's JSON)
_STATUS_304 = b'"status": "304"'


def _has_304(path: str) -> bool:
    with open(path, "rb") as fh:
        return any(_STATUS_304 in line for line in fh)


def _copy_without_304(src: Any, out: Any) -> None:
    """Copy a CDXJ index, leaving out captures answered ``304``.

    A conditional re-check answered 304 is archived as a server-not-modified
    revisit whose HTTP headers are the 304's; pywb replays any revisit with a
    3xx status as that status, so the page would "replay" as an empty 304.
    Left out of pywb's index, the URL replays its last capture with a body
    (the one the 304 confirmed). The collection's own index and catalog keep them.
    """
    rest = b""
    while chunk := src.read(1 << 20):
        lines = (rest + chunk).split(b"\n")
        rest = lines.pop()
        out.write(b"".join(line + b"\n" for line in lines if _STATUS_304 not in line))
    if rest and _STATUS_304 not in rest:
        out.write(rest)


def _path_index(coll: Collection, work: Path) -> Path:
    lines = sorted(f"{posixpath.basename(w)}\t{w}\n" for w in coll.warcs())
    path = work / "pathindex.txt"
    path.write_text("".join(lines), encoding="utf-8")
    return path


def prepare(coll: Collection, work: Path, options: ReplayOptions) -> ReplaySetup:
    """Write everything the replay server needs into ``work``."""
    from newsarchive.replay import articles

    work.mkdir(parents=True, exist_ok=True)
    indexes = _indexes(coll, work)
    pathindex = _path_index(coll, work)
    config = default_config()
    config.update(dict(options.pywb))
    config["collections"] = {
        coll.name: {"index_paths": str(indexes), "archive_paths": str(pathindex)}
    }
    config["collections_root"] = str(work / "collections")
    config_path = work / "config.yaml"
    config_path.write_text(
        "# Generated by newsarchive replay; layered over pywb/default_config.yaml and\n"
        "# newsarchive/replay/pywb.yaml. Deleted when the server stops.\n"
        + yaml.safe_dump(config, sort_keys=False),
        encoding="utf-8",
    )
    db = work / "articles.sqlite"
    articles.build(coll, db, [str(p) for p in sorted(indexes.glob("*" + INDEX_SUFFIX))])
    admin_port = options.admin_port
    if admin_port is None:
        admin_port = options.port + 1 if options.port else 0
    return ReplaySetup(
        collection=coll.name,
        root=coll.root,
        work=str(work),
        config=str(config_path),
        articles_db=str(db),
        host=options.host,
        port=options.port,
        admin_port=admin_port,
    )
