"""``--shard K/N``: a stable split of a collection's WARC files among N machines.

``extract`` and ``index`` of a collection run as N independent jobs (a
Kubernetes indexed Job, any batch system): job K of N takes the WARC files
whose name hashes to K, so the N jobs together take every file exactly once,
whichever machine lists the collection and in whatever order. The split is by
the file's *name* (not its path or URI): a collection copied from a folder to
a bucket splits the same way. Every output of ours is per WARC file (its
sidecar files, its CDXJ, its catalog parts), so the shards' outputs never
collide and together are the unsharded result.
"""

from __future__ import annotations

import argparse
import hashlib
import posixpath
from collections.abc import Iterable
from dataclasses import dataclass

from newsarchive.exceptions import ConfigError


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` (0-based) of ``count``."""

    index: int
    count: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        """``"K/N"`` with ``0 <= K < N`` (K as Kubernetes' ``JOB_COMPLETION_INDEX``)."""
        k, sep, n = text.partition("/")
        try:
            shard = cls(int(k), int(n)) if sep else None
        except ValueError:
            shard = None
        if shard is None or shard.count < 1 or not 0 <= shard.index < shard.count:
            raise ConfigError(f"--shard {text!r}: give K/N with 0 <= K < N, e.g. --shard 0/4")
        return shard

    def holds(self, name_or_uri: str) -> bool:
        """Whether the WARC file ``name_or_uri`` (a path or URI: its name counts) is ours."""
        name = posixpath.basename(name_or_uri.replace("\\", "/"))
        value = int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:8], "big")
        return value % self.count == self.index

    def select(self, files: Iterable[str]) -> list[str]:
        """The files of this shard, in their given order."""
        return [f for f in files if self.holds(f)]

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def _shard_arg(text: str) -> Shard:
    try:
        return Shard.parse(text)
    except ConfigError as exc:  # argparse reports it as a usage error (exit 2)
        raise argparse.ArgumentTypeError(str(exc).removeprefix("--shard ")) from None


def add_shard_option(parser: argparse.ArgumentParser) -> None:
    """The ``--shard K/N`` option of ``extract`` and ``index``."""
    parser.add_argument(
        "--shard", type=_shard_arg, default=None, metavar="K/N",
        help="only WARC files of shard K of N (0 <= K < N; a stable split by file name), "
        "so N machines share the work, e.g. --shard $JOB_COMPLETION_INDEX/4; the outputs "
        "of the N shards together are those of one unsharded run",
    )
