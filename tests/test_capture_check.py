"""``newsarchive warc check``: whole files pass, every kind of damage is named."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from newsarchive.capture.check import check_path
from newsarchive.cli.main import main

DATA = Path(__file__).parent / "data" / "warc"


def test_good_file_passes_with_record_counts() -> None:
    report = check_path(str(DATA / "good.warc.gz"))
    assert report.ok, report.errors
    assert report.records == 5
    assert report.types == {"warcinfo": 1, "response": 2, "request": 2}


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("truncated.warc.gz", "gzip member cut off"),
        ("bad-digest.warc.gz", "digest failed"),
        ("corrupt-gzip.warc.gz", "corrupt gzip data"),
        ("not-a-warc.warc.gz", "not a WARC"),
    ],
)
def test_damaged_files_fail_with_the_reason(name: str, expected: str) -> None:
    report = check_path(str(DATA / name))
    assert not report.ok
    assert any(expected in e for e in report.errors), report.errors


def test_warcio_check_alone_misses_a_cut_off_member() -> None:
    # Why we walk gzip members ourselves: warcio accepts the truncated file.
    warcio = Path(sys.executable).with_name("warcio")
    done = subprocess.run([str(warcio), "check", str(DATA / "truncated.warc.gz")], check=False)
    assert done.returncode == 0
    assert not check_path(str(DATA / "truncated.warc.gz")).ok


def test_cli_prints_a_table_and_exits_1_on_any_fault(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["warc", "check", str(DATA / "good.warc.gz"), str(DATA / "truncated.warc.gz")])
    out = capsys.readouterr().out
    assert code == 1
    assert "good.warc.gz" in out and " ok" in out
    assert "FAULT: offset" in out


def test_cli_on_a_folder_checks_every_warc(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.warc.gz").write_bytes((DATA / "good.warc.gz").read_bytes())
    (tmp_path / "notes.txt").write_text("not a warc")
    assert main(["warc", "check", "--json", str(tmp_path)]) == 0
    assert '"records": 5' in capsys.readouterr().out


def test_cli_missing_path_is_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code = main(["warc", "check", str(tmp_path / "nope.warc.gz")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip().count("\n") == 0 and "no such file" in err


# -- records written here: what the standard allows, and what it does not ------------

def _record(block: bytes, *, kind: str = "response", digest: bool = True,
            extra: tuple[tuple[str, str], ...] = (), uri: str = "http://example.com/",
            content_type: str = "application/http; msgtype=response") -> bytes:
    """One uncompressed WARC/1.1 record around ``block``."""
    import uuid

    from newsarchive.capture.records import sha1_digest

    headers = [("WARC-Type", kind), ("WARC-Record-ID", f"<urn:uuid:{uuid.uuid4()}>"),
               ("WARC-Date", "2026-01-01T00:00:00Z"), ("WARC-Target-URI", uri),
               ("Content-Type", content_type), *extra]
    if digest:
        headers.append(("WARC-Block-Digest", sha1_digest(block)))
    headers.append(("Content-Length", str(len(block))))
    head = "".join(f"{k}: {v}\r\n" for k, v in headers).encode("utf-8")
    return b"WARC/1.1\r\n" + head + b"\r\n" + block + b"\r\n\r\n"


def _warc(tmp_path: Path, *records: bytes, name: str = "t.warc.gz") -> str:
    from newsarchive.capture.writer import gzip_member

    path = tmp_path / name
    path.write_bytes(b"".join(gzip_member(r, 6) for r in records))
    return str(path)


OK_PAGE = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 5\r\n\r\nhello"


def test_missing_digests_are_notes_and_strict_makes_them_faults(tmp_path: Path) -> None:
    path = _warc(tmp_path, _record(OK_PAGE, digest=False), _record(OK_PAGE, digest=False))
    report = check_path(path)
    assert report.ok, report.errors
    assert any("no WARC-Block-Digest" in n and "1 more" in n for n in report.summary_notes())
    strict = check_path(path, strict=True)
    assert not strict.ok and "no WARC-Block-Digest" in strict.errors[0]


@pytest.mark.parametrize(
    ("block", "expected"),
    [
        (b"HTTP/1.1 301 Moved\r\nLocation: /x\r\nContent-Length: 358\r\n\r\n",
         "Content-Length is 358 but the body has 0 bytes"),
        (b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * 10_000_000 + b"\r\nContent-Length: 0\r\n\r\n",
         "HTTP header line 2 is 10000009 bytes"),
        (b"HTTP/1.1 OK\r\nContent-Length: 0\r\n\r\n", "bad HTTP status line"),
        (b"HTTP/1.1 200 OK\r\nno colon here\r\nContent-Length: 0\r\n\r\n", "bad HTTP header line 2"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
         "chunked body ends before its last chunk"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhello\r\n0\r\n\r\n",
         "chunk data longer than its size line says"),
    ],
)
def test_inconsistent_http_messages_are_faults(tmp_path: Path, block: bytes, expected: str) -> None:
    report = check_path(_warc(tmp_path, _record(block)))
    assert not report.ok
    assert any(expected in e for e in report.errors), report.errors


@pytest.mark.parametrize(
    "block",
    [
        OK_PAGE,
        b"HTTP/1.1 304 Not Modified\r\nContent-Length: 120\r\n\r\n",  # no body by definition
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n0\r\nA: b\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nX-Folded: a\r\n  b\r\nContent-Length: 2\r\n\r\nhi",
    ],
)
def test_consistent_http_messages_pass(tmp_path: Path, block: bytes) -> None:
    report = check_path(_warc(tmp_path, _record(block)))
    assert report.ok, report.errors


def test_payload_digest_of_the_dechunked_body_is_accepted(tmp_path: Path) -> None:
    from newsarchive.capture.records import sha1_digest

    block = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
    good = _record(block, extra=(("WARC-Payload-Digest", sha1_digest(b"hello")),))
    wrong = _record(block, extra=(("WARC-Payload-Digest", sha1_digest(b"jello")),))
    assert check_path(_warc(tmp_path, good)).ok
    report = check_path(_warc(tmp_path, wrong, name="w.warc.gz"))
    assert not report.ok and "payload digest failed" in report.errors[0]


def test_truncated_record_is_a_note_not_a_fault(tmp_path: Path) -> None:
    block = b"HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\nonly part"
    report = check_path(_warc(tmp_path, _record(block, extra=(("WARC-Truncated", "length"),))))
    assert report.ok, report.errors
    assert any("WARC-Truncated" in n for n in report.notes)


def test_old_form_sidecar_records_are_noted(tmp_path: Path) -> None:
    from newsarchive.capture.records import own_uri

    sidecar_type = 'application/json; profile="newsarchive.sidecar/1"'
    old = _record(b"{}", kind="metadata", content_type=sidecar_type)
    new = _record(b"{}", kind="metadata", content_type=sidecar_type,
                  uri=own_uri("sidecar", "http://example.com/"))
    noted = check_path(_warc(tmp_path, old))
    assert noted.ok and any("old form" in n for n in noted.notes)
    clean = check_path(_warc(tmp_path, new, name="new.warc.gz"))
    assert clean.ok and not clean.notes


def test_lz4_gets_a_clear_line(tmp_path: Path) -> None:
    path = tmp_path / "x.warc.lz4"
    path.write_bytes(b"\x04\x22\x4d\x18" + b"\0" * 40)
    report = check_path(str(path))
    assert report.errors == ["offset 0: LZ4-compressed file: newsarchive (like warcio and pywb) "
                             "reads only uncompressed or gzip-compressed WARC/ARC files; "
                             "decompress it first"]


def test_damage_is_reported_and_reading_resumes_at_the_next_member(tmp_path: Path) -> None:
    from newsarchive.capture.writer import gzip_member

    members = [gzip_member(_record(OK_PAGE), 6) for _ in range(4)]
    broken = bytearray(members[1])
    broken[30:60] = b"\0" * 30
    path = tmp_path / "d.warc.gz"
    path.write_bytes(members[0] + bytes(broken) + members[2] + members[3])
    report = check_path(str(path))
    assert report.records == 3  # the three whole ones
    (error,) = report.errors
    assert error.startswith(f"offset {len(members[0])}: ")
    assert error.endswith(f"reading resumed at offset {len(members[0]) + len(broken)}")


def test_cli_never_prints_negative_sizes_or_warcio_chatter(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    # a record whose Content-Length is 2 bytes short: warcio writes a raw warning to stderr
    record = _record(OK_PAGE)
    bad = record.replace(b"Content-Length: %d" % len(OK_PAGE), b"Content-Length: %d" % (
        len(OK_PAGE) - 2))
    path = tmp_path / "short.warc"
    path.write_bytes(bad + _record(OK_PAGE))
    code = main(["warc", "check", str(path), str(DATA / "not-a-warc.warc.gz")])
    captured = capsys.readouterr()
    assert code == 1
    # stderr: the progress line (when not a terminal) and the summary, nothing of warcio's
    err = captured.err.strip().splitlines()
    assert err[-1] == "2 files checked, 2 with faults"
    assert all(line.startswith("warc check: ") for line in err[:-1]), err
    assert "-0.00" not in captured.out and "offset -" not in captured.out
    assert all(line.isprintable() for line in captured.out.splitlines())
