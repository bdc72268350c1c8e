"""Binary and static files of the demo site, built in code: PNG images, a PDF, CSS.

Built rather than shipped so they are valid by construction (a crawler test
checks magic bytes and a WARC test checks payloads byte for byte) and cost
nothing in the repository.
"""

from __future__ import annotations

import struct
import zlib


def png(width: int, height: int, rgb: tuple[int, int, int], stripe: tuple[int, int, int]) -> bytes:
    """A valid RGB PNG: a plain colour with a diagonal stripe, so it is not trivially empty."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = bytearray()
    for y in range(height):
        rows.append(0)  # filter type: none
        for x in range(width):
            rows.extend(stripe if abs(x - y * width // height) < 3 else rgb)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(bytes(rows), 9))
        + chunk(b"IEND", b"")
    )


def pdf(title: str, lines: list[str]) -> bytes:
    """A one-page PDF 1.4 with ``lines`` of Helvetica text and a correct xref table."""

    def escape(s: str) -> str:
        return s.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    text = ["BT /F1 16 Tf 72 740 Td", f"({escape(title)}) Tj", "/F1 11 Tf"]
    for line in lines:
        text.append(f"0 -18 Td ({escape(line)}) Tj")
    text.append("ET")
    stream = "\n".join(text).encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Title (" + escape(title).encode("latin-1") + b") /Producer (newsarchive demo site) >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref_at = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R /Info 6 0 R >>\n" % (len(objects) + 1)
    out += b"startxref\n%d\n%%%%EOF\n" % xref_at
    return bytes(out)


STYLESHEET = """\
/* The Loopback Courier -- demo site styles */
body { font-family: Georgia, serif; margin: 0; color: #222; background: #fafafa; }
.masthead, .c-header { background: #0b3d5c; color: #fff; padding: 8px 16px; }
.masthead a, .c-header a { color: #fff; margin-right: 12px; text-decoration: none; }
main, .l-main { display: flex; gap: 24px; max-width: 1080px; margin: 0 auto; padding: 16px; }
article, .c-article { flex: 3; }
aside, .l-col--rail { flex: 1; font-size: 0.9em; }
.ad-slot, .c-promo, .caas-da { background: #eee; color: #888; text-align: center;
  font: 11px sans-serif; padding: 24px 0; margin: 16px 0; letter-spacing: 0.1em; }
.byline, .c-byline { color: #555; font-style: italic; }
figure img, .c-media img { max-width: 100%; }
footer, .c-footer { border-top: 1px solid #ccc; padding: 16px; font-size: 0.8em; }
.pagination a { margin-right: 8px; }
"""

LOGO_PNG = png(120, 30, (11, 61, 92), (255, 255, 255))
PHOTO_PNG = png(64, 40, (120, 144, 156), (236, 239, 241))
AD_PNG = png(30, 25, (255, 193, 7), (33, 33, 33))
