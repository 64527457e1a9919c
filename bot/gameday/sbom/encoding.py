"""An SBOM's bytes as text: UTF-8, or any Unicode encoding its byte-order mark names (tools on Windows
write UTF-16 with one; some editors put a UTF-8 mark first). XML may also name its encoding."""

from __future__ import annotations

import codecs
import re

from bot.gameday.sbom.model import SbomError

MARKS = (  # the longest first: UTF-32 LE's mark begins with UTF-16 LE's
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
XML_ENCODING = re.compile(rb"""<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]{1,40})["']""")


def decode(raw: bytes) -> str:
    """The text, without its byte-order mark; SbomError when it is not text in a known encoding."""
    for mark, encoding in MARKS:
        if raw.startswith(mark):
            return _decoded(raw[len(mark) :], encoding)
    if len(raw) >= 2 and (raw[0] == 0 or raw[1] == 0):  # UTF-16 or UTF-32 without a mark
        raise SbomError(
            "is UTF-16 or UTF-32 text without a byte-order mark: save it as UTF-8 (or with a byte-order mark)"
        )
    declared = XML_ENCODING.match(raw.lstrip()[:200])
    return _decoded(raw, declared[1].decode("ascii").lower() if declared else "utf-8")


def _decoded(raw: bytes, encoding: str) -> str:
    try:
        return raw.decode(encoding)
    except LookupError:
        raise SbomError(f"declares the encoding {encoding}, which is not known") from None
    except UnicodeDecodeError as exc:
        named = encoding.upper().replace("-LE", " LE").replace("-BE", " BE")
        raise SbomError(f"is not {named} text (a wrong byte at offset {exc.start})") from None
