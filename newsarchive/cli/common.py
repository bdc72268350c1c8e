"""Helpers shared by CLI verbs: output, JSON, URL checks."""

from __future__ import annotations

import json
import os
import sys
from typing import Any
from urllib.parse import urlsplit

from newsarchive.exceptions import ConfigError
from newsarchive.store.s3client import check_endpoint_url


def print_json(data: Any) -> None:
    """Machine output for ``--json``: one JSON document on stdout."""
    json.dump(data, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")


def check_url(url: str) -> str:
    """An absolute http(s) URL, or a one-line :class:`ConfigError`."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            f"{url!r} is not a URL to crawl; give an absolute http:// or https:// URL "
            "(or a site file ending in .yaml)"
        )
    return url


def add_s3_options(parser: Any) -> None:
    """``--endpoint-url`` and ``--region``: where ``s3://`` URIs are, for every verb alike."""
    parser.add_argument(
        "--endpoint-url", metavar="URL",
        help="S3-compatible endpoint for s3:// URIs (MinIO, Ceph, R2); default: AWS, or "
        "AWS_ENDPOINT_URL_S3",
    )
    parser.add_argument("--region", help="S3 region (default: boto3's configuration)")


def apply_s3_options(args: Any) -> None:
    """Make ``--endpoint-url``/``--region`` boto3's configuration for this run.

    Verbs that read a collection reach S3 through three clients: our store
    helpers (boto3), pyarrow's S3 filesystem (``query``) and pywb in a child
    process (``replay``). boto3's standard environment variables are the one
    setting all three honour, so the options are put there, once, before any
    of them starts.
    """
    if getattr(args, "endpoint_url", None):
        os.environ["AWS_ENDPOINT_URL_S3"] = check_endpoint_url(args.endpoint_url)
    if getattr(args, "region", None):
        os.environ["AWS_REGION"] = os.environ["AWS_DEFAULT_REGION"] = args.region


def add_store_options(parser: Any) -> None:
    """``--store`` and its companions, shared by ``crawl`` and ``demo``."""
    parser.add_argument(
        "--store",
        metavar="s3://BUCKET/PREFIX/COLLECTION",
        help="also upload closed WARC, sidecar, index and catalog files to this S3 (or "
        "S3-compatible) location; the --out folder is the local spool",
    )
    add_s3_options(parser)
    parser.add_argument(
        "--keep-local", action="store_true", help="keep local copies after a verified upload"
    )


def store_overrides(args: Any) -> dict[str, Any]:
    """Settings for the upload extension from ``--store`` and friends."""
    if not getattr(args, "store", None):
        return {}
    if not str(args.store).startswith("s3://"):
        raise ConfigError(f"--store {args.store!r}: give an s3://BUCKET/PREFIX/COLLECTION URI")
    out: dict[str, Any] = {"STORE_URI": args.store}
    if args.endpoint_url:
        out["STORE_ENDPOINT_URL"] = check_endpoint_url(args.endpoint_url)
    if args.region:
        out["STORE_REGION"] = args.region
    if args.keep_local:
        out["STORE_KEEP_LOCAL"] = True
    return out
