"""The pure rules of orders: the status machine, codes, ICD-10-CM diagnoses, where the service happens,
and how the two checks combine."""

from __future__ import annotations

from caredesk.orders import rules


def test_the_status_machine() -> None:
    assert rules.transition_error("draft", "active") is not None  # placing runs the checks
    assert rules.transition_error("draft", "cancelled") is None
    assert rules.transition_error("active", "in_progress") is None
    assert rules.transition_error("in_progress", "completed") is None
    assert "cannot become" in (rules.transition_error("completed", "revoked") or "")
    assert "not an order status" in (rules.transition_error("active", "done") or "")
    assert rules.note_error("revoked", " ") == "Say why the order is revoked."
    assert rules.note_error("completed", "") == "Record the result or completion notes."
    assert rules.note_error("in_progress", "") is None


def test_codes_and_diagnoses() -> None:
    assert rules.code_problem("4548-4") is None
    assert rules.code_problem("E0601") is None
    assert rules.code_problem("") == "The order code is required."
    assert rules.code_problem("72148; drop") is not None
    found = rules.diagnoses(["e119", "E11.9", "I10", "ZZZ", " "])
    assert [d["code"] for d in found.coded] == ["E11.9", "I10"]
    assert found.invalid == ["ZZZ"]
    assert rules.split_codes("E11.9, I10;M54.50  Z00.00") == ["E11.9", "I10", "M54.50", "Z00.00"]


def test_telehealth_counts_the_patients_state() -> None:
    assert rules.service_state(telehealth=False, location_state="ny", patient_state="NJ") == "NY"
    assert rules.service_state(telehealth=True, location_state="NY", patient_state="nj") == "NJ"
    assert rules.service_state(telehealth=True, location_state="NY", patient_state="") == ""


def test_the_checks_combine_with_alternatives_only_for_credential_failures() -> None:
    family = rules.Alternative(2, "Finn Family, MD")
    ok = rules.combine(
        credential_reasons=[],
        alternatives=[],
        authorization_needed=True,
        authorization_ok=True,
        authorization_reason="",
        authorization_id=7,
    )
    assert ok.ok
    assert ok.authorization_id == 7
    auth_only = rules.combine(
        credential_reasons=[],
        alternatives=[family],
        authorization_needed=True,
        authorization_ok=False,
        authorization_reason="Empire Health requires a prior authorization for 72148.",
        authorization_id=None,
    )
    assert not auth_only.ok
    assert auth_only.alternatives == []
    assert "Who could" not in rules.refusal(auth_only, "Imaging order MRI")
    both = rules.combine(
        credential_reasons=["Cora Heart, MD has no active New Jersey license."],
        alternatives=[family],
        authorization_needed=True,
        authorization_ok=False,
        authorization_reason="",
        authorization_id=None,
    )
    assert len(both.reasons) == 2
    assert both.reasons[1] == "A prior authorization is needed and none is on file."
    message = rules.refusal(both, "Imaging order MRI", override_refused=True)
    assert message.startswith("Imaging order MRI cannot be placed: Cora Heart")
    assert "Who could order it: Finn Family, MD." in message
    assert message.endswith("Only an administrator can place an order past these checks.")
