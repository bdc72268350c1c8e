"""Bytes to an lxml tree: the first stage of extraction.

The charset is taken, in order, from a byte-order mark, the HTTP
``Content-Type`` header, the page's own ``<meta charset>`` (or
``http-equiv``), and last from statistical detection (charset-normalizer).
A declared charset that does not decode the bytes is ignored rather than
trusted: servers and templates often lie ("ISO-8859-1" on UTF-8 bytes), and a
strict decode tells the lie apart cheaply.
"""

from __future__ import annotations

import codecs
import logging
import re
import threading

from lxml import etree
from lxml import html as lxml_html
from lxml.etree import _Element as Element

from newsarchive.exceptions import ExtractionError

logger = logging.getLogger(__name__)

_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_HEADER_CHARSET = re.compile(r"charset\s*=\s*[\"']?([\w.:-]+)", re.IGNORECASE)
_META_CHARSET = re.compile(
    rb"<meta[^>]+charset\s*=\s*[\"']?\s*([\w.:-]+)", re.IGNORECASE
)
# Control bytes other than tab/newline/CR/form feed: text pages barely have any.
_BINARY = re.compile(rb"[\x00-\x08\x0e-\x1a\x1c-\x1f]")
_SNIFF = 4096  # the meta charset must be in the first bytes, as browsers require
MAX_BYTES = 20_000_000  # bigger than any news page; bounds parse time and memory


def _codec(name: str | None) -> str | None:
    """The Python codec for a charset label, or None when unknown."""
    if not name:
        return None
    try:
        found = codecs.lookup(name.strip().lower()).name
    except LookupError:
        return None
    # Browsers read pages labelled Latin-1 as windows-1252 (WHATWG encoding spec).
    return "cp1252" if found in {"latin-1", "iso8859-1", "ascii"} else found


def charset_candidates(body: bytes, content_type: str | None) -> list[str]:
    """Charsets to try, most trusted first (BOM, header, meta)."""
    found: list[str] = []
    for bom, name in _BOMS:
        if body.startswith(bom):
            found.append(name)
            break
    if content_type:
        m = _HEADER_CHARSET.search(content_type)
        if m:
            found.append(m.group(1))
    meta = _META_CHARSET.search(body[:_SNIFF])
    if meta:
        found.append(meta.group(1).decode("ascii", "replace"))
    out: list[str] = []
    for name in found:
        codec = _codec(name)
        if codec and codec not in out:
            out.append(codec)
    return out


def decode_body(body: bytes | str, content_type: str | None = None) -> str:
    """The page as text; raises :class:`ExtractionError` for binary or empty input."""
    if isinstance(body, str):
        text = body
    else:
        if len(body) > MAX_BYTES:
            raise ExtractionError(
                f"page is {len(body)} bytes, more than the {MAX_BYTES} an HTML page may have"
            )
        if not body.strip():
            raise ExtractionError("page is empty: nothing to extract")
        text = ""
        for codec in charset_candidates(body, content_type):
            try:
                text = body.decode(codec)
                break
            except (UnicodeDecodeError, LookupError):
                logger.debug("declared charset %s does not decode the page", codec)
        if not text:
            text = _detect(body)
    text = text.lstrip("\ufeff")
    if not text.strip():
        raise ExtractionError("page is empty: nothing to extract")
    sample = text[:_SNIFF].encode("utf-8", "replace")
    if len(_BINARY.findall(sample)) > len(sample) // 50 or "<" not in text[:_SNIFF * 4]:
        raise ExtractionError("page is not HTML (binary or plain data): nothing to extract")
    return text


def _detect(body: bytes) -> str:
    """Decode with UTF-8 when it fits, else with the detected charset."""
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes  # only pages that need it pay the import

    best = from_bytes(body[:200_000]).best()
    codec = _codec(best.encoding) if best is not None else None
    return body.decode(codec or "cp1252", errors="replace")


_local = threading.local()
# C0 controls other than tab, newline and carriage return: XML 1.0 text excludes them.
_NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]+")
_NOT_XML_BYTES = bytes(c for c in range(0x20) if c not in (0x09, 0x0A, 0x0D))


def xml_safe(text: str) -> str:
    """``text`` with control characters turned into spaces (vertical tab and form
    feed are whitespace in HTML; the rest has no business in a page).

    libxml2's HTML parser keeps them, but lxml refuses them the moment anyone
    (trafilatura, our own :func:`boilerplate.strip`) sets an element's text.
    The regex runs only when a cheaper byte-level check in C finds one.
    """
    raw = text.encode("utf-8", "surrogatepass")
    if len(raw.translate(None, _NOT_XML_BYTES)) == len(raw):
        return text
    return _NOT_XML.sub(" ", text)


def _parser() -> lxml_html.HTMLParser:
    """This thread's parser (lxml parsers must not be shared between threads)."""
    parser: lxml_html.HTMLParser | None = getattr(_local, "parser", None)
    if parser is None:
        # lxml.html elements, as trafilatura works on that class (text_content()...);
        # comments and processing instructions go at parse time, in C.
        parser = lxml_html.HTMLParser(remove_comments=True, remove_pis=True,
                                      collect_ids=False, default_doctype=False)
        # Every element an HtmlElement, chosen in C: lxml.html's own lookup runs a
        # Python method each time an element is touched (a tenth of extraction time)
        # only to give forms and inputs their own classes, which nothing here uses.
        parser.set_element_class_lookup(etree.ElementDefaultClassLookup(
            element=lxml_html.HtmlElement, comment=lxml_html.HtmlComment,
            pi=lxml_html.HtmlProcessingInstruction, entity=lxml_html.HtmlEntity))
        _local.parser = parser
    return parser


def parse_html(text: str) -> Element:
    """Parse decoded HTML into a tree; broken markup is repaired, never fatal."""
    # lxml refuses str input that carries an XML encoding declaration.
    text = re.sub(r"^\s*<\?xml[^>]*\?>", "", text, count=1)
    text = xml_safe(text)
    try:
        tree = lxml_html.document_fromstring(text, parser=_parser())
    except (etree.ParserError, etree.XMLSyntaxError, ValueError) as exc:
        raise ExtractionError(f"page cannot be parsed as HTML: {exc}") from None
    if tree is None or tree.find("body") is None and len(tree) == 0:
        raise ExtractionError("page has no HTML body: nothing to extract")
    return tree
