"""Walking gzip members: where each ends, and whether the last is whole."""

from __future__ import annotations

import io
import os

from newsarchive.capture.gzmembers import iter_members
from newsarchive.capture.writer import gzip_member


def test_members_are_found_at_their_offsets_across_read_chunks() -> None:
    payloads = [os.urandom(n) for n in (10, 70_000, 3, 200_000)]
    members = [gzip_member(p, 6) for p in payloads]
    data = b"".join(members)
    found = list(iter_members(io.BytesIO(data), chunk_size=4096))
    assert [m.complete for m in found] == [True] * 4
    offsets = [0]
    for m in members[:-1]:
        offsets.append(offsets[-1] + len(m))
    assert [m.offset for m in found] == offsets
    assert [m.length for m in found] == [len(m) for m in members]


def test_cut_off_last_member_is_reported_incomplete() -> None:
    members = [gzip_member(os.urandom(5000), 6) for _ in range(3)]
    data = b"".join(members)[:-10]
    found = list(iter_members(io.BytesIO(data)))
    assert [m.complete for m in found] == [True, True, False]
    assert found[-1].offset == len(members[0]) + len(members[1])


def test_garbage_is_reported_not_raised() -> None:
    found = list(iter_members(io.BytesIO(b"this is not gzip at all")))
    assert len(found) == 1 and not found[0].complete and "corrupt" in (found[0].error or "")
