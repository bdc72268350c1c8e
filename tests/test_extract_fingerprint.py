"""Story fingerprints: same story on two sites close, different stories far."""

from __future__ import annotations

from pathlib import Path

from newsarchive.extract.fingerprint import distance, same_story, simhash

STORY = " ".join(
    (Path(__file__).parent / "data" / "wire-story" / "yahoo.expected.json").read_text(
        encoding="utf-8").split()[20:600]
)


def test_fingerprint_is_64_bit_hex_and_stable() -> None:
    fp = simhash(STORY)
    assert len(fp) == 16 and int(fp, 16) >= 0
    assert simhash(STORY) == fp


def test_same_story_with_small_edits_is_recognised() -> None:
    edited = "UPDATED 3 PM. " + STORY.replace("Lukashenko", "Lukashenka", 2) + " Copyright AP."
    assert same_story(simhash(STORY), simhash(edited))


def test_different_stories_are_far_apart() -> None:
    other = " ".join(f"word{i} market shares fell on {i} day" for i in range(80))
    assert distance(simhash(STORY), simhash(other)) > 12
    assert not same_story(simhash(STORY), simhash(other))
