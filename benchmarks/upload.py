"""Upload throughput: newsarchive's verified uploader vs plain boto3 ``upload_file``.

Generates a collection (default 500 MB of WARC-sized files) in a temp folder,
starts a local moto S3 server, and uploads the same bytes twice in one run:

* ``newsarchive``: scan (SHA-256 of every file, recorded in the spool before
  upload), multipart upload with per-part SHA-256 checksums and conditional
  writes, then verification of every object (size + S3's checksum);
* ``boto3``: ``client.upload_file`` with the same part size and concurrency --
  what ``aws s3 cp`` does -- with nothing recorded and nothing verified.

Prints MB/s of each and the ratio (target: >= 0.90). Usage::

    .venv/bin/python benchmarks/upload.py [--size-mb 500] [--file-mb 100]
        [--part-mb 16] [--concurrency 8] [--rounds 1]
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

MiB = 1024 * 1024


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start_moto() -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            urllib.request.urlopen(url + "/", timeout=1).read()
            return proc, url
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("moto server did not start")


def _make_collection(root: Path, size_mb: int, file_mb: int) -> list[Path]:
    """WARC-like files: incompressible bytes (as gzip output is), IIPC-style names."""
    files = []
    left = size_mb * MiB
    serial = 0
    block = os.urandom(MiB)
    while left > 0:
        size = min(file_mb * MiB, left)
        path = root / "warc" / f"bench-20260315101112000-{serial:05d}-host.warc.gz"
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as fh:
            for i in range(size // MiB):
                # Vary each MiB so no two parts are equal.
                fh.write(i.to_bytes(8, "big") + serial.to_bytes(8, "big") + block[16:])
            fh.write(block[: size % MiB])
        files.append(path)
        left -= size
        serial += 1
    return files


def _cpu(pid: int) -> float:
    """CPU seconds used so far by this process's threads plus the moto server ``pid``.

    Wall-clock rates swing with other load on a shared machine; CPU seconds
    per MB show the cost of the work itself.
    """
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        server = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except OSError:
        server = 0.0
    return time.process_time() + server


def _measure(run: object, pid: int) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of ``run()``."""
    cpu = _cpu(pid)
    wall = run()  # type: ignore[operator]
    return wall, _cpu(pid) - cpu


def _ours(coll: Path, bucket: str, endpoint: str, part: int, conc: int) -> float:
    from newsarchive.store import store_for
    from newsarchive.store.uploader import Uploader, UploadOptions

    options = UploadOptions(part_size=part * MiB, concurrency=conc, keep_local=True)
    store = store_for(f"s3://{bucket}/ours/{time.monotonic_ns()}", endpoint_url=endpoint,
                      **options.store_options())
    (coll / "state").mkdir(exist_ok=True)
    for stale in (coll / "state").iterdir():
        stale.unlink()
    start = time.perf_counter()
    with Uploader(coll, store, options) as uploader:
        report = uploader.run(scan=True)
    seconds = time.perf_counter() - start
    if report.failed or report.pending or report.uploaded != len(list((coll / "warc").iterdir())):
        raise SystemExit(f"newsarchive upload incomplete: {report.as_dict()}")
    return seconds


def _plain(files: list[Path], bucket: str, endpoint: str, part: int, conc: int) -> float:
    import boto3
    from boto3.s3.transfer import TransferConfig

    client = boto3.client("s3", endpoint_url=endpoint)
    config = TransferConfig(multipart_threshold=part * MiB, multipart_chunksize=part * MiB,
                            max_concurrency=conc)
    run = time.monotonic_ns()
    start = time.perf_counter()
    for path in files:
        client.upload_file(str(path), bucket, f"plain/{run}/{path.name}", Config=config)
    return time.perf_counter() - start


def _empty(bucket: str, endpoint: str) -> None:
    """Delete what a run stored: moto slows down as it holds more in memory."""
    import boto3

    client = boto3.client("s3", endpoint_url=endpoint)
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for obj in page.get("Contents", []):
            client.delete_object(Bucket=bucket, Key=obj["Key"])


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; print MB/s and the ratio."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--size-mb", type=int, default=500, help="collection size (default 500)")
    p.add_argument("--file-mb", type=int, default=100, help="size of each WARC file")
    p.add_argument("--part-mb", type=int, default=16, help="multipart part size (MiB)")
    p.add_argument("--concurrency", type=int, default=8, help="parts in flight per file")
    p.add_argument("--rounds", type=int, default=1, help="alternate the two this many times")
    args = p.parse_args(argv)

    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    proc, endpoint = _start_moto()
    try:
        import boto3

        bucket = "bench"
        boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket=bucket)
        with tempfile.TemporaryDirectory(prefix="upload-bench-") as tmp:
            coll = Path(tmp) / "bench"
            files = _make_collection(coll, args.size_mb, args.file_mb)
            total = sum(f.stat().st_size for f in files) / 1e6
            print(f"collection: {len(files)} files, {total:.0f} MB; part {args.part_mb} MiB, "
                  f"concurrency {args.concurrency}; moto at {endpoint}")
            ours: list[tuple[float, float]] = []
            plain: list[tuple[float, float]] = []
            conf = (bucket, endpoint, args.part_mb, args.concurrency)
            for n in range(args.rounds):
                order = [("plain", plain), ("ours", ours)]
                for name, results in order if n % 2 == 0 else order[::-1]:
                    if name == "plain":
                        results.append(_measure(lambda: _plain(files, *conf), proc.pid))
                    else:
                        results.append(_measure(lambda: _ours(coll, *conf), proc.pid))
                    _empty(bucket, endpoint)
        (p_wall, p_cpu), (o_wall, o_cpu) = min(plain), min(ours)
        print(f"boto3 upload_file         : {total / p_wall:7.1f} MB/s ({p_wall:.2f} s wall, "
              f"{p_cpu:.2f} s CPU client+server)")
        print(f"newsarchive (hash+verify) : {total / o_wall:7.1f} MB/s ({o_wall:.2f} s wall, "
              f"{o_cpu:.2f} s CPU client+server)")
        ratio = p_wall / o_wall
        print(f"ratio newsarchive / boto3 : {ratio:7.2f} by wall clock (target >= 0.90); "
              f"{p_cpu / o_cpu:.2f} by CPU")
        return 0 if ratio >= 0.9 else 1
    finally:
        proc.terminate()
        proc.wait()


if __name__ == "__main__":
    sys.exit(main())
