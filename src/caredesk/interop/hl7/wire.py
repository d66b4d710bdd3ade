"""Bytes on the wire to message text and back.

Real feeds (and the public samples) end segments with CR, LF or CRLF and sometimes start with a UTF-8 byte
order mark; HL7 wants CR. Text is UTF-8 (HL7 2.8's preferred character set); bytes that are not UTF-8 are
read as Latin-1 rather than refused, since 8-bit feeds are common and every byte maps.
"""

from __future__ import annotations

import re

BOM = "\ufeff"
SEGMENT_SEPARATOR = "\r"
_LINE_BREAKS = re.compile(r"\r\n|\n|\r")


def decode(block: bytes) -> str:
    try:
        return block.decode("utf-8")
    except UnicodeDecodeError:
        return block.decode("latin-1")


def normalize(text: str) -> str:
    """One message as HL7 text: no BOM, segments separated by CR, no blank lines or stray whitespace
    around the message."""
    text = text.lstrip(BOM).strip()
    segments = (line for line in _LINE_BREAKS.split(text) if line.strip())
    return SEGMENT_SEPARATOR.join(segments)


_ESCAPES = {"\\": "\\E\\", "|": "\\F\\", "^": "\\S\\", "~": "\\R\\", "&": "\\T\\"}


def escape(text: str) -> str:
    """Free text inside a field with the default delimiters (|^~\\&); line breaks become spaces."""
    text = _LINE_BREAKS.sub(" ", text)
    return "".join(_ESCAPES.get(ch, ch) for ch in text)
