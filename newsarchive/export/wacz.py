"""Packaging a filtered subset of a collection as a WACZ, with py-wacz.

The subset is chosen at WARC-file granularity: every WARC file holding a
matching article, plus the files holding the originals of matching revisit
records (found by payload digest in the CDXJ indexes), so the package replays
on its own. py-wacz indexes those WARCs and writes ``pages/pages.jsonl`` from
our page list (one page per matching article: URL, capture time, title); the
matching sidecars are added as ``sidecars/sidecars.jsonl`` and the
datapackage is re-hashed the way py-wacz hashes it, so the WACZ still passes
``wacz validate``. The package's index never lists a sidecar record under
its page's URL (see :func:`_old_form_sidecars_left_out`).
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import posixpath
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from newsarchive.exceptions import ConfigError, NewsarchiveError
from newsarchive.export.filters import ExportFilter
from newsarchive.export.rows import Progress, iter_matches
from newsarchive.export.writers import json_default
from newsarchive.index.cdxj import iter_index
from newsarchive.index.collection import Collection

logger = logging.getLogger(__name__)

SIDECARS_ENTRY = "sidecars/sidecars.jsonl"


@dataclass
class WaczReport:
    """What went into the package."""

    out: str
    pages: int
    warcs: list[str]
    bytes: int


def _original_warcs(coll: Collection, digests: set[str]) -> set[str]:
    """WARC files holding a full response with one of these payload digests."""
    found: set[str] = set()
    if not digests:
        return found
    for index in coll.index_files():
        for line in iter_index(index):
            if not line.is_revisit and line.digest in digests:
                found.add(line.filename)
    return found


def is_old_form_sidecar(headers: Any) -> bool:
    """A sidecar ``metadata`` record under the page's own URL (written before own URIs)."""
    return (headers.get_header("WARC-Type") == "metadata"
            and "newsarchive.sidecar" in (headers.get_header("Content-Type") or "")
            and (headers.get_header("WARC-Target-URI") or "").startswith(("http:", "https:")))


@contextlib.contextmanager
def _old_form_sidecars_left_out() -> Iterator[None]:
    """py-wacz's indexer, made to leave out old-form sidecar records.

    py-wacz indexes every record under its target URI; a sidecar record of a
    collection written before sidecars got ``urn:newsarchive:sidecar:`` URIs
    would be the latest "capture" of its page in the package. Records of the
    current form are indexed as they are (under their own scheme).
    """
    import wacz.main as wacz_module

    base = wacz_module.WACZIndexer

    class Indexer(base):  # type: ignore[misc,valid-type]
        def filter_record(self, record: Any) -> bool:
            if is_old_form_sidecar(record.rec_headers):
                return False
            return bool(super().filter_record(record))

    wacz_module.WACZIndexer = Indexer
    try:
        yield
    finally:
        wacz_module.WACZIndexer = base


def _rehash_datapackage(path: Path, extra: dict[str, Path]) -> None:
    """Add ``extra`` entries to a py-wacz WACZ and rewrite its datapackage hashes."""
    from wacz.util import hash_stream

    tmp = path.with_name(path.name + ".rehash")
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(tmp, "w") as dst:
        package = json.loads(src.read("datapackage.json"))
        hash_type = (package.get("resources") or [{}])[0].get("hash", "sha256:").split(":")[0]
        for info in src.infolist():
            if info.filename.startswith("datapackage"):
                continue
            with src.open(info) as fin, dst.open(info, "w") as fout:
                shutil.copyfileobj(fin, fout, 1 << 20)
        for name, local in extra.items():
            dst.write(local, name, compress_type=zipfile.ZIP_DEFLATED)
        resources = []
        for info in dst.infolist():
            with dst.open(info.filename) as stream:
                size, digest = hash_stream(hash_type, stream)
            resources.append({"name": posixpath.basename(info.filename).lower(),
                              "path": info.filename, "hash": digest, "bytes": size})
        package["resources"] = resources
        data = json.dumps(package, indent=2).encode("utf-8")
        dst.writestr(zipfile.ZipInfo("datapackage.json", package_time()), data,
                     compress_type=zipfile.ZIP_DEFLATED)
        import hashlib

        digest_doc = {"path": "datapackage.json",
                      "hash": "sha256:" + hashlib.sha256(data).hexdigest()}
        dst.writestr(zipfile.ZipInfo("datapackage-digest.json", package_time()),
                     json.dumps(digest_doc, indent=2), compress_type=zipfile.ZIP_DEFLATED)
    os.replace(tmp, path)


def package_time() -> tuple[int, int, int, int, int, int]:
    """Zip entry time stamps, as py-wacz sets them."""
    from wacz.util import now

    return now()  # type: ignore[no-any-return]


def _local_copy(uri: str, folder: Path) -> str:
    """A local path for a WARC: itself, or a streamed copy of a remote one."""
    from newsarchive.store import is_remote, open_input

    if not is_remote(uri):
        return uri
    dest = folder / posixpath.basename(uri)
    with open_input(uri) as src, open(dest, "wb") as out:
        shutil.copyfileobj(src, out, 1 << 20)
    return str(dest)


def export_wacz(
    coll: Collection,
    out: str,
    flt: ExportFilter,
    *,
    title: str | None = None,
    progress: Progress | None = None,
) -> WaczReport:
    """Write a WACZ of the articles of ``coll`` passing ``flt`` (and their WARCs) to ``out``."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # pyamf's pkg_resources import
        from wacz.main import main as wacz_main

    if out == "-":
        raise ConfigError("--format wacz needs --out FILE.wacz (a zip cannot stream to stdout)")
    dest = Path(out)
    if not dest.parent.exists():
        raise ConfigError(f"--out {out}: folder {dest.parent} does not exist")
    with tempfile.TemporaryDirectory(prefix="newsarchive-wacz-") as tmpdir:
        tmp = Path(tmpdir)
        pages_path, sidecars_path = tmp / "pages.jsonl", tmp / "sidecars.jsonl"
        warc_names: set[str] = set()
        revisit_digests: set[str] = set()
        pages = 0
        with open(pages_path, "w", encoding="utf-8") as pages_fh, \
                open(sidecars_path, "w", encoding="utf-8") as sc_fh:
            pages_fh.write(json.dumps({"format": "json-pages-1.0", "id": "pages",
                                       "title": title or coll.name}) + "\n")
            for sidecar, row in iter_matches(coll, flt, progress):
                if not row["warc_filename"]:
                    continue
                warc_names.add(row["warc_filename"])
                if row["payload_digest"]:
                    revisit_digests.add(row["payload_digest"])
                page = {"url": row["url"], "title": row["title"] or row["url"]}
                if row["captured"] is not None:
                    page["ts"] = json_default(row["captured"])
                pages_fh.write(json.dumps(page, ensure_ascii=False) + "\n")
                sc_fh.write(json.dumps(sidecar, ensure_ascii=False) + "\n")
                pages += 1
        if not pages:
            raise ConfigError("no article matches the filters; nothing to package")
        warc_names |= _original_warcs(coll, revisit_digests)
        by_name = {posixpath.basename(w): w for w in coll.warcs()}
        missing = sorted(n for n in warc_names if n not in by_name)
        if missing:
            raise NewsarchiveError(f"WARC file(s) named in sidecars not in {coll.root}: {missing}")
        (tmp / "warcs").mkdir()
        inputs = [_local_copy(by_name[n], tmp / "warcs") for n in sorted(warc_names)]
        package = tmp / "out.wacz"
        args = ["create", "-o", str(package), "--pages", str(pages_path),
                "--title", title or coll.name,
                "--desc", f"newsarchive export of {coll.name}: {pages} articles", *inputs]
        # py-wacz chats on stdout; keep it for the log (and the error message).
        chatter = io.StringIO()
        with contextlib.redirect_stdout(chatter), _old_form_sidecars_left_out():
            code = wacz_main(args)
        logger.debug("py-wacz: %s", chatter.getvalue())
        if code:
            last = chatter.getvalue().strip().splitlines()[-1:] or ["no output"]
            raise NewsarchiveError(f"py-wacz could not create the package: {last[0]}")
        _rehash_datapackage(package, {SIDECARS_ENTRY: sidecars_path})
        shutil.move(str(package), dest)
    return WaczReport(str(dest), pages, sorted(warc_names), dest.stat().st_size)
