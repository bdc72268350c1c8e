"""Decoding bytes to a tree: charsets from header, meta, BOM and detection."""

from __future__ import annotations

import pytest

from newsarchive.exceptions import ExtractionError
from newsarchive.extract.decode import decode_body, parse_html

PAGE = "<html><head>{meta}</head><body><p>Zürich café — “quoted”</p></body></html>"


def test_header_charset_wins_over_meta() -> None:
    body = PAGE.format(meta='<meta charset="utf-8">').encode("cp1252")
    assert "Zürich café" in decode_body(body, "text/html; charset=windows-1252")


def test_meta_charset_used_without_header() -> None:
    body = PAGE.format(meta='<meta charset="windows-1252">').encode("cp1252")
    assert "“quoted”" in decode_body(body)


def test_wrong_declared_charset_falls_back_to_what_decodes() -> None:
    # Declared UTF-8, actually Windows-1252: the strict decode fails, detection reads it.
    body = PAGE.format(meta='<meta charset="utf-8">').encode("cp1252")
    assert "Zürich" in decode_body(body, "text/html; charset=utf-8")


def test_utf8_bom_without_declaration() -> None:
    body = b"\xef\xbb\xbf" + PAGE.format(meta="").encode("utf-8")
    text = decode_body(body)
    assert text.startswith("<html>") and "café" in text


@pytest.mark.parametrize(
    "body",
    [b"", b"   \n ", bytes(range(256)) * 40, b"\x89PNG\r\n\x1a\n" + b"\x00\x01" * 500],
)
def test_empty_or_binary_input_is_a_one_line_error(body: bytes) -> None:
    with pytest.raises(ExtractionError) as err:
        decode_body(body)
    assert "\n" not in str(err.value)


def test_truncated_markup_still_parses() -> None:
    tree = parse_html("<html><body><div><p>Half a sto")
    assert tree.find("body").text_content() == "Half a sto"
