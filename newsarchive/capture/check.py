"""Validating WARC files: gzip members, record structure, both digests.

``warcio check`` verifies digests but passes a file whose last gzip member was
cut off by a kill (the iterator stops quietly at the truncated member). This
check walks the gzip members first (:mod:`newsarchive.capture.gzmembers`), then
reads every record with warcio's digest-verifying iterator, so a file passes
only if it is whole and every digest matches.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import BinaryIO

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed

from newsarchive.capture.gzmembers import iter_members

REQUIRED = ("WARC-Record-ID", "WARC-Date", "WARC-Type", "Content-Length")
NEEDS_TARGET = {"response", "request", "revisit", "resource", "metadata", "conversion"}
MAX_ERRORS = 20


@dataclass
class FileReport:
    """The verdict on one WARC file."""

    name: str
    size: int = 0
    records: int = 0
    types: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when the file has records and no fault."""
        return not self.errors and self.records > 0

    def add_error(self, message: str) -> None:
        """Record a fault (only the first few are kept), printable and short."""
        if len(self.errors) < MAX_ERRORS:
            clean = "".join(c if c.isprintable() else "?" for c in message)
            self.errors.append(clean if len(clean) <= 160 else clean[:157] + "...")

    def as_dict(self) -> dict[str, object]:
        """JSON-friendly form for ``--json``."""
        return {
            "file": self.name,
            "ok": self.ok,
            "size": self.size,
            "records": self.records,
            "types": dict(self.types),
            "errors": self.errors,
        }


def _drain(stream: BinaryIO) -> None:
    while stream.read(1 << 20):
        pass


def check_stream(name: str, open_stream: Callable[[], BinaryIO]) -> FileReport:
    """Check one WARC given a way to open it (twice: members, then records)."""
    report = FileReport(name)
    gzipped = name.endswith(".gz")
    if gzipped:
        with open_stream() as fh:
            for member in iter_members(fh):
                report.size = member.offset + member.length
                if not member.complete:
                    report.add_error(f"offset {member.offset}: {member.error}")
    try:
        with open_stream() as fh:
            iterator = ArchiveIterator(fh, check_digests=True)
            for record in iterator:
                offset = iterator.get_record_offset()
                headers = record.rec_headers
                report.records += 1
                report.types[record.rec_type] += 1
                if record.format != "warc" or headers.protocol not in ("WARC/1.0", "WARC/1.1"):
                    report.add_error(f"offset {offset}: not a WARC/1.0 or WARC/1.1 record")
                    break
                for name_ in REQUIRED:
                    if not headers.get_header(name_):
                        report.add_error(f"offset {offset}: {record.rec_type} lacks {name_}")
                if record.rec_type in NEEDS_TARGET and not headers.get_header("WARC-Target-URI"):
                    report.add_error(f"offset {offset}: {record.rec_type} lacks WARC-Target-URI")
                if record.rec_type in ("response", "request", "revisit", "resource") and not (
                    headers.get_header("WARC-Block-Digest")
                ):
                    report.add_error(f"offset {offset}: {record.rec_type} has no block digest")
                _drain(record.content_stream())
                if record.digest_checker.passed is False:
                    for problem in record.digest_checker.problems:
                        report.add_error(f"offset {offset}: {problem}")
                if not gzipped:
                    report.size = offset + iterator.get_record_length()
    except ArchiveLoadFailed as exc:
        reason = str(exc).strip().split(", first line:")[0]
        report.add_error(f"not a valid WARC: {reason}")
    except (OSError, EOFError, ValueError) as exc:
        report.add_error(f"unreadable: {exc}")
    if report.records == 0 and not report.errors:
        report.add_error("no WARC records in it")
    return report


def check_path(
    path: str, *, endpoint_url: str | None = None, region: str | None = None
) -> FileReport:
    """Check a local file or an ``s3://`` object."""
    if "://" in path:
        from newsarchive.store import open_input  # lazy: boto3 is heavy

        return check_stream(
            path, lambda: open_input(path, endpoint_url=endpoint_url, region=region)
        )
    return check_stream(path, lambda: open(path, "rb"))
