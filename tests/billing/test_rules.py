"""Pure billing rules: the claim state machine, each scrubber rule, codes and the code-list CSV."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

import pytest

from caredesk.billing import rules
from caredesk.billing.choices import ClaimStatus as S

LINE = rules.LineFacts(
    procedure_code="G0439",
    modifiers=(),
    diagnosis_pointers=(1,),
    service_date=dt.date(2026, 11, 2),
    units=Decimal("1"),
    charge=Decimal("120.00"),
)
CLEAN = rules.ClaimFacts(
    billing_npi="1234567893",
    rendering_npi="1245319599",
    diagnoses=("E11.9",),
    lines=(LINE,),
    has_coverage=True,
    member_id="W1",
    relationship="self",
    subscriber_given_name="",
    subscriber_family_name="",
    subscriber_birth_date=None,
    coverage_from=dt.date(2024, 1, 1),
    coverage_to=None,
)


def facts(**changes: object) -> rules.ClaimFacts:
    return dataclasses.replace(CLEAN, **changes)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------------- state machine


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (S.DRAFT, S.READY),
        (S.READY, S.SUBMITTED),
        (S.READY, S.DRAFT),
        (S.SUBMITTED, S.ACCEPTED),
        (S.SUBMITTED, S.REJECTED),
        (S.REJECTED, S.DRAFT),
        (S.ACCEPTED, S.PAID),
        (S.ACCEPTED, S.DENIED),
        (S.DENIED, S.APPEALED),
        (S.APPEALED, S.PAID),
        (S.PAID, S.CLOSED),
        (S.DENIED, S.CLOSED),
    ],
)
def test_allowed_steps(current: str, target: str) -> None:
    assert rules.can_transition(current, target)
    assert rules.transition_error(current, target) is None


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (S.DRAFT, S.SUBMITTED),
        (S.DRAFT, S.PAID),
        (S.SUBMITTED, S.PAID),
        (S.PAID, S.DENIED),
        (S.CLOSED, S.DRAFT),
    ],
)
def test_refused_steps_say_what_is_possible(current: str, target: str) -> None:
    message = rules.transition_error(current, target)
    assert message is not None
    assert "cannot become" in message


def test_closed_is_final_and_unknown_status_is_refused() -> None:
    assert rules.TRANSITIONS[S.CLOSED] == frozenset()
    assert "nothing" in (rules.transition_error(S.CLOSED, S.PAID) or "")
    assert "Unknown" in (rules.transition_error(S.DRAFT, "lost") or "")


def test_every_status_is_reachable_from_draft() -> None:
    seen, frontier = {S.DRAFT.value}, [S.DRAFT.value]
    while frontier:
        for nxt in rules.TRANSITIONS[frontier.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                frontier.append(nxt)
    assert seen == set(S.values)


# ------------------------------------------------------------------------------------------ scrubber


def test_a_clean_claim_passes_every_rule() -> None:
    assert rules.scrub(CLEAN) == []


def test_npi_missing_or_failing_its_check_digit() -> None:
    assert rules.check_npis(facts(billing_npi="")) == ["The billing provider has no NPI."]
    [problem] = rules.check_npis(facts(rendering_npi="1245319598"))
    assert "rendering provider" in problem
    assert "check digit" in problem


def test_diagnosis_unknown_or_not_billable() -> None:
    [unknown] = rules.check_diagnoses(facts(diagnoses=("ZZZ.9",)))
    assert "not an ICD-10-CM code" in unknown
    [category] = rules.check_diagnoses(facts(diagnoses=("E11",)))
    assert "not billable" in category
    assert "more specific" in category
    assert rules.check_diagnoses(facts(diagnoses=())) == ["The claim has no diagnosis."]


def test_too_many_diagnoses() -> None:
    codes = (
        "E11.9",
        "I10",
        "J45.909",
        "E78.5",
        "N18.30",
        "I50.9",
        "J44.9",
        "E66.9",
        "F32.9",
        "M54.50",
        "R51.9",
        "K21.9",
        "G47.33",
    )
    problems = rules.check_diagnoses(facts(diagnoses=codes))
    assert any("at most 12" in p for p in problems)


def test_line_without_or_with_a_dangling_diagnosis_pointer() -> None:
    [none] = rules.check_pointers(facts(lines=(dataclasses.replace(LINE, diagnosis_pointers=()),)))
    assert "points at no diagnosis" in none
    [dangling] = rules.check_pointers(facts(lines=(dataclasses.replace(LINE, diagnosis_pointers=(2,)),)))
    assert "diagnosis 2" in dangling
    five = dataclasses.replace(LINE, diagnosis_pointers=(1, 1, 1, 1, 1))
    assert any("more than 4" in p for p in rules.check_pointers(facts(lines=(five,))))


def test_lines_codes_modifiers_units_and_charges() -> None:
    assert rules.check_lines(facts(lines=())) == ["The claim has no charge lines."]
    bad = dataclasses.replace(
        LINE,
        procedure_code="G04",
        modifiers=("2", "25", "59", "XS", "76"),
        units=Decimal(0),
        charge=Decimal(0),
    )
    problems = " ".join(rules.check_lines(facts(lines=(bad,))))
    for words in (
        "5-character procedure code",
        "more than 4 modifiers",
        "2-character modifier",
        "no units",
        "no charge amount",
    ):
        assert words in problems


def test_missing_subscriber_data() -> None:
    assert rules.check_subscriber(facts(has_coverage=False)) == ["The patient has no coverage to bill."]
    assert "member ID" in rules.check_subscriber(facts(member_id=" "))[0]
    dependent = rules.check_subscriber(facts(relationship="child"))
    assert "The subscriber's name is missing." in dependent
    assert "The subscriber's birth date is missing." in dependent
    named = facts(
        relationship="child",
        subscriber_given_name="Jo",
        subscriber_family_name="Roe",
        subscriber_birth_date=dt.date(1970, 1, 1),
    )
    assert rules.check_subscriber(named) == []


def test_service_dates_outside_coverage() -> None:
    [before] = rules.check_coverage_dates(facts(coverage_from=dt.date(2026, 12, 1)))
    assert "2026-11-02" in before
    assert "outside the coverage" in before
    assert rules.check_coverage_dates(facts(coverage_to=dt.date(2026, 10, 31)))
    assert rules.check_coverage_dates(facts(coverage_to=dt.date(2026, 11, 2))) == []


def test_scrub_collects_every_rule_in_order() -> None:
    problems = rules.scrub(facts(billing_npi="", diagnoses=("E11",), member_id=""))
    assert problems[0].startswith("The billing provider")
    assert len(problems) == 3


# ------------------------------------------------------------------------------------ codes and money


def test_icd10_normalized_with_its_dot() -> None:
    assert rules.normalize_icd10("e119") == "E11.9"
    assert rules.icd10_problem("E11.9") is None


def test_code_list_csv() -> None:
    rows = rules.parse_code_list(
        "# source: demo\ncode,description,system,price\ng0439,AWV,hcpcs,120.00\nXCC01,Local call,local,\n"
    )
    assert [r.code for r in rows] == ["G0439", "XCC01"]
    assert rows[0].price == Decimal("120.00")
    assert rows[1].price is None


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ("code,description\nG0439,AWV\n", "columns"),
        ("code,description,system\nG04,AWV,hcpcs\n", "Line 2"),
        ("code,description,system\nG0439,AWV,hcpcs\nG0439,AWV,hcpcs\n", "twice"),
        ("code,description,system\nG0439,AWV,snomed\n", "system"),
        ("code,description,system,price\nG0439,AWV,hcpcs,1.234\n", "dollars and cents"),
        ("code,description,system,price\nG0439,AWV,hcpcs,-1\n", "dollars and cents"),
        ("code,description,system,price\nG0439,AWV,hcpcs,abc\n", "not an amount"),
        ("code,description,system\nG0439,,hcpcs\n", "no description"),
    ],
)
def test_bad_code_lists_name_the_problem(body: str, words: str) -> None:
    with pytest.raises(rules.CodeListError, match=words):
        rules.parse_code_list(body)


def test_line_charge_is_decimal() -> None:
    assert rules.line_charge(Decimal("20.00"), Decimal("2")) == Decimal("40.00")
    assert isinstance(rules.line_charge(Decimal("0.10"), Decimal("3")), Decimal)


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("0", True),
        ("12.30", True),
        ("-1", False),
        ("1.001", False),
        ("1e999999", False),
        ("NaN", False),
        ("100000000", False),
    ],
)
def test_is_cents(value: str, ok: bool) -> None:
    assert rules.is_cents(Decimal(value)) is ok
