"""The story filter: headline, promos, link rows and comment tails leave the text."""

from __future__ import annotations

from newsarchive.extract.decode import parse_html
from newsarchive.extract.story import Block, extract_story, filter_paragraphs

LONG = " ".join(["The council voted on the harbour plan after a debate that ran past midnight."] * 3)


def test_filter_drops_headline_promos_link_rows_and_comments() -> None:
    blocks = [
        Block("Harbour vote", "head", rend="h1"),
        Block(LONG, "p"),
        Block("Sign up for our daily newsletter", "p"),
        Block("Fish market reopens after storms", "item", link_chars=32),
        Block(LONG.upper(), "p"),
        Block("3 Comments", "head"),
        Block("Great article, thanks for writing it up so clearly for us all.", "p"),
    ]
    assert filter_paragraphs(blocks, "Harbour vote") == [LONG, LONG.upper()]


def test_json_ld_article_body_is_the_last_resort() -> None:
    tree = parse_html("<html><body><p>x</p></body></html>")
    story = extract_story(tree, "https://x.example/", None, "First paragraph. " * 10 + "\n\nSecond.")
    assert story.method == "json-ld" and story.paragraphs[-1] == "Second."
