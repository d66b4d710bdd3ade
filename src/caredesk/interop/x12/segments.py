"""X12 syntax: reading an interchange into segments (with the separators its ISA declares) and writing
segments back. Errors name the segment and its line (segment number, counted from the ISA)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from unidecode import unidecode

ISA_LENGTH = 106
_UNSAFE = re.compile(r"[^A-Z0-9 !\"&'()+,\-./;?=%@\[\]_{}\\|<>#$]")


class X12Error(ValueError):
    """A file that is not the X12 we can read; the message says where."""

    def __init__(self, message: str, *, segment: str = "", line: int | None = None) -> None:
        where = (
            f"segment {segment} at line {line}: " if segment and line else f"line {line}: " if line else ""
        )
        super().__init__(f"{where}{message}")
        self.segment = segment
        self.line = line


@dataclass(frozen=True)
class Delimiters:
    element: str = "*"
    component: str = ":"
    repetition: str = "^"
    segment: str = "~"


@dataclass(frozen=True)
class Segment:
    tag: str
    elements: tuple[str, ...]
    line: int

    def get(self, position: int) -> str:
        """Element `position` (1-based, as the guides number them); empty when absent."""
        return self.elements[position - 1] if 0 < position <= len(self.elements) else ""


def read(text: str) -> tuple[Delimiters, list[Segment]]:
    """The segments of an interchange. The ISA is fixed-length: its 4th character is the element
    separator, ISA11 the repetition separator, ISA16 the component separator and the next the segment
    terminator."""
    body = text.lstrip("\ufeff \r\n\t")
    if not body.startswith("ISA") or len(body) < ISA_LENGTH:
        raise X12Error("This is not an X12 file: it does not start with an ISA segment.", line=1)
    element = body[3]
    isa_fields = body[:ISA_LENGTH].split(element)
    if len(isa_fields) != 17:
        raise X12Error("The ISA segment does not have its 16 fixed-length elements.", segment="ISA", line=1)
    if len(isa_fields[16]) != 2:
        raise X12Error("The ISA segment is not 106 characters long.", segment="ISA", line=1)
    component, terminator = isa_fields[16][0], isa_fields[16][1]
    repetition = isa_fields[11] if isa_fields[12] >= "00501" and len(isa_fields[11]) == 1 else ""
    delimiters = Delimiters(element=element, component=component, repetition=repetition, segment=terminator)
    segments: list[Segment] = []
    for raw in (s.strip("\r\n ") for s in body.split(terminator)):
        if not raw:
            continue
        parts = raw.split(element)
        tag = parts[0]
        line = len(segments) + 1
        if not re.fullmatch(r"[A-Z][A-Z0-9]{1,2}", tag):
            raise X12Error(f"{tag[:10]!r} is not a segment identifier.", segment=tag[:3] or "?", line=line)
        segments.append(Segment(tag=tag, elements=tuple(parts[1:]), line=line))
    if not segments or segments[-1].tag != "IEA":
        raise X12Error("The file ends before its IEA segment.", segment="IEA", line=len(segments))
    return delimiters, segments


def clean(value: str, limit: int) -> str:
    """A value safe inside an X12 element: upper case, the basic character set, no separators."""
    text = " ".join(unidecode(value).upper().split())
    return _UNSAFE.sub("", text)[:limit].strip()


def segment(tag: str, *elements: str) -> str:
    """One segment without its terminator; trailing empty elements are dropped (the guides forbid them)."""
    values = list(elements)
    while values and values[-1] == "":
        values.pop()
    return "*".join([tag, *values])


def join(segments: Iterable[str], delimiters: Delimiters = Delimiters()) -> str:
    return "".join(f"{s}{delimiters.segment}\n" for s in segments)


def split_repetitions(value: str, delimiters: Delimiters) -> Sequence[str]:
    if delimiters.repetition and delimiters.repetition in value:
        return [v for v in value.split(delimiters.repetition) if v]
    return [value] if value else []
