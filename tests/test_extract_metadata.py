"""Metadata: authors without "By", dates bounded by capture time, datelines, language."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from newsarchive.extract.decode import parse_html
from newsarchive.extract.metadata import (
    extract_metadata,
    find_dateline,
    normalize_language,
    split_authors,
)


def test_byline_names_lose_by_and_all_caps() -> None:
    assert split_authors("By JANE DOE and John Roe") == ["Jane Doe", "John Roe"]
    assert split_authors("Von Jürgen Müller") == ["Jürgen Müller"]


@pytest.mark.parametrize(("byline", "names"), [
    ("By Björn Virtanen and Esther Moreau January 9, 2026, 9:27 PM UTC",
     ["Björn Virtanen", "Esther Moreau"]),
    ("Jane Doe 9 janvier 2026", ["Jane Doe"]),
    ("By Ann Lee, 2026-01-09 10:00", ["Ann Lee"]),
    ("Jane Doe Updated 3 hours ago", ["Jane Doe"]),
    ("By JOHN ROE | Reuters", ["John Roe"]),
])
def test_byline_sharing_an_element_with_the_date_gives_names_only(
    byline: str, names: list[str]
) -> None:
    assert split_authors(byline) == names


def test_wire_dateline_gives_place_and_wire_service() -> None:
    assert find_dateline("TALLINN, Estonia (AP) — Belarus’ leader ...") == (
        "TALLINN, Estonia", "The Associated Press")
    assert find_dateline("WASHINGTON (Reuters) - The U.S. ...") == ("WASHINGTON", "Reuters")
    assert find_dateline("The council voted - again - on Tuesday.") == (None, None)


def test_dates_after_capture_are_not_publication_dates() -> None:
    tree = parse_html(
        '<html lang="pt_BR"><head><script type="application/ld+json">'
        '{"@type":"NewsArticle","headline":"H","datePublished":"2030-01-01T00:00:00Z"}'
        '</script></head><body><time datetime="2021-06-01T10:00:00Z">1 June</time></body></html>'
    )
    md = extract_metadata(tree, "https://x.example/a", datetime(2022, 1, 1, tzinfo=UTC))
    assert md.published == "2021-06-01T10:00:00+00:00"
    assert md.language == "pt-BR"
    assert extract_metadata(tree, "https://x.example/a", None).published.startswith("2030")


def test_language_tags_are_bcp47() -> None:
    assert normalize_language("EN_us") == "en-US"
    assert normalize_language("zh-hant-tw") == "zh-Hant-TW"
    assert normalize_language("???") is None
