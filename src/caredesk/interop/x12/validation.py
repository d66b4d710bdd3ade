"""Checks on the 270s we generate, before they leave.

pyx12 (the HIPAA implementation-guide validator the project uses) ships no map for 270/271 005010X279A1
(shared/DOMAIN-RULES.md section 6: its maps.xml lists no X279A1 entry, and its 5010 X092A1 entry has no
file). It does ship the 004010X092A1 map of the same transaction, whose loops and segments the 5010 guide
kept. So:

- `structure_problems` checks the 5010-specific rules ourselves (envelope, control numbers, counts, HL
  parents, the loops and segments X279A1 requires, element lengths), and
- `pyx12_problems` runs pyx12 against its 4010 map after rewriting, in memory, only what differs in the
  envelope between the two versions (ISA11/ISA12, GS08, ST03) and the one date qualifier that 5010 renamed
  (DTP*291 "plan" was DTP*307 "eligibility" in 4010). Everything else pyx12 checks as it is: loop
  structure, required segments and elements, code values, lengths, dates.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager

from .envelope import VERSION
from .segments import Segment, X12Error, read

_LIMITS = {("NM1", 3): 60, ("NM1", 4): 35, ("NM1", 9): 80, ("TRN", 2): 50, ("REF", 2): 50, ("BHT", 3): 50}


def structure_problems(text: str) -> list[str]:
    try:
        _delimiters, segments = read(text)
    except X12Error as exc:
        return [str(exc)]
    problems: list[str] = []
    tags = [s.tag for s in segments]
    if tags[:3] != ["ISA", "GS", "ST"] or tags[-3:] != ["SE", "GE", "IEA"]:
        return ["The envelope is not ISA, GS, ST … SE, GE, IEA."]
    isa, gs, st, se, ge, iea = segments[0], segments[1], segments[2], segments[-3], segments[-2], segments[-1]
    if len(text.lstrip().split(isa.tag, 1)[1].split("~", 1)[0]) + 3 != 105:
        problems.append("ISA is not 106 characters long.")
    if st.get(1) != "270" or st.get(3) != VERSION or gs.get(8) != VERSION or gs.get(1) != "HS":
        problems.append(f"ST/GS do not say 270 {VERSION}.")
    if se.get(1) != str(len(segments) - 4):
        problems.append(f"SE01 is {se.get(1)}, the transaction has {len(segments) - 4} segments.")
    if se.get(2) != st.get(2) or ge.get(2) != gs.get(6) or iea.get(2) != isa.get(13):
        problems.append("Control numbers do not match (ST02/SE02, GS06/GE02, ISA13/IEA02).")
    problems += _hierarchy_problems(segments[3:-3])
    for seg in segments:
        for (tag, position), limit in _LIMITS.items():
            if seg.tag == tag and len(seg.get(position)) > limit:
                problems.append(f"{tag}{position:02d} at line {seg.line} is longer than {limit}.")
        if seg.elements and seg.elements[-1] == "":
            problems.append(f"Segment {seg.tag} at line {seg.line} ends with an empty element.")
    return problems


def _hierarchy_problems(body: list[Segment]) -> list[str]:
    problems: list[str] = []
    if not body or body[0].tag != "BHT" or body[0].get(1) != "0022" or body[0].get(2) != "13":
        problems.append("BHT*0022*13 must open the transaction.")
    levels: dict[str, str] = {}
    expected_parent = {"20": None, "21": "20", "22": "21", "23": "22"}
    current = ""
    seen_in_loop: dict[str, list[str]] = {}
    for seg in body:
        if seg.tag == "HL":
            number, parent, level = seg.get(1), seg.get(2), seg.get(3)
            if level not in expected_parent:
                problems.append(f"HL at line {seg.line} has level {level}.")
                continue
            wanted = expected_parent[level]
            if (wanted is None and parent) or (wanted is not None and levels.get(parent) != wanted):
                problems.append(f"HL {number} at line {seg.line} does not sit under a level {wanted} HL.")
            levels[number] = level
            current = level
            seen_in_loop[current] = []
        elif current:
            seen_in_loop[current].append(seg.tag if seg.tag != "NM1" else f"NM1*{seg.get(1)}")
    needs = {"20": ["NM1*PR"], "21": ["NM1*1P"], "22": ["NM1*IL"]}
    for level, tags in needs.items():
        for tag in tags:
            if tag not in seen_in_loop.get(level, []):
                problems.append(f"Loop {level} lacks {tag}.")
    patient_level = "23" if "23" in seen_in_loop else "22"
    for tag in ("TRN", "EQ"):
        if tag not in seen_in_loop.get(patient_level, []):
            problems.append(f"The patient's loop lacks {tag}.")
    return problems


def as_4010(text: str) -> str:
    """The same 270, labelled 004010X092A1 for pyx12's map (see the module's docstring)."""
    _delimiters, segments = read(text)
    out: list[str] = []
    for seg in segments:
        elements = list(seg.elements)
        if seg.tag == "ISA":
            elements[10], elements[11] = "U", "00401"
        elif seg.tag == "GS":
            elements[7] = "004010X092A1"
        elif seg.tag == "ST":
            elements = elements[:2]
        elif seg.tag == "DTP" and elements[0] == "291":
            elements[0] = "307"
        out.append("*".join([seg.tag, *elements]))
    return "".join(f"{s}~\n" for s in out)


@contextmanager
def captured_log(logger_name: str) -> Iterator[io.StringIO]:
    """What the logger writes (INFO and up) while the block runs, instead of passing it to its parents."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setLevel(logging.INFO)
    logger = logging.getLogger(logger_name)
    old_level, old_propagate = logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        yield stream
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
        logger.propagate = old_propagate


def pyx12_problems(text: str) -> list[str]:
    """pyx12's findings for a 270 we generated (empty when it passes)."""
    import pyx12.params
    import pyx12.x12n_document

    source = as_4010(text)
    with captured_log("pyx12") as log:
        ok = pyx12.x12n_document.x12n_document(
            param=pyx12.params.params(),
            src_file=io.StringIO(source),
            fd_997=io.StringIO(),
            fd_html=None,
            fd_json=None,
        )
    lines = [line for line in log.getvalue().splitlines() if line.strip()]
    return [] if ok else (lines or ["pyx12 reported a failure without a message."])
