"""Reading eligibility responses, 271 (005010X279A1), into `EligibilityOutcome`s: one per subscriber or
dependent loop (matched to its request by the TRN it echoes), with the plan dates, each EB segment as a
benefit per service type, and AAA rejections in plain words. A rejection of the whole request (AAA in the
payer or receiver loop, before any subscriber) answers the request named by BHT03.

The envelope is checked as it is read: transaction 271, version 005010X279A1, and matching control numbers
and segment count. Anything else raises `X12Error` naming the segment and line; nothing is half-read.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from decimal import Decimal, InvalidOperation

from caredesk.coverage.schemas import Benefit, EligibilityOutcome, Rejection

from . import codes
from .envelope import VERSION
from .segments import Delimiters, Segment, X12Error, read, split_repetitions

_LOOPS = {"20": "information source", "21": "information receiver", "22": "subscriber", "23": "dependent"}


def _date(value: str, seg: Segment) -> dt.date:
    try:
        return dt.datetime.strptime(value, "%Y%m%d").date()  # noqa: DTZ007 (a calendar date, no time)
    except ValueError as exc:
        raise X12Error(f"{value!r} is not a date (CCYYMMDD).", segment=seg.tag, line=seg.line) from exc


def _dates(seg: Segment) -> tuple[dt.date, dt.date | None]:
    fmt, value = seg.get(2), seg.get(3)
    if fmt == "RD8" and "-" in value:
        first, last = value.split("-", 1)
        return _date(first, seg), _date(last, seg)
    if fmt == "D8":
        return _date(value, seg), None
    raise X12Error(f"Date format {fmt!r} is not D8 or RD8.", segment=seg.tag, line=seg.line)


def _decimal(value: str, seg: Segment) -> Decimal | None:
    if not value:
        return None
    try:
        number = Decimal(value)
    except InvalidOperation as exc:
        raise X12Error(f"{value!r} is not a number.", segment=seg.tag, line=seg.line) from exc
    if not number.is_finite():
        raise X12Error(f"{value!r} is not a number.", segment=seg.tag, line=seg.line)
    return number


def _check_envelope(segments: list[Segment], *, strict: bool) -> list[Segment]:
    """The segments between ST and SE of the one 271 in the interchange. `strict` also checks the
    control numbers and the segment count (HIPAA integrity controls); public samples often get them wrong."""
    tags = [s.tag for s in segments]
    for needed in ("GS", "ST", "SE", "GE"):
        if needed not in tags:
            raise X12Error(f"The {needed} segment is missing.", segment=needed, line=len(segments))
    isa, iea = segments[0], segments[-1]
    gs = segments[tags.index("GS")]
    st = segments[tags.index("ST")]
    se = segments[tags.index("SE")]
    ge = segments[tags.index("GE")]
    if st.get(1) != "271":
        raise X12Error(f"This is a {st.get(1)} transaction, not a 271.", segment="ST", line=st.line)
    for seg, version in ((gs, gs.get(8)), (st, st.get(3) or VERSION)):
        if version != VERSION:
            raise X12Error(
                f"Version {version or 'not given'} is not supported; eligibility answers must be {VERSION}.",
                segment=seg.tag,
                line=seg.line,
            )
    if tags.count("ST") != 1:
        raise X12Error(
            "Only one 271 per file is supported.", segment="ST", line=segments[tags.index("ST", st.line)].line
        )
    if se.line < st.line:
        raise X12Error("SE comes before ST.", segment="SE", line=se.line)
    if not strict:
        return segments[st.line : se.line - 1]
    count = se.line - st.line + 1
    if se.get(1) != str(count):
        raise X12Error(
            f"SE01 says {se.get(1)} segments, the transaction has {count}.", segment="SE", line=se.line
        )
    if se.get(2) != st.get(2):
        raise X12Error("SE02 does not match ST02.", segment="SE", line=se.line)
    if ge.get(2) != gs.get(6):
        raise X12Error("GE02 does not match GS06.", segment="GE", line=ge.line)
    if iea.get(2) != isa.get(13):
        raise X12Error("IEA02 does not match ISA13.", segment="IEA", line=iea.line)
    return segments[st.line : se.line - 1]


class _Reader:
    def __init__(self, delimiters: Delimiters) -> None:
        self.delimiters = delimiters
        self.outcomes: list[EligibilityOutcome] = []
        self.general: list[Rejection] = []  # AAA of the payer or receiver loops
        self.subject: EligibilityOutcome | None = None
        self.level = ""
        self.in_benefits = False
        self.in_ls = False

    def hl(self, seg: Segment) -> None:
        self.level = seg.get(3)
        self.in_benefits = False
        if self.level in ("22", "23"):
            self.subject = EligibilityOutcome(trace_number="")
            self.outcomes.append(self.subject)
        else:
            self.subject = None

    def aaa(self, seg: Segment) -> None:
        reason = codes.reason_for(seg.get(3))
        follow_up = codes.FOLLOW_UPS.get(seg.get(4), "")
        rejection = Rejection(
            code=seg.get(3),
            follow_up=seg.get(4),
            message=reason.message,
            action=f"{reason.action} {follow_up}".strip()
            if follow_up and seg.get(4) not in ("C", "R")
            else reason.action,
            loop=_LOOPS.get(self.level, ""),
        )
        if self.subject is None:
            self.general.append(rejection)
        else:
            self.subject.rejections.append(rejection)

    def dtp(self, seg: Segment) -> None:
        if self.subject is None or self.in_benefits:
            return
        qualifier = seg.get(1)
        first, last = _dates(seg)
        if qualifier in ("346", "356"):
            self.subject.plan_begin = first
        elif qualifier in ("347", "357"):
            self.subject.plan_end = first
        elif qualifier in ("291", "307"):
            self.subject.plan_begin = self.subject.plan_begin or first
            self.subject.plan_end = self.subject.plan_end or last

    def eb(self, seg: Segment) -> None:
        if self.subject is None:
            raise X12Error(
                "Benefit information outside a subscriber or dependent loop.", segment="EB", line=seg.line
            )
        self.in_benefits = True
        kind = codes.BENEFIT_KINDS.get(seg.get(1), "other")
        if kind == "active" and self.subject.active is None:
            self.subject.active = True
        elif kind == "inactive" and not self.subject.active:
            self.subject.active = False
        if kind == "active" and seg.get(5) and not self.subject.plan_name:
            self.subject.plan_name = seg.get(5)
        percent = _decimal(seg.get(8), seg)
        period = seg.get(6)
        template = Benefit(
            kind=kind,
            coverage_level=seg.get(2),
            network=codes.NETWORKS.get(seg.get(12), ""),
            time_period=codes.TIME_PERIODS.get(period, period),
            remaining=period in codes.REMAINING_PERIODS,
            amount=_decimal(seg.get(7), seg),
            percent=percent * 100 if percent is not None else None,
            plan_description=seg.get(5),
        )
        for code in split_repetitions(seg.get(3), self.delimiters) or [""]:
            label = codes.service_label(code) if code else ""
            self.subject.benefits.append(replace(template, service_type=code, service_label=label))

    def msg(self, seg: Segment) -> None:
        if self.subject is not None and self.in_benefits and self.subject.benefits:
            last = self.subject.benefits[-1]
            text = f"{last.message} {seg.get(1)}".strip()
            self.subject.benefits[-1] = replace(last, message=text)

    def handle(self, seg: Segment) -> None:
        if seg.tag == "LS":
            self.in_ls = True
        elif seg.tag == "LE":
            self.in_ls = False
        elif self.in_ls:
            return  # 2120 benefit related entities (a PCP, another payer): not read yet
        elif seg.tag == "HL":
            self.hl(seg)
        elif seg.tag == "AAA":
            self.aaa(seg)
        elif seg.tag == "TRN" and self.subject is not None and seg.get(1) == "2":
            self.subject.trace_number = seg.get(2)
        elif seg.tag == "NM1" and self.subject is not None and seg.get(1) == "IL":
            self.subject.member_id = seg.get(9)
        elif seg.tag == "DTP":
            self.dtp(seg)
        elif seg.tag == "EB":
            self.eb(seg)
        elif seg.tag == "MSG":
            self.msg(seg)


def parse_271(text: str, *, strict: bool = True) -> list[EligibilityOutcome]:
    delimiters, segments = read(text)
    body = _check_envelope(segments, strict=strict)
    if not body or body[0].tag != "BHT":
        raise X12Error(
            "The transaction does not start with BHT.", segment="BHT", line=body[0].line if body else 3
        )
    reader = _Reader(delimiters)
    for seg in body[1:]:
        reader.handle(seg)
    reference = body[0].get(3)
    outcomes = [o for o in reader.outcomes if o.trace_number]
    # A dependent's answer: its subscriber loop carries no TRN of its own; only traced loops are answers.
    if reader.general:
        if not outcomes:
            if not reference:
                raise X12Error(
                    "The rejection names no request (no TRN and no BHT03).", segment="BHT", line=body[0].line
                )
            outcomes = [EligibilityOutcome(trace_number=reference)]
        for outcome in outcomes:
            outcome.rejections[:0] = reader.general
    if not outcomes:
        raise X12Error(
            "The response answers no request: it has no trace number (TRN).",
            segment="TRN",
            line=body[-1].line,
        )
    _merge_subscriber_into_dependent(reader.outcomes)
    return outcomes


def _merge_subscriber_into_dependent(outcomes: list[EligibilityOutcome]) -> None:
    """A dependent's answer often states the plan and member ID on the subscriber loop above it."""
    previous: EligibilityOutcome | None = None
    for outcome in outcomes:
        if previous is not None and not previous.trace_number and outcome.trace_number:
            outcome.member_id = outcome.member_id or previous.member_id
            outcome.plan_begin = outcome.plan_begin or previous.plan_begin
            outcome.plan_end = outcome.plan_end or previous.plan_end
            if not outcome.benefits and previous.benefits:
                outcome.benefits = list(previous.benefits)
                outcome.active = previous.active
                outcome.plan_name = previous.plan_name
            outcome.rejections[:0] = previous.rejections
        previous = outcome
