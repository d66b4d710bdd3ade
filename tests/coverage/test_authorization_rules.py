"""The pure prior-authorization rules: which authorization a service uses, and the words the front desk
reads when none fits."""

from __future__ import annotations

import datetime as dt

from caredesk.coverage import rules

DAY = dt.date(2026, 6, 15)


def _auth(id_: int = 1, **fields: object) -> rules.AuthorizationFacts:
    values: dict[str, object] = {
        "id": id_,
        "number": f"A{id_}",
        "status": "approved",
        "valid_from": dt.date(2026, 1, 1),
        "valid_to": dt.date(2026, 12, 31),
        "units_authorized": 4,
        "units_used": 0,
    }
    values.update(fields)
    return rules.AuthorizationFacts(**values)  # type: ignore[arg-type]


def _check(*auths: rules.AuthorizationFacts) -> rules.AuthorizationCheck:
    return rules.check_authorization(
        payer_name="Aetna", service_code="72148", description="MRI lumbar spine", on=DAY, authorizations=auths
    )


def test_none_on_file():
    assert (
        _check().reason == "Aetna requires prior authorization for 72148 (MRI lumbar spine); none is on file."
    )


def test_the_one_ending_first_is_used_first():
    result = _check(_auth(1, valid_to=dt.date(2026, 12, 31)), _auth(2, valid_to=dt.date(2026, 7, 31)))
    assert (result.ok, result.authorization_id) == (True, 2)


def test_used_up_beats_an_older_expired_one_in_the_explanation():
    result = _check(
        _auth(1, valid_to=dt.date(2026, 3, 31)), _auth(2, number="A123", units_authorized=6, units_used=6)
    )
    assert not result.ok
    assert result.reason.endswith("Authorization A123's 6 units are used up.")
    assert result.authorization_id == 2


def test_expired_not_yet_valid_and_single_unit_wording():
    assert rules.use_problem(_auth(number="A123", valid_to=dt.date(2026, 5, 1)), DAY) == (
        "Authorization A123 expired on 2026-05-01."
    )
    assert (
        rules.use_problem(_auth(valid_from=dt.date(2026, 7, 1)), DAY)
        == "Authorization A1 is valid from 2026-07-01."
    )
    assert (
        rules.use_problem(_auth(units_authorized=1, units_used=1), DAY)
        == "Authorization A1's 1 unit is used up."
    )
    assert rules.use_problem(_auth(status="requested", number=""), DAY) == (
        "The authorization has been requested but not approved yet."
    )


def test_display_status_derives_expired_and_used_up():
    assert rules.display_status(_auth(), DAY) == "approved"
    assert rules.display_status(_auth(valid_to=dt.date(2026, 6, 1)), DAY) == "expired"
    assert rules.display_status(_auth(units_used=4), DAY) == "used up"
    assert rules.display_status(_auth(status="denied"), DAY) == "denied"


def test_service_codes():
    assert rules.service_code_problem("72148") is None
    assert rules.service_code_problem("pt-session") is None
    assert rules.service_code_problem("") == "The service code is required."
    assert rules.service_code_problem("72 148") is not None
