"""Extraction on page shapes the development pages did not cover: a story the
precise mode misses for a legal notice, non-English news, press releases, a page
of links, keyword lines, company boilerplate. Every page here is written for the
test (no page of the shared benchmark sets)."""

from __future__ import annotations

import pytest

from newsarchive.extract import extract_sidecar, validate
from newsarchive.extract.story import DEFAULT, implausibly_short, keyword_line

NOTICE = ("This copy is for your personal, non-commercial use only. Its distribution and use are "
          "governed by our subscriber terms and by copyright law. To order presentation-ready "
          "copies for distribution to your colleagues, clients or customers, or for any other use, "
          "contact our reprints desk or use the order form on our licensing page.")
STORY = [
    "Shares of regional lenders rose on Thursday after the central bank said it would extend a "
    "liquidity window that had been due to close at the end of the quarter, easing worries about "
    "deposit outflows that had weighed on the sector since spring.",
    "Analysts said the decision bought the smaller banks time to reprice their loan books, though "
    "several warned that the underlying squeeze on margins had not gone away and would show up in "
    "the next round of earnings reports. Deposits that left for money-market funds last year have "
    "not come back, they noted, and the banks that lost the most of them are the ones that lean "
    "hardest on the window, which leaves them exposed when it closes for good.",
    "The index of regional bank stocks gained four percent, its best day in two months, while "
    "larger lenders were little changed as investors weighed the longer outlook for rates.",
    "Officials said the window would be reviewed again in the autumn, and that any bank drawing on "
    "it would have to report the amount it borrowed within a week of doing so. The central bank "
    "also asked lenders to submit plans showing how they would manage without it, a request that "
    "several executives described on Thursday as reasonable but that others called a sign the "
    "support would not last beyond the end of the year.",
]


def page(body: str, title: str = "A page", head: str = "") -> str:
    return f"<html><head><title>{title}</title>{head}</head><body>{body}</body></html>"


def test_story_is_kept_when_precision_mode_prefers_a_legal_notice() -> None:
    # The shape of the failure: the page's body sits in one page-wide <form> (as
    # ASP.NET pages have it), which the cleaning before precision mode cuts, and a
    # legal notice long enough to pass for a story sits outside it: precision mode
    # returns the notice alone, and the page's larger blocks must send extraction
    # to the balanced mode.
    paragraphs = "".join(f"<p>{p}</p>" for p in STORY)
    html = page(f"<form id='page' method='post' action='/articles/rally'><header><a href='/'>"
                f"Markets</a></header><main><h1>Regional banks rally</h1>"
                f"<div class='article-body'>{paragraphs}</div></main></form>"
                f"<div class='legal'><p>{NOTICE}</p></div>", title="Regional banks rally")
    s = extract_sidecar(html, "https://markets.example/articles/regional-banks-rally")
    validate(s)
    assert s["paragraphs"] == STORY
    assert s["is_article"] is True


def test_page_of_links_only_is_not_an_article() -> None:
    items = "".join(
        f"<li><a href='/deals/{i}'>Save {10 + i} percent on the model {i} cordless drill kit "
        f"with two batteries and a charger this week</a></li>" for i in range(25))
    html = page(f"<nav><a href='/'>Home</a></nav><main><h1>Today's deals</h1><ul>{items}</ul>"
                "</main>", title="Today's deals")
    s = extract_sidecar(html, "https://shop.example/deals/")
    validate(s)
    assert s["is_article"] is False


GERMAN = [
    "Der Stadtrat von Neustadt hat am Mittwochabend nach langer Debatte beschlossen, die "
    "Brücke über den Mühlbach bis zum Herbst vollständig zu sanieren und den Verkehr so lange "
    "über die Nordstraße umzuleiten.",
    "Die Kosten von rund 2,4 Millionen Euro teilen sich Stadt und Land. Bürgermeisterin Anna "
    "Keller sprach von einer überfälligen Entscheidung, die Opposition kritisierte den Zeitplan "
    "als zu knapp bemessen.",
    "Anwohner hatten sich in den vergangenen Monaten wiederholt über Risse in der Fahrbahn "
    "beschwert. Ein Gutachten bestätigte im Frühjahr erhebliche Schäden an den Pfeilern.",
]
RUSSIAN = [
    "Городская администрация Северска объявила в понедельник о запуске нового автобусного "
    "маршрута, который свяжет спальные районы с промышленной зоной на севере города.",
    "По словам заместителя мэра, автобусы будут ходить каждые двенадцать минут в часы пик, а "
    "стоимость проезда останется прежней. Первые рейсы запланированы на начало следующего месяца.",
    "Жители давно жаловались на переполненные маршрутки и долгие пересадки. Новый маршрут должен "
    "сократить время в пути почти вдвое, подсчитали в транспортном управлении.",
]


def news_page(lang: str, title: str, paragraphs: list[str]) -> str:
    """A news item with no English anywhere and no article metadata to lean on."""
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (f"<html lang='{lang}'><head><title>{title}</title></head><body>"
            f"<nav><a href='/'>Start</a> <a href='/lokal'>Lokal</a></nav>"
            f"<article><h1>{title}</h1><time datetime='2026-03-04'>4.3.2026</time>{body}</article>"
            "<footer><a href='/impressum'>Impressum</a></footer></body></html>")


@pytest.mark.parametrize(("lang", "title", "paragraphs", "url"), [
    ("de", "Mühlbachbrücke wird saniert", GERMAN, "https://neustadt-bote.example/lokal/b.html"),
    ("ru", "В Северске запустят новый автобусный маршрут", RUSSIAN,
     "https://seversk-vesti.example/novosti/avtobus.html"),
])
def test_non_english_news_item_gets_its_text_and_is_an_article(
        lang: str, title: str, paragraphs: list[str], url: str) -> None:
    s = extract_sidecar(news_page(lang, title, paragraphs), url)
    validate(s)
    assert s["paragraphs"] == paragraphs
    assert s["is_article"] is True


RELEASE = [
    "OSLO, Norway -- Fjordlight AS today announced a partnership with three Nordic hospital "
    "groups to equip their wards with low-glare night lighting designed to help patients sleep "
    "through the night without disturbing staff rounds.",
    "The lamps dim automatically after midnight and switch to a warm spectrum when a nurse enters "
    "the room. A pilot at two hospitals last winter cut the number of patients asking for sleeping "
    "aids by a fifth, according to the hospitals' own figures.",
    "Installation starts in the first quarter, with all wards of the three groups due to be fitted "
    "by the end of next year.",
]
ABOUT = ("Fjordlight AS is a lighting company founded in 2011 and based in Oslo. It designs and "
         "makes lighting for hospitals, care homes and schools in eleven countries and employs "
         "about 140 people.")


def test_press_release_keeps_its_text_and_drops_the_company_boilerplate() -> None:
    body = "".join(f"<p>{p}</p>" for p in RELEASE)
    html = page(f"<div class='release'><h1>Fjordlight to light Nordic hospital wards</h1>{body}"
                f"<h3>About Fjordlight</h3><p>{ABOUT}</p>"
                "<p>Keywords: lighting, hospitals, sleep, Nordic</p></div>",
                title="Fjordlight to light Nordic hospital wards")
    s = extract_sidecar(html, "https://newsroom.example/releases/fjordlight-hospitals")
    validate(s)
    assert s["paragraphs"] == RELEASE
    assert "Keywords" not in s["text"]


def test_company_description_without_heading_is_dropped_when_it_names_the_site() -> None:
    body = "".join(f"<p>{p}</p>" for p in RELEASE)
    html = page(f"<article><h1>Fjordlight to light Nordic hospital wards</h1>{body}<p>{ABOUT}</p>"
                "</article>", title="Fjordlight to light Nordic hospital wards")
    s = extract_sidecar(html, "https://www.fjordlight.example/news/hospitals")
    assert s["paragraphs"] == RELEASE


def test_keyword_lines_are_told_from_sentences() -> None:
    assert keyword_line("Tags: Brexit, EU, trade, Northern Ireland")
    assert keyword_line("Schlagwörter: Verkehr; Brücke; Stadtrat")
    assert keyword_line("#harbour #ferry #council")
    assert not keyword_line("Note: the council, the mayor, and the port authority all agreed.")
    assert not keyword_line("The pier, the ferry and the harbour are all in the plan.")


def test_foreign_teaser_lines_are_dropped_in_other_languages() -> None:
    teasers = ["Lea también: El puerto reabre tras la tormenta",
               "Читайте также: В городе открылся новый парк",
               "Auch lesen: Neue Radwege für die Innenstadt"]
    body = "".join(f"<p>{p}</p>" for p in GERMAN[:2]) + "".join(
        f"<p>{t}</p>" for t in teasers) + f"<p>{GERMAN[2]}</p>"
    s = extract_sidecar(news_page("de", "Mühlbachbrücke wird saniert", []).replace(
        "</article>", body + "</article>"), "https://neustadt-bote.example/lokal/b.html")
    assert s["paragraphs"] == GERMAN


def test_control_characters_in_a_page_do_not_stop_extraction() -> None:
    html = page("<article><h1>Bell</h1>" + "".join(
        f"<p>{p[:40]}\x07{p[40:]}\x0b.</p>" for p in STORY) + "</article>")
    s = extract_sidecar(html.encode("utf-8"), "https://x.example/bell")
    validate(s)
    assert len(s["paragraphs"]) == len(STORY) and "\x07" not in s["text"]


def test_result_lacking_the_pages_largest_blocks_is_implausibly_short() -> None:
    largest = sorted(STORY, key=len, reverse=True)[:3]
    assert implausibly_short([NOTICE], largest, None, DEFAULT)
    assert not implausibly_short(STORY, largest, None, DEFAULT)
    # Shorter than the page's own JSON-LD articleBody, whatever the blocks say.
    assert implausibly_short(STORY[:2], [], " ".join(STORY * 2), DEFAULT)
