"""Pure credentialing rules: thresholds, dates, states, the check's reasons."""

from __future__ import annotations

import datetime as dt

from caredesk.credentialing import rules

TODAY = dt.date(2027, 3, 1)


def test_each_threshold_is_reached_in_turn() -> None:
    def at(days: int) -> int | None:
        return rules.expiry_threshold(TODAY + dt.timedelta(days=days), TODAY)

    assert at(91) is None
    assert at(90) == 90
    assert at(61) == 90
    assert at(60) == 60
    assert at(45) == 60  # first seen 45 days out: the 60-day notice only
    assert at(30) == 30
    assert at(-5) == 30  # lapsed and never noticed: the last notice


def test_recredentialing_is_36_months_after_approval() -> None:
    assert rules.recredential_due(dt.date(2027, 3, 1)) == dt.date(2030, 3, 1)
    assert rules.add_months(dt.date(2027, 1, 31), 1) == dt.date(2027, 2, 28)


def test_state_and_date_errors_read_plainly() -> None:
    assert rules.state_error("nj") is None
    assert rules.state_error("PR") is None
    assert "not a US state" in (rules.state_error("XX") or "")
    assert "not a US state" in (rules.state_error("AE") or "")  # armed forces license nobody
    assert "must be after the issue date" in (
        rules.date_order_error(dt.date(2027, 1, 2), dt.date(2027, 1, 1)) or ""
    )


def test_reasons_name_the_lapsed_license_and_the_missing_privilege() -> None:
    facts = rules.Facts(
        name="Dr A",
        licenses=[rules.LicenseFact("NJ", "NJ-1", "active", dt.date(2020, 1, 1), dt.date(2027, 1, 31))],
    )
    need = rules.Need("follow-up", "Follow-up visit", 1, "Main", "NJ", TODAY)
    reasons = rules.check_reasons(facts, need)
    assert reasons == [
        "Dr A's New Jersey license NJ-1 expired on 2027-01-31 and has not been renewed.",
        "Dr A has no privilege for Follow-up visit at Main.",
    ]


def test_controlled_substances_need_a_dea_registration_in_the_state() -> None:
    facts = rules.Facts(
        name="Dr A",
        licenses=[rules.LicenseFact("NY", "1", "active", None, dt.date(2030, 1, 1))],
        privileges=[rules.PrivilegeFact(1, "rx", "granted", None, None)],
    )
    need = rules.Need("rx", "Prescribing", 1, "Main", "NY", TODAY, controlled_substance=True)
    assert rules.check_reasons(facts, need) == [
        "Dr A has no DEA registration in New York (needed for controlled substances)."
    ]
    with_dea = rules.Facts(
        name="Dr A",
        licenses=facts.licenses,
        privileges=facts.privileges,
        deas=[rules.DeaFact("NY", "AB1234563", "active", ("2", "3"), dt.date(2029, 1, 1))],
    )
    assert rules.check_reasons(with_dea, need) == []
