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


def test_resync_skips_a_corrupt_member_and_finds_the_rest() -> None:
    members = [gzip_member(os.urandom(3000) + b"x" * 3000, 6) for _ in range(5)]
    broken = bytearray(members[2])
    broken[len(broken) // 2: len(broken) // 2 + 40] = b"\0" * 40
    data = b"".join([members[0], members[1], bytes(broken), members[3], members[4]])
    found = list(iter_members(io.BytesIO(data), chunk_size=1000, resync=True))
    assert [m.complete for m in found] == [True, True, False, True, True]
    assert found[2].offset == len(members[0]) + len(members[1])
    assert found[3].offset == found[2].offset + len(broken)
    assert found[4].length == len(members[4])


def test_resync_over_a_cut_member_followed_by_whole_ones() -> None:
    # a member cut short (a kill), then more members appended by a later writer
    members = [gzip_member(os.urandom(8000), 6) for _ in range(3)]
    data = members[0] + members[1][:-300] + members[2]
    found = list(iter_members(io.BytesIO(data), chunk_size=512, resync=True))
    assert [m.complete for m in found] == [True, False, True]
    assert found[2].offset == len(members[0]) + len(members[1]) - 300


def test_garbage_between_members_is_one_damaged_span() -> None:
    members = [gzip_member(b"record %d" % n, 6) for n in range(2)]
    # the magic inside the garbage is not taken for a member: nothing whole inflates from it
    garbage = b"junk\x1f\x8b\x08junk" * 50
    found = list(iter_members(io.BytesIO(members[0] + garbage + members[1]), resync=True))
    assert [(m.complete, m.length) for m in found] == [
        (True, len(members[0])), (False, len(garbage)), (True, len(members[1]))]


def test_kept_data_is_bounded() -> None:
    data = gzip_member(b"a" * 100_000, 6) + gzip_member(b"b" * 10, 6)
    found = list(iter_members(io.BytesIO(data), keep=True, max_data=50_000, resync=True))
    assert not found[0].complete and "more than 50000" in (found[0].error or "")
    assert found[1].complete and found[1].data == b"b" * 10


def test_a_member_inflating_past_the_output_limit_is_followed_by_the_next() -> None:
    """A record of over a megabyte of HTML, with more records behind it in the same
    read: the walk finds its end (it once looped forever there: `extract --jobs 2`
    hung on a WARC of real pages)."""
    import signal

    from newsarchive.capture.gzmembers import CHUNK

    big = b"<p>" + b"a long page " * (CHUNK // 6) + b"</p>"
    assert len(big) > CHUNK
    members = [gzip_member(b"first", 6), gzip_member(big, 6), gzip_member(b"after", 6),
               gzip_member(b"last", 6)]
    blob = b"".join(members)

    def hung(signum: int, frame: object) -> None:
        raise TimeoutError("the walk did not finish")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(60)
    try:
        found = list(iter_members(io.BytesIO(blob), keep=True))
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert [m.data for m in found] == [b"first", big, b"after", b"last"]
    assert [m.length for m in found] == [len(m) for m in members]
    assert all(m.complete for m in found)
