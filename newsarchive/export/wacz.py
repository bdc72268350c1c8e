"""Packaging a filtered subset of a collection as a WACZ, with py-wacz.

The package holds only the records of the matching pages and what they need
to replay (their request records, the originals of revisits, the resources
their HTML embeds; see :mod:`newsarchive.export.subset`), copied into one new
WARC file, never whole WARC files. py-wacz indexes that WARC and writes ``pages/pages.jsonl`` from
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

from newsarchive.collection import Collection
from newsarchive.exceptions import ConfigError, NewsarchiveError
from newsarchive.export.batches import Progress
from newsarchive.export.filters import ExportFilter
from newsarchive.export.subset import Page, choose_records, subset_path, write_subset
from newsarchive.export.writers import json_default
from newsarchive.index.sidecars import iter_sidecars

logger = logging.getLogger(__name__)

SIDECARS_ENTRY = "sidecars/sidecars.jsonl"


@dataclass
class WaczReport:
    """What went into the package."""

    out: str
    pages: int
    records: int  # WARC records copied into the package
    warcs: list[str]  # the source WARC files they came from
    bytes: int


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


def export_wacz(
    coll: Collection,
    out: str,
    flt: ExportFilter,
    *,
    title: str | None = None,
    progress: Progress | None = None,
    latest: bool = False,
) -> WaczReport:
    """Write a WACZ of the articles of ``coll`` passing ``flt`` (their records only) to ``out``.

    ``latest``: only each URL's latest capture.
    """
    import warnings

    from newsarchive.export.tabular import select_tables
    from newsarchive.export.views import View

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
        chosen: list[Page] = []
        record_ids: set[str] = set()
        with open(pages_path, "w", encoding="utf-8") as pages_fh:
            pages_fh.write(json.dumps({"format": "json-pages-1.0", "id": "pages",
                                       "title": title or coll.name}) + "\n")
            columns = ["url", "title", "captured", "warc_filename", "warc_offset", "warc_length",
                       "record_id", "payload_digest"]
            for table in select_tables(coll, flt, View(latest=latest), progress):
                for row in table.select(columns).to_pylist():
                    if not row["warc_filename"] or row["warc_offset"] is None:
                        continue
                    page = {"url": row["url"], "title": row["title"] or row["url"]}
                    stamp = ""
                    if row["captured"] is not None:
                        page["ts"] = json_default(row["captured"])
                        stamp = row["captured"].strftime("%Y%m%d%H%M%S")
                    pages_fh.write(json.dumps(page, ensure_ascii=False) + "\n")
                    chosen.append(Page(row["url"], stamp, row["warc_filename"],
                                       row["warc_offset"], row["warc_length"],
                                       row["payload_digest"]))
                    record_ids.add(row["record_id"])
        if not chosen:
            raise ConfigError("no article matches the filters; nothing to package")
        pages = len(chosen)
        subset = choose_records(coll, chosen)
        warc_names = sorted(subset.records)
        with open(sidecars_path, "w", encoding="utf-8") as sc_fh:
            for uri in coll.sidecar_files():
                for sidecar in iter_sidecars(uri):
                    if (sidecar.get("capture") or {}).get("record_id") in record_ids:
                        sc_fh.write(json.dumps(sidecar, ensure_ascii=False) + "\n")
        (tmp / "warcs").mkdir()
        subset_warc = subset_path(tmp / "warcs", coll)
        with open(subset_warc, "wb") as fh:
            write_subset(coll, subset, fh)
        inputs = [str(subset_warc)]
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
    return WaczReport(str(dest), pages, len(subset), warc_names, dest.stat().st_size)
