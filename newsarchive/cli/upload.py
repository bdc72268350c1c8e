"""``newsarchive upload DIR --store s3://BUCKET/PREFIX``: send a collection to S3.

Uploads every closed file of the collection folder (WARCs, sidecars,
indexes, Parquet catalog parts) that the store does not hold yet, verifies each one (size and
SHA-256), then deletes the local copy unless ``--keep-local``. Safe to
interrupt and run again: it resumes where it stopped.

Exit codes: 0 everything is stored; 3 a storage problem (the message says
what to do; files not yet stored stay in the folder); 2 a usage mistake.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from newsarchive import settings as defaults
from newsarchive.cli.common import add_s3_options, print_json
from newsarchive.exceptions import ConfigError, TransientStorageError
from newsarchive.store.keys import FOLDERS

MiB = 1024 * 1024


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``upload`` verb."""
    p = sub.add_parser(
        "upload",
        help="upload a collection folder's closed files to S3, verified; resumes",
        description="Upload every closed WARC, sidecar, index and catalog file of a collection "
        "folder to s3://BUCKET/PREFIX (keys PREFIX/warc/YYYY/MM/DD/FILE, .../sidecars/..., "
        ".../indexes/..., and PREFIX/catalog/collection=NAME/date=YYYY-MM-DD/part-FILE.parquet "
        "as in the folder, so query engines see the partitions), verify size and SHA-256, "
        "then delete the local copies unless --keep-local. Interrupted runs resume. Credentials and region come from boto3's "
        "standard chain (AWS_PROFILE, AWS_ACCESS_KEY_ID, ~/.aws). Exit codes: 0 all stored, "
        "3 a storage problem (files stay in the folder), 2 a usage mistake.",
    )
    p.add_argument("collection", metavar="DIR", help="collection folder (has warc/, sidecars/...)")
    p.add_argument(
        "--store", required=True, metavar="URI",
        help="s3://BUCKET/PREFIX/COLLECTION (s3://BUCKET alone appends the folder's name), "
        "or a local folder",
    )
    add_s3_options(p)
    p.add_argument("--part-size", type=int, metavar="MIB",
                   default=defaults.STORE_PART_SIZE // MiB,
                   help="multipart part size in MiB, at least 5 (default: %(default)s)")
    p.add_argument("--concurrency", type=int, default=defaults.STORE_CONCURRENCY,
                   help="parts in flight at once (default: %(default)s)")
    p.add_argument("--keep-local", action="store_true",
                   help="keep local copies after a verified upload")
    p.add_argument("--json", action="store_true", help="print the summary as JSON on stdout")
    p.set_defaults(func=run)


class _UploadProgress:
    """Feeds the uploader's running report to the shared progress display."""

    def __init__(self) -> None:
        from newsarchive.progress import Progress

        self.report: Any = None
        self.display = Progress("upload", unit="files", detail=self._detail, rate=False)

    def _detail(self, _progress: object) -> str:
        r = self.report  # UploadReport
        if r is None:
            return ""
        return (f"{r.bytes_sent / 1e6:.1f}/{r.bytes_total / 1e6:.1f} MB | "
                f"{r.mb_per_s:.1f} MB/s | {r.failed} errors")

    def __call__(self, report: Any) -> None:
        self.report = report
        self.display.update(report.uploaded + report.existed, report.files_total or None)


def run(args: argparse.Namespace) -> int:
    """Upload, print the summary; raise StorageError if anything is left behind."""
    from newsarchive.store import store_for
    from newsarchive.store.uploader import Uploader, UploadOptions, collection_uri

    collection = Path(args.collection)
    if not collection.is_dir():
        raise ConfigError(f"{collection}: no such folder; give a collection folder")
    if not any((collection / folder).is_dir() for folder in FOLDERS.values()):
        raise ConfigError(
            f"{collection} is not a collection folder (no warc/, sidecars/, indexes/ or catalog/ in it)"
        )
    options = UploadOptions(
        part_size=args.part_size * MiB,
        concurrency=args.concurrency,
        keep_local=args.keep_local,
        max_attempts=defaults.STORE_MAX_ATTEMPTS,
        retries=defaults.STORE_RETRIES,
        backoff=defaults.STORE_RETRY_BACKOFF,
        timeout=defaults.STORE_TIMEOUT,
    )
    uri = collection_uri(args.store, collection)
    store = store_for(uri, endpoint_url=args.endpoint_url, region=args.region,
                      **options.store_options())
    progress = _UploadProgress()
    try:
        with Uploader(collection, store, options, on_progress=progress) as uploader:
            report = uploader.run(scan=True)
        progress(report)
    finally:
        progress.display.close()
    summary = report.as_dict()
    summary["store"] = uri
    if args.json:
        print_json(summary)
    else:
        print(
            f"{report.uploaded} uploaded, {report.existed} already stored, "
            f"{report.removed} local copies removed, {report.failed} failed, "
            f"{report.pending} left to upload; {report.bytes_sent / 1e6:.1f} MB in "
            f"{report.seconds:.1f} s ({report.mb_per_s:.1f} MB/s) -> {uri}"
        )
    if report.pending:
        last = report.errors[-1] if report.errors else "interrupted"
        raise TransientStorageError(
            f"{report.pending} file(s) not uploaded yet (last error: {last}); "
            f"run `newsarchive upload {collection} --store {args.store}` again"
        )
    return 0
