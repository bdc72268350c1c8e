"""Upload throughput: newsarchive's verified uploader vs plain boto3 ``upload_file``.

Generates a collection (default 500 MB of WARC-sized files) in a temp folder,
starts a local moto S3 server, and uploads the same bytes in one run, with the
same part size and concurrency, in an order that rotates every round:

* ``boto3``: ``client.upload_file`` -- what ``aws s3 cp`` does (CRC32 part
  checksums, botocore's default) -- with nothing recorded and nothing verified;
* ``newsarchive``: the crawl's path. Each file's size, SHA-256 and CRC32 were
  taken while it was written (as the WARC writer does; that CPU time is printed
  separately: it moves to the writer, it does not vanish), recorded in the
  spool, then the multipart upload (CRC32 per part, as boto3; the parts'
  CRC32s checked against the recorded one before completing; conditional
  writes) and the verification of every object (size + S3's composite
  checksum against the one of the checked parts);
* ``newsarchive, pre-pass``: ``newsarchive upload`` of an old folder, whose
  files arrive without digests: each is read and hashed first (overlapping
  the upload of the previous one; the same read takes the CRC32 of each part,
  which its upload sends, so botocore computes none), then the same upload
  and verification.

Prints best and median MB/s (wall clock) and CPU seconds (this process plus
the moto server, and the client's share) of each, and the ratios to boto3
(target: >= 0.90; the exit status is 1 when a median wall ratio misses it). Usage::

    .venv/bin/python benchmarks/upload.py [--size-mb 500] [--file-mb 100]
        [--part-mb 16] [--concurrency 8] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from support import start_moto  # noqa: E402

if TYPE_CHECKING:
    from newsarchive.store.digest import FileDigest

MiB = 1024 * 1024


def _make_collection(root: Path, size_mb: int, file_mb: int
                     ) -> tuple[dict[Path, FileDigest], float]:
    """WARC-like files: incompressible bytes (as gzip output is), IIPC-style names.

    Digests each file as it is written, like the WARC writer; returns the
    digests and the CPU seconds that digesting took.
    """
    from newsarchive.store.digest import RunningDigest

    files: dict[Path, FileDigest] = {}
    digest_cpu = 0.0
    left = size_mb * MiB
    serial = 0
    block = os.urandom(MiB)
    while left > 0:
        size = min(file_mb * MiB, left)
        path = root / "warc" / f"bench-20260315101112000-{serial:05d}-host.warc.gz"
        path.parent.mkdir(parents=True, exist_ok=True)
        running = RunningDigest()
        with path.open("wb") as fh:
            # Vary each MiB so no two parts are equal.
            chunks = [i.to_bytes(8, "big") + serial.to_bytes(8, "big") + block[16:]
                      for i in range(size // MiB)] + [block[: size % MiB]]
            for chunk in chunks:
                fh.write(chunk)
                cpu = time.thread_time()
                running.update(chunk)
                digest_cpu += time.thread_time() - cpu
        files[path] = running.result()
        left -= size
        serial += 1
    return files, digest_cpu


def _cpu(pid: int) -> tuple[float, float]:
    """CPU seconds used so far by this process's threads and by the moto server ``pid``.

    Wall-clock rates swing with other load on a shared machine; CPU seconds
    per MB show the cost of the work itself.
    """
    from newsarchive.fetch.render import procs

    return time.process_time(), procs.cpu_seconds(pid)


def _measure(run: object, pid: int) -> tuple[float, float, float]:
    """(wall seconds, CPU seconds of client and server, of the client alone) of ``run()``."""
    client, server = _cpu(pid)
    wall = run()  # type: ignore[operator]
    client_after, server_after = _cpu(pid)
    return wall, client_after - client + server_after - server, client_after - client


def _ours(files: dict[Path, FileDigest] | None, coll: Path, bucket: str, endpoint: str,
          part: int, conc: int) -> float:
    """newsarchive's uploader; ``files`` with their writer's digests, or ``None``: pre-pass."""
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
        for path, digest in (files or {}).items():
            uploader.enqueue(path, "warc", digest)  # what file_closed hands over
        report = uploader.run(scan=files is None)
    seconds = time.perf_counter() - start
    if report.failed or report.pending or report.uploaded != len(list((coll / "warc").iterdir())):
        raise SystemExit(f"newsarchive upload incomplete: {report.as_dict()}")
    return seconds


def _plain(files: dict[Path, FileDigest], bucket: str, endpoint: str, part: int, conc: int) -> float:
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


def _summary(name: str, total: float, runs: list[tuple[float, float, float]]) -> str:
    walls = sorted(r[0] for r in runs)
    cpus = sorted(r[1] for r in runs)
    client = statistics.median(r[2] for r in runs)
    return (f"{name:<28}: best {total / walls[0]:6.1f} MB/s, median "
            f"{total / statistics.median(walls):6.1f} MB/s; CPU client+server best "
            f"{cpus[0]:5.2f} s, median {statistics.median(cpus):5.2f} s (client {client:4.2f} s)")


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; print MB/s, CPU seconds and the ratios."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--size-mb", type=int, default=500, help="collection size (default 500)")
    p.add_argument("--file-mb", type=int, default=100, help="size of each WARC file")
    p.add_argument("--part-mb", type=int, default=16, help="multipart part size (MiB)")
    p.add_argument("--concurrency", type=int, default=8, help="parts in flight per file")
    p.add_argument("--rounds", type=int, default=3, help="runs of each, order rotating")
    args = p.parse_args(argv)

    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    proc, endpoint = start_moto()
    try:
        import boto3

        bucket = "bench"
        boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket=bucket)
        with tempfile.TemporaryDirectory(prefix="upload-bench-") as tmp:
            coll = Path(tmp) / "bench"
            files, digest_cpu = _make_collection(coll, args.size_mb, args.file_mb)
            total = sum(f.stat().st_size for f in files) / 1e6
            print(f"collection: {len(files)} files, {total:.0f} MB; part {args.part_mb} MiB, "
                  f"concurrency {args.concurrency}; moto at {endpoint}; {args.rounds} rounds")
            conf = (bucket, endpoint, args.part_mb, args.concurrency)
            modes: dict[str, Any] = {
                "boto3 upload_file": lambda: _plain(files, *conf),
                "newsarchive (verified)": lambda: _ours(files, coll, *conf),
                "newsarchive, pre-pass": lambda: _ours(None, coll, *conf),
            }
            results: dict[str, list[tuple[float, float, float]]] = {name: [] for name in modes}
            names = list(modes)
            for n in range(args.rounds):
                for name in names[n % len(names):] + names[: n % len(names)]:
                    results[name].append(_measure(modes[name], proc.pid))
                    _empty(bucket, endpoint)
        for name in names:
            print(_summary(name, total, results[name]))
        print(f"{'digest while writing':<28}: {digest_cpu:5.2f} s CPU for {total:.0f} MB "
              "(the writer's cost, not in the newsarchive line)")
        plain = results[names[0]]
        medians = []
        for name in names[1:]:
            ours = results[name]
            best = min(r[0] for r in plain) / min(r[0] for r in ours)
            median = (statistics.median(r[0] for r in plain)
                      / statistics.median(r[0] for r in ours))
            cpu = (statistics.median(r[1] for r in plain)
                   / statistics.median(r[1] for r in ours))
            medians.append(median)
            print(f"ratio {name} / boto3: {best:.2f} best, {median:.2f} median by wall clock "
                  f"(target >= 0.90); {cpu:.2f} by median CPU")
        return 0 if min(medians) >= 0.9 else 1
    finally:
        proc.terminate()
        proc.wait()


if __name__ == "__main__":
    sys.exit(main())
