"""Ad slots and related rails are found as data and cut from the tree."""

from __future__ import annotations

from pathlib import Path

from newsarchive.extract import boilerplate
from newsarchive.extract.decode import decode_body, parse_html

DATA = Path(__file__).parent / "data"


def _tree(name: str):
    return parse_html(decode_body((DATA / name).read_bytes()))


def test_ad_labels_and_ad_classes_are_slots() -> None:
    tree = _tree("wire-story/yahoo.html")
    ads = boilerplate.find_ads(tree, "http://news.example.com/news/x.html")
    labels = [ad["text"] for _, ad in ads]
    assert labels.count("ADVERTISEMENT") == 2
    boilerplate.strip([node for node, _ in ads])
    assert "ADVERTISEMENT" not in tree.text_content()


def test_latest_stories_rail_items_have_titles_urls_summaries() -> None:
    tree = _tree("wire-story/yahoo.html")
    rails = boilerplate.find_related(tree, "http://news.example.com/news/x.html")
    items = [i for _, block in rails for i in block]
    first = items[0]
    assert first["title"].startswith("3 Things the Middle Class")
    assert first["url"].startswith("http://news.example.com/news/3-things")
    assert first["summary"].startswith("One of the cornerstones")
    assert first["section"] == "Latest Stories"


def test_inline_teaser_is_related_and_story_paragraphs_are_not() -> None:
    tree = _tree("extract/blog-template.html")
    rails = boilerplate.find_related(tree, "https://coast.example/2023/05/04/harbour-ferry/")
    titles = [i["title"] for _, block in rails for i in block]
    assert "Bridge plan would cost twice the first estimate" in titles
    assert "Fish market reopens after the winter storms" in titles
    boilerplate.strip([node for node, _ in rails])
    assert "ninety years" in tree.text_content()  # the story is left alone


GPT_PAGE = b"""<html><body><article>
<p>The council met on Tuesday to discuss the harbour budget for the coming year.</p>
<div id="div-gpt-ad-top"><script>googletag.cmd.push(function(){googletag.display('top')});
</script></div>
<p>Members agreed to spend more on dredging and less on new moorings this time.</p>
<div class="ad-slot"><span>Advertisement</span><svg><path d="M0 0"/></svg></div>
<section><h2>Latest Stories</h2><ul>
<li><a href="/a.html">Ferry timetable changes for the summer season</a></li>
<li><a href="/b.html">New lighthouse keeper starts work next month</a></li>
</ul><form><input name="q"></form></section>
<div class="ad-slot">Advertisement</div>
</article></body></html>"""


def test_slots_ending_in_a_script_or_form_do_not_hide_the_rest_of_the_page() -> None:
    # Found blocks are skipped up to their last element; a script, icon or form there
    # once left the scan skipping to the end of the page.
    found = boilerplate.scan(parse_html(decode_body(GPT_PAGE)), "http://harbour.example/x.html")
    assert len(found.ads) == 3
    assert [i["title"] for _, items in found.related for i in items] == [
        "Ferry timetable changes for the summer season",
        "New lighthouse keeper starts work next month",
    ]
