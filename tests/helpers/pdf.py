"""Small PDFs built by hand for tests and benchmarks: real text layers, no PDF writer needed.

`make_pdf(["page one text", "page two"])` returns the bytes of a PDF whose pages hold those
texts (Helvetica, one line per text line); `None` for a page makes a page with no text layer,
as a scanned page has. Pages listed in `unreadable` (0-based) have their text compressed with a
filter no reader knows, so reading that page's text fails as a damaged page's does.
"""

from __future__ import annotations


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def _content(text: str) -> bytes:
    commands = ["BT", "/F1 11 Tf", "14 TL", "50 780 Td"]
    for line in text.split("\n"):
        commands.append(f"({_escape(line)}) Tj T*")
    commands.append("ET")
    return "\n".join(commands).encode("latin-1", "replace")


def make_pdf(pages: list[str | None], *, unreadable: tuple[int, ...] = ()) -> bytes:
    """A PDF with one page per item: its text (latin-1 characters), or None for a page without text."""
    page_ids: list[int] = []
    # 1: catalog, 2: pages, 3: font; then for each page a page object and a content stream.
    next_id = 4
    bodies: dict[int, bytes] = {}
    for number, text in enumerate(pages):
        page_id, content_id = next_id, next_id + 1
        next_id += 2
        page_ids.append(page_id)
        stream = _content(text) if text is not None else b""
        bodies[page_id] = (
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
            f"/Resources << /Font << /F1 3 0 R >> >> /Contents {content_id} 0 R >>"
        ).encode()
        unknown_filter = b" /Filter /NoSuchFilter" if number in unreadable else b""
        bodies[content_id] = b"<< /Length %d%s >>\nstream\n" % (len(stream), unknown_filter) + stream + b"\nendstream"
    kids = " ".join(f"{page_id} 0 R" for page_id in page_ids)
    bodies[1] = b"<< /Type /Catalog /Pages 2 0 R >>"
    bodies[2] = f"<< /Type /Pages /Kids [{kids}] /Count {len(page_ids)} >>".encode()
    bodies[3] = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets: dict[int, int] = {}
    for object_id in range(1, next_id):
        offsets[object_id] = len(out)
        out += b"%d 0 obj\n" % object_id + bodies[object_id] + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % next_id
    for object_id in range(1, next_id):
        out += b"%010d 00000 n \n" % offsets[object_id]
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (next_id, xref)
    return bytes(out)
