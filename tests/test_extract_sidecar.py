"""extract_sidecar end to end: templates, languages, non-articles, broken pages."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from newsarchive.exceptions import ExtractionError
from newsarchive.extract import extract_sidecar, validate

DATA = Path(__file__).parent / "data"
YAHOO = DATA / "wire-story" / "yahoo.html"
EXPECTED = json.loads((DATA / "wire-story" / "yahoo.expected.json").read_text(encoding="utf-8"))
CHECKER = Path(__file__).resolve().parent / "tools" / "check_sidecar.py"
CAPTURE = {
    "warc_filename": "newsarchive-20241230-00000.warc.gz",
    "offset": 1234,
    "length": 5678,
    "record_id": "<urn:uuid:12345678-1234-1234-1234-123456789abc>",
    "payload_digest": "sha1:AAAA",
    "fetched_at": "2024-12-30T10:00:00Z",
}


def _page(name: str) -> bytes:
    return (DATA / "extract" / name).read_bytes()


def test_yahoo_wire_story_passes_every_shared_check(tmp_path: Path) -> None:
    sidecar = extract_sidecar(YAHOO.read_bytes(), EXPECTED["url"], capture=CAPTURE)
    validate(sidecar)
    assert sidecar["capture"] == CAPTURE and sidecar["is_article"]
    assert [ad["position"] for ad in sidecar["ads"][:2]] == [4, 9]
    out = tmp_path / "yahoo.json"
    out.write_text(json.dumps(sidecar), encoding="utf-8")
    done = subprocess.run([sys.executable, str(CHECKER), str(DATA / "wire-story" /
                           "yahoo.expected.json"), str(out)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout
    assert "0 failed" in done.stdout


def test_blog_template_story_metadata_ads_related() -> None:
    s = extract_sidecar(_page("blog-template.html"), "https://coast.example/2023/05/04/x/")
    validate(s)
    assert s["title"] == "Harbour town votes to keep its ferry"
    assert s["authors"] == ["Maria Lopez"]
    assert s["published"] == "2023-05-04T09:30:00+02:00"
    assert s["canonical_url"] == "https://coast.example/2023/05/04/harbour-ferry/"
    assert len(s["paragraphs"]) == 5
    for leak in ("Advertisement", "Related", "Tags", "comments", "Most popular", "©"):
        assert leak not in s["text"]
    assert s["ads"][0] == {"text": "Advertisement", "position": 2, "href": None}
    assert {r["section"] for r in s["related"]} == {"Related", "Most popular"}


def test_wire_template_publisher_dateline_and_capture_bound() -> None:
    s = extract_sidecar(_page("wire-template.html"), "https://world.example/world/dock.html",
                        content_type="text/html; charset=ISO-8859-1", capture=CAPTURE)
    validate(s)
    assert s["publisher"] == "Reuters" and s["dateline"] == "ROTTERDAM, Netherlands"
    assert s["authors"] == ["John Roe"]
    # JSON-LD says 2031: later than the capture, so the <time> element is used.
    assert s["published"].startswith("2022-03-01")
    assert s["language"] == "en" and s["language_declared"] == "en-GB"
    assert [r["title"] for r in s["related"]] == [
        "Port congestion eases as ships are rerouted", "Wheat prices climb on supply worries"]
    assert s["related"][0]["summary"] == "Waiting times fell for the first time since autumn."
    assert "Anzeige" not in s["text"] and "Buy shoes" not in s["text"]


def test_german_page_in_windows_1252() -> None:
    s = extract_sidecar(_page("german.html"), "https://tagesblatt.example/lokal/radwege.html")
    validate(s)
    assert s["language"] == "de" and s["language_declared"] == "de-DE"
    assert s["title"] == "Stadtrat beschließt neue Radwege"
    assert s["authors"] == ["Jürgen Müller"]
    assert s["paragraphs"][0].startswith("Der Stadtrat hat am Donnerstag")
    assert "Anzeige" not in s["text"] and "Lesen Sie auch" not in s["text"]
    assert s["related"][0]["url"] == "https://tagesblatt.example/lokal/parkhaus-oeffnet.html"


@pytest.mark.parametrize("name", ["section-front.html", "not-found.html"])
def test_non_article_pages_say_so_instead_of_inventing_a_story(name: str) -> None:
    s = extract_sidecar(_page(name), "https://planet.example/politics/")
    validate(s)
    assert s["is_article"] is False
    # A label, not a filter: what main text the page has stays in the sidecar.
    assert s["text"] == "\n\n".join(s["paragraphs"])


def test_same_wire_story_on_two_templates_has_the_same_fingerprint() -> None:
    a = extract_sidecar(YAHOO.read_bytes(), EXPECTED["url"])
    paragraphs = "".join(f"<p>{p}</p>" for p in EXPECTED["paragraphs"])
    other = (f"<html><body><nav><a href='/'>Home</a></nav><article><h1>{EXPECTED['title']}</h1>"
             f"<div class='ad'>Advertisement</div>{paragraphs}</article></body></html>")
    b = extract_sidecar(other, "https://other.example/belarus.html")
    assert a["fingerprint"] == b["fingerprint"]


def test_fetched_at_argument_bounds_dates() -> None:
    s = extract_sidecar(YAHOO.read_bytes(), EXPECTED["url"],
                        fetched_at=datetime(2024, 12, 1, tzinfo=UTC))
    assert s["published"] is None or s["published"] < "2024-12-01"


def test_truncated_page_gives_a_valid_sidecar() -> None:
    body = YAHOO.read_bytes()[:9000]
    s = extract_sidecar(body, EXPECTED["url"])
    validate(s)
    assert s["is_article"] and s["paragraphs"][0].startswith("TALLINN, Estonia")


def test_wrong_charset_declared_gives_a_valid_sidecar() -> None:
    body = YAHOO.read_bytes().replace(b"charset='utf-8'", b"charset='iso-8859-1'")
    s = extract_sidecar(body, EXPECTED["url"], content_type="text/html; charset=iso-8859-1")
    validate(s)
    assert s["is_article"] and "Belarus" in s["text"]


@pytest.mark.parametrize("body", [b"", b"\x00\xff\x10\x80" * 4000, b"<html><body></body></html>"])
def test_broken_pages_give_a_sidecar_or_one_line_error(body: bytes) -> None:
    try:
        s = extract_sidecar(body, "https://x.example/")
    except ExtractionError as exc:
        assert "\n" not in str(exc)
    else:
        validate(s)
        assert s["is_article"] is False


def test_non_html_content_type_is_refused() -> None:
    with pytest.raises(ExtractionError, match="not HTML"):
        extract_sidecar(b"%PDF-1.7", "https://x.example/a.pdf", content_type="application/pdf")
