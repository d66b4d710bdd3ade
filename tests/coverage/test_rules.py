"""Pure coverage rules, without a database: identifiers safe for X12, coverage dates, and the front-desk
summary of a payer's answer."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from caredesk.coverage import rules
from caredesk.coverage.rules import BenefitFacts


def facts(kind: str, amount: str | None = None, **fields: object) -> BenefitFacts:
    values: dict[str, object] = {
        "kind": kind,
        "service_type": "30",
        "network": "in",
        "coverage_level": "IND",
        "remaining": False,
        "amount": Decimal(amount) if amount is not None else None,
        "percent": None,
    }
    values.update(fields)
    return BenefitFacts(**values)  # type: ignore[arg-type]


@given(st.text(max_size=40))
def test_an_accepted_identifier_never_carries_an_x12_separator(text):
    if rules.identifier_problem(text, "Member ID") is None:
        assert not set(text) & set("*~:^\n\r")


def test_identifiers_as_printed_on_cards_are_accepted():
    for value in ("W123456789", "XYZ-100/22", "AB 1234.5"):
        assert rules.identifier_problem(value, "Member ID") is None


@given(st.dates(), st.one_of(st.none(), st.dates()), st.dates())
def test_in_force_matches_the_dates(start, end, day):
    if end is not None and end < start:
        assert rules.dates_problem(start, end) is not None
        return
    assert rules.in_force(start, end, day) == (start <= day and (end is None or day <= end))


def test_summary_prefers_in_network_individual_office_visit():
    summary = rules.summarize(
        [
            facts("copay", "90.00", service_type="98", network="out"),
            facts("copay", "35.00", service_type="30"),
            facts("copay", "25.00", service_type="98"),
            facts("copay", "50.00", service_type="98", coverage_level="FAM"),
            facts("deductible", "1500.00"),
            facts("deductible", "600.00", remaining=True),
            facts("out_of_pocket", "6000.00"),
            facts("coinsurance", percent=Decimal("20")),
        ]
    )
    assert summary.copay == Decimal("25.00")
    assert summary.deductible == Decimal("1500.00")
    assert summary.deductible_remaining == Decimal("600.00")
    assert summary.out_of_pocket == Decimal("6000.00")
    assert summary.out_of_pocket_remaining is None
    assert summary.coinsurance_percent == Decimal("20")


def test_summary_of_an_out_of_network_only_answer_states_nothing():
    assert rules.summarize([facts("copay", "90.00", network="out")]).copay is None


def test_dates_problem():
    assert rules.dates_problem(dt.date(2024, 1, 1), None) is None
    assert rules.dates_problem(dt.date(2024, 1, 1), dt.date(2023, 12, 31)) is not None
