"""What the matrix puts into URLs: one sample per URL keyword, plus query strings and request bodies.

A URL keyword is resolved by name (`patient_id` -> the sample patient's id). The same keyword can mean
different things in different places; a sample registered `within` a URL namespace ("patients") or one
endpoint (its URL name, or "METHOD /path/{keyword}") wins over the general one.

Each sample says whether it is `scoped` (it belongs to the first organization, so another organization's
user must get 404) and whether a page about it shows `patient_data` (so opening it must write an audit
row naming the sample patient).

Adding a view with a new keyword? Register its sample here, built from `world` (see world.py: the first
organization's patient with a full chart, a practitioner, users of every role). Build new objects through
the services, like the rest of the world.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from caredesk.worklist.rules import home_queue

from .billing import charges_body, claim_of, claim_payment_of, visit_charge_of
from .care_coordination import care_of, fresh_task, fresh_unmatched_encounter
from .careplans import (
    ccm_ready,
    days_ahead,
    fresh_activity,
    fresh_goal,
    fresh_team_member,
    plans_of,
    unplanned_patient,
)
from .coverage import (
    answer_for_fresh_check,
    authorization_of,
    fresh_authorization,
    fresh_coverage,
    fresh_patient,
    insurance_of,
)
from .credentialing import credentials_of
from .education import education_of, fresh_material
from .inventory import fresh_world_order, supplies_of
from .orders import fresh_order, order_body, order_of
from .patient_money import payment_of, statement_of
from .referrals import (
    accepted_referral,
    appointment_time,
    fresh_inbound_referral,
    fresh_referral,
    referrals_of,
)
from .scheduling import (
    fresh_appointment,
    next_start,
    schedule_of,
    setup_exception,
    setup_template,
    surgery_plan_of,
)

if TYPE_CHECKING:
    from caredesk.accounts.models import User

    from .endpoints import Endpoint
    from .world import World


@dataclass(frozen=True)
class Sample:
    build: Callable[[World], object]
    scoped: bool = True
    patient_data: bool = False


_SAMPLES: dict[tuple[str, str], Sample] = {}


def sample(
    keyword: str, *, within: str = "", scoped: bool = True, patient_data: bool = False
) -> Callable[[Callable[[World], object]], Callable[[World], object]]:
    """Register the value of URL keyword `keyword` (anywhere, or `within` a namespace or one endpoint)."""

    def register(build: Callable[[World], object]) -> Callable[[World], object]:
        key = (within, keyword)
        if key in _SAMPLES:
            raise ValueError(f"Two samples for {keyword!r} within {within!r}")
        _SAMPLES[key] = Sample(build, scoped=scoped, patient_data=patient_data)
        return build

    return register


def sample_for(endpoint: Endpoint, keyword: str) -> Sample | None:
    for within in (*endpoint.names(), endpoint.namespace, ""):
        found = _SAMPLES.get((within, keyword))
        if found is not None:
            return found
    return None


def missing_sample_message(endpoint: Endpoint, keyword: str) -> str:
    return (
        f"{endpoint} takes the URL keyword {keyword!r}, which has no sample. Add one to "
        f"tests/support/samples.py:\n\n"
        f"    @sample({keyword!r}, patient_data=...)  # or within={endpoint.namespace or endpoint.key!r}\n"
        f"    def _{keyword}(world: World) -> object:\n"
        f"        return ...  # an object of the first organization (world.org), built through services\n"
    )


# --- query strings and bodies --------------------------------------------------------------------

_QUERIES: dict[str, Callable[[World], dict[str, str]]] = {}


def query(
    *endpoints: str,
) -> Callable[[Callable[[World], dict[str, str]]], Callable[[World], dict[str, str]]]:
    """A query string the matrix adds to GET requests of these endpoints (URL names or "GET /path")."""

    def register(build: Callable[[World], dict[str, str]]) -> Callable[[World], dict[str, str]]:
        for name in endpoints:
            _QUERIES[name] = build
        return build

    return register


def query_for(endpoint: Endpoint) -> Callable[[World], dict[str, str]] | None:
    return next((_QUERIES[n] for n in endpoint.names() if n in _QUERIES), None)


@dataclass(frozen=True)
class Body:
    """A valid request body for a writing API/FHIR endpoint, built per user (so two allowed roles do not
    create the same patient twice), and the status a user allowed to write gets back."""

    build: Callable[[World, User], Any]
    status: int
    content_type: str = "application/json"


_BODIES: dict[str, Body] = {}


def body(
    endpoint: str, *, status: int, content_type: str = "application/json"
) -> Callable[[Callable[[World, User], Any]], Callable[[World, User], Any]]:
    """Register the body the matrix sends to `endpoint` ("POST /api/v1/patients" or its URL name)."""

    def register(build: Callable[[World, User], Any]) -> Callable[[World, User], Any]:
        _BODIES[endpoint] = Body(build, status, content_type)
        return build

    return register


def body_for(endpoint: Endpoint) -> Body | None:
    return next((_BODIES[n] for n in endpoint.names() if n in _BODIES), None)


# --- the samples -----------------------------------------------------------------------------------


@sample("patient_id", patient_data=True)
def _patient_id(world: World) -> object:
    return world.patient.pk


@sample("pk", within="patients", patient_data=True)
def _patient_pk(world: World) -> object:
    return world.patient.pk


@sample("mrn", patient_data=True)
def _mrn(world: World) -> object:
    return world.patient.mrn


@sample("practitioner_id")
def _practitioner_id(world: World) -> object:
    return world.practitioner.pk


@sample("pk", within="practitioners")
def _practitioner_pk(world: World) -> object:
    return world.practitioner.pk


@sample("entry_type", scoped=False)
def _entry_type(world: World) -> object:
    return "problem"  # goes with entry_id below


@sample("entry_id", patient_data=True)
def _entry_id(world: World) -> object:
    return world.chart["problem"].pk


@sample("problem_id", patient_data=True)
def _problem_id(world: World) -> object:
    return world.chart["problem"].pk


@sample("allergy_id", patient_data=True)
def _allergy_id(world: World) -> object:
    return world.chart["allergy"].pk


@sample("medication_id", patient_data=True)
def _medication_id(world: World) -> object:
    return world.chart["medication"].pk


@sample("observation_id", patient_data=True)
def _observation_id(world: World) -> object:
    return world.chart["observation"].pk


@sample("note_id", patient_data=True)
def _note_id(world: World) -> object:
    return world.chart["note"].pk


@sample("document_id", patient_data=True)
def _document_id(world: World) -> object:
    return world.chart["document"].pk


@sample("location_id")
def _location_id(world: World) -> object:
    return world.location.pk


@sample("user_id")
def _user_id(world: World) -> object:
    return world.users["coordinator"].pk


@sample("appointment_id", patient_data=True)
def _appointment_id(world: World) -> object:
    appointment = schedule_of(world).appointment  # the schedule is built on first use
    assert appointment is not None
    return appointment.pk


# Changing an appointment works once: each call (one per allowed role) gets an appointment of its own.
@sample("appointment_id", within="POST /api/v1/appointments/{appointment_id}/cancel", patient_data=True)
@sample("appointment_id", within="POST /api/v1/appointments/{appointment_id}/reschedule", patient_data=True)
@sample("appointment_id", within="PATCH /api/v1/appointments/{appointment_id}", patient_data=True)
def _fresh_appointment_id(world: World) -> object:
    return fresh_appointment(world).pk


# The patient cancels or moves their own visit in the portal: each call gets one of the sample patient's own.
@sample(
    "appointment_id", within="POST /api/v1/portal/appointments/{appointment_id}/cancel", patient_data=True
)
@sample(
    "appointment_id", within="POST /api/v1/portal/appointments/{appointment_id}/reschedule", patient_data=True
)
def _fresh_own_appointment_id(world: World) -> object:
    return fresh_appointment(world).pk


@sample("visit_type_id")
def _visit_type_id(world: World) -> object:
    return schedule_of(world).visit_type.pk


@sample("token", within="scheduling:feed", scoped=False)
def _calendar_feed_token(world: World) -> object:
    """A practitioner's calendar-feed token (public by secret: the same answer for everyone)."""
    from caredesk.accounts.permissions import Permission
    from caredesk.core.context import system_actor
    from caredesk.scheduling.services import issue_feed_token

    manager = system_actor(
        organization_id=world.practitioner.organization_id,
        permissions=frozenset({str(Permission.SCHEDULE_MANAGE)}),
    )
    return issue_feed_token(actor=manager, practitioner_id=world.practitioner.pk)


# Where a keyword means one kind of entry only.
@sample("entry_id", within="patients:correct_note", patient_data=True)
@sample("entry_id", within="patients:retract_note", patient_data=True)
def _note_entry_id(world: World) -> object:
    return world.chart["note"].pk


@sample("entry_id", within="patients:retract_document", patient_data=True)
def _document_entry_id(world: World) -> object:
    return world.chart["document"].pk


# FHIR reads one resource type per URL: /fhir/<Type>/{entry_id}.
@sample("entry_id", within="fhir-condition", patient_data=True)
def _fhir_condition_id(world: World) -> object:
    return world.chart["problem"].pk


@sample("entry_id", within="fhir-allergyintolerance", patient_data=True)
def _fhir_allergy_id(world: World) -> object:
    return world.chart["allergy"].pk


@sample("entry_id", within="fhir-medicationstatement", patient_data=True)
def _fhir_medication_id(world: World) -> object:
    return world.chart["medication"].pk


@sample("entry_id", within="fhir-observation", patient_data=True)
def _fhir_observation_id(world: World) -> object:
    return world.chart["observation"].pk


# --- query strings ---------------------------------------------------------------------------------


@query("fhir-condition-type", "fhir-allergyintolerance-type", "fhir-medicationstatement-type")
@query("fhir-observation-type")
def _fhir_chart_search(world: World) -> dict[str, str]:
    """FHIR chart searches are by patient (required): the first organization's sample patient."""
    return {"patient": f"Patient/{world.patient.pk}"}


@query("GET /api/v1/visit-types/{visit_type_id}/third-next-available")
def _third_next_available(world: World) -> dict[str, str]:
    return {"practitioner_id": str(world.practitioner.pk)}


@query("scheduling:waitlist")
def _waitlist_for_patient(world: World) -> dict[str, str]:
    """The visit type's waitlist opened from the overview or the booking page: the patient's MRN filled in."""
    return {"patient": str(world.patient.pk)}


@query("scheduling:reply")
def _reminder_reply(world: World) -> dict[str, str]:
    """The public confirm/cancel page of a reminder: the sample appointment's signed link."""
    from caredesk.scheduling.services import reply_token

    appointment = schedule_of(world).appointment
    assert appointment is not None
    return {"t": reply_token(appointment), "answer": "confirm"}


# --- request bodies of the writing API and FHIR endpoints ------------------------------------------


def _new_patient_names(user: User) -> tuple[str, str, str]:
    """Given name, family name (letters only) and birth date, different for every user, so no two
    creations look like duplicates of each other or of the sample patient."""
    letters = "".join(chr(ord("a") + int(d)) for d in f"{user.pk:04d}")
    return "Apiary", f"Newcomb{letters}", f"19{40 + user.pk % 50:02d}-0{1 + user.pk % 9}-1{user.pk % 9}"


@body("POST /api/v1/patients", status=201)
def _api_create_patient(world: World, user: User) -> object:
    given, family, birth_date = _new_patient_names(user)
    return {"given_name": given, "family_name": family, "birth_date": birth_date, "sex": "female"}


@body("PATCH /api/v1/patients/{patient_id}", status=200)
def _api_update_patient(world: World, user: User) -> object:
    world.patient.refresh_from_db(fields=["version"])
    return {"version": world.patient.version, "preferred_name": f"Otto {user.pk}"}


@body("POST /api/v1/patients/{patient_id}/problems", status=201)
def _api_add_problem(world: World, user: User) -> object:
    return {"icd10_code": "I10"}


@body("POST /fhir/Patient", status=201, content_type="application/fhir+json")
def _fhir_create_patient(world: World, user: User) -> object:
    given, family, birth_date = _new_patient_names(user)
    return {
        "resourceType": "Patient",
        "name": [{"family": family, "given": [given]}],
        "birthDate": birth_date,
        "gender": "female",
    }


@body("POST /fhir/Patient/_search", status=200, content_type="application/x-www-form-urlencoded")
def _fhir_search_by_post(world: World, user: User) -> object:
    # A prefix, as a person types it: the answer's self link echoes it, and the echo must not look like
    # the patient's full name leaking.
    return f"family={world.patient.family_name[:5]}"


def _booking(world: World, user: User) -> dict[str, object]:
    """A booking in the user's own organization (its patient, visit type and location) at a time no other
    call uses."""
    schedule = schedule_of(world, user.organization)
    return {
        "patient_id": schedule.patient.pk,
        "visit_type_id": schedule.visit_type.pk,
        "location_id": schedule.location.pk,
        "start": next_start(world, schedule).isoformat(),
    }


@body("POST /api/v1/appointments", status=201)
def _api_book(world: World, user: User) -> object:
    return _booking(world, user)


@body("POST /api/v1/appointment-series", status=201)
def _api_book_series(world: World, user: User) -> object:
    return {**_booking(world, user), "every_weeks": 1, "occurrences": 2}


@body("POST /api/v1/appointments/{appointment_id}/cancel", status=200)
def _api_cancel(world: World, user: User) -> object:
    return {"reason": "patient_request"}


@body("POST /api/v1/portal/appointments", status=201)
def _api_portal_book(world: World, user: User) -> object:
    """A patient books for themselves: no patient id (the token's own record)."""
    booking = _booking(world, user)
    del booking["patient_id"]
    return booking


@body("POST /api/v1/portal/appointments/{appointment_id}/cancel", status=200)
def _api_portal_cancel(world: World, user: User) -> object:
    return {"note": "Feeling better"}


@body("POST /api/v1/portal/appointments/{appointment_id}/reschedule", status=200)
def _api_portal_reschedule(world: World, user: User) -> object:
    """A free time the portal offers (a fresh half hour on the sample schedule, open all day)."""
    return {"start": next_start(world).isoformat(), "location_id": schedule_of(world).location.pk}


@body("POST /api/v1/appointments/{appointment_id}/reschedule", status=200)
def _api_reschedule(world: World, user: User) -> object:
    return {"start": next_start(world).isoformat()}


@body("PATCH /api/v1/appointments/{appointment_id}", status=200)
def _api_update_appointment(world: World, user: User) -> object:
    return {"status": "confirmed", "notes": "Prefers mornings."}


# --- coverage and eligibility (tests/support/coverage.py) -------------------------------------------


@sample("coverage_id", patient_data=True)
def _coverage_id(world: World) -> object:
    return insurance_of(world).coverage.pk


# Ending a coverage works once: each call (one per allowed role) ends a secondary coverage of the sample
# patient of its own.
@sample("coverage_id", within="coverage:end", patient_data=True)
@sample("coverage_id", within="POST /api/v1/coverages/{coverage_id}/end", patient_data=True)
def _fresh_coverage_id(world: World) -> object:
    return fresh_coverage(world).pk


# Adding a primary coverage works once per patient: each call adds it to a patient of its own.
@sample("patient_id", within="POST /api/v1/patients/{patient_id}/coverages", patient_data=True)
def _uninsured_patient_id(world: World) -> object:
    return fresh_patient(world).pk


@sample("entry_id", within="fhir-coverage", patient_data=True)
def _fhir_coverage_id(world: World) -> object:
    return insurance_of(world).coverage.pk


@sample("check_id", patient_data=True)
def _check_id(world: World) -> object:
    check = insurance_of(world).check
    assert check is not None
    return check.pk


# A batch by itself is no patient data; its page lists patients, and that read is audited (result_ids).
@sample("batch_id")
def _batch_id(world: World) -> object:
    batch = insurance_of(world).batch
    assert batch is not None
    return batch.pk


@body("POST /api/v1/patients/{patient_id}/coverages", status=201)
def _api_add_coverage(world: World, user: User) -> object:
    plan = insurance_of(world, user.organization).plan
    return {"plan_id": plan.pk, "member_id": f"API{user.pk}", "effective_from": "2025-01-01"}


@body("PUT /api/v1/coverages/{coverage_id}", status=200)
def _api_update_coverage(world: World, user: User) -> object:
    coverage = insurance_of(world).coverage
    return {
        "plan_id": coverage.plan_id,
        "member_id": coverage.member_id,
        "group_number": f"G{user.pk}",
        "effective_from": coverage.effective_from.isoformat(),
    }


@body("POST /api/v1/coverages/{coverage_id}/end", status=200)
def _api_end_coverage(world: World, user: User) -> object:
    return {"end_date": "2025-12-31", "reason": "changed insurance"}


@body("POST /api/v1/coverages/{coverage_id}/eligibility-checks", status=202)
def _api_check(world: World, user: User) -> object:
    return {}


@body("POST /api/v1/eligibility-batches", status=202)
def _api_batch(world: World, user: User) -> object:
    insurance_of(world, user.organization)  # the user's organization has a coverage to check
    return {}


@body("POST /api/v1/eligibility-responses", status=200)
def _api_hand_in_271(world: World, user: User) -> object:
    assert user.organization is not None
    return {"x12": answer_for_fresh_check(world, user.organization)}


@sample("claim_id", patient_data=True)
def _claim_id(world: World) -> object:
    return claim_of(world).pk


# --- patient money: payments, receipts and statements (tests/support/patient_money.py) ----------------------


@sample("payment_id", patient_data=True)
def _payment_id(world: World) -> object:
    return payment_of(world).pk


@sample("statement_id", patient_data=True)
def _statement_id(world: World) -> object:
    return statement_of(world).pk


@body("POST /api/v1/patients/{patient_id}/payments", status=201)
def _api_record_payment(world: World, user: User) -> object:
    return {"amount": "20.00", "method": "card", "reference": f"AUTH{user.pk}"}


@body("POST /api/v1/patients/{patient_id}/statements", status=201)
def _api_create_statement(world: World, user: User) -> object:
    return {}


# --- prior authorizations (tests/support/coverage.py) ----------------------------------------------


@sample("authorization_id", patient_data=True)
def _authorization_id(world: World) -> object:
    return authorization_of(world).pk


# Denying or cancelling works once: each call (one per allowed role) gets a requested one of its own.
@sample("authorization_id", within="POST /api/v1/authorizations/{authorization_id}/denial", patient_data=True)
@sample("authorization_id", within="POST /api/v1/authorizations/{authorization_id}/cancel", patient_data=True)
def _fresh_authorization_id(world: World) -> object:
    return fresh_authorization(world).pk


@body("POST /api/v1/patients/{patient_id}/authorizations", status=201)
def _api_request_authorization(world: World, user: User) -> object:
    return {"coverage_id": insurance_of(world).coverage.pk, "service_code": "72148", "units_requested": 4}


@body("POST /api/v1/authorizations/{authorization_id}/approval", status=200)
def _api_approve_authorization(world: World, user: User) -> object:
    return {
        "auth_number": "MX-PA-1",
        "units_authorized": 1000,
        "valid_from": "2024-01-01",
        "valid_to": "2099-12-31",
    }


@body("POST /api/v1/authorizations/{authorization_id}/denial", status=200)
def _api_deny_authorization(world: World, user: User) -> object:
    return {"reason": "Not medically necessary"}


@body("POST /api/v1/authorizations/{authorization_id}/cancel", status=200)
def _api_cancel_authorization(world: World, user: User) -> object:
    return {"reason": "No longer needed"}


@body("POST /api/v1/authorizations/{authorization_id}/uses", status=201)
def _api_use_authorization(world: World, user: User) -> object:
    return {"used_on": "2025-06-01", "reference": f"matrix {user.pk}"}


@query("GET /api/v1/patients/{patient_id}/authorization-check")
def _authorization_check_query(world: World) -> dict[str, str]:
    authorization_of(world)  # the sample payer requires authorization for 72148
    return {"service_code": "72148", "date": "2025-06-01"}


@query("fhir-coverage-type")
def _fhir_coverage_search(world: World) -> dict[str, str]:
    """Coverage searches are by patient (required): the first organization's sample patient."""
    return {"patient": f"Patient/{world.patient.pk}"}


# --- charges, claims and their adjudication (tests/support/billing.py) -----------------------------


# Charges are entered in the caller's own organization (its sample patient, coverage and practitioner).
@body("POST /api/v1/claims", status=201)
def _api_enter_charges(world: World, user: User) -> object:
    return charges_body(world, user.organization)


@body("POST /api/v1/claims/{claim_id}/scrub", status=200)
def _api_scrub_claim(world: World, user: User) -> object:
    return {}


# The matrix world's organization has no NPI, so the scrubber blocks every claim of it: marking one ready
# answers 409 claim_blocked with the scrubber's reasons (and changes nothing), for every allowed role.
@body("POST /api/v1/claims/{claim_id}/ready", status=409)
def _api_mark_ready(world: World, user: User) -> object:
    return {"note": "matrix"}


@sample("entry_id", within="fhir-claim", patient_data=True)
def _fhir_claim_id(world: World) -> object:
    return claim_of(world).pk


@sample("charge_id")
def _visit_charge_id(world: World) -> object:
    return visit_charge_of(world).pk


@sample("entry_id", within="fhir-claimresponse", patient_data=True)
@sample("entry_id", within="fhir-explanationofbenefit", patient_data=True)
def _fhir_claim_payment_id(world: World) -> object:
    return claim_payment_of(world).pk


@query("fhir-claim-type", "fhir-claimresponse-type", "fhir-explanationofbenefit-type")
def _fhir_claim_search(world: World) -> dict[str, str]:
    """The sample patient's claims and the payer's answers (posted first, so the search finds them)."""
    claim_payment_of(world)
    return {"patient": f"Patient/{world.patient.pk}"}


def _answered_check(world: World) -> object:
    found = world.__dict__.get("_answered_check")
    if found is None:
        from caredesk.coverage.services import record_eligibility_response

        insurance = insurance_of(world)
        checks = record_eligibility_response(
            actor=insurance.actor, response_text=answer_for_fresh_check(world, world.org)
        )
        found = checks[0]
        world.__dict__["_answered_check"] = found
    return found


@sample("entry_id", within="fhir-coverageeligibilityrequest", patient_data=True)
@sample("entry_id", within="fhir-coverageeligibilityresponse", patient_data=True)
def _fhir_eligibility_id(world: World) -> object:
    return _answered_check(world).pk  # type: ignore[attr-defined]


@query("fhir-coverageeligibilityrequest-type", "fhir-coverageeligibilityresponse-type")
def _fhir_eligibility_search(world: World) -> dict[str, str]:
    """Eligibility searches are by patient (required): the sample patient, whose check was answered."""
    _answered_check(world)
    return {"patient": f"Patient/{world.patient.pk}"}


# --- worklist and transitions of care (tests/support/care_coordination.py) --------------------------


@sample("task_id", patient_data=True)
def _task_id(world: World) -> object:
    return care_of(world).task.pk


@sample("encounter_id", patient_data=True)
def _encounter_id(world: World) -> object:
    return care_of(world).encounter.pk


@sample("episode_id", patient_data=True)
def _episode_id(world: World) -> object:
    return care_of(world).episode.pk


@sample("message_id", patient_data=True)
def _message_id(world: World) -> object:
    return care_of(world).message.pk


# The worklist API: a status change or an assignment moves the task on (or out of the next role's sight),
# so each call (one per allowed role) gets a task of its own.
@sample("task_id", within="POST /api/v1/tasks/{task_id}/status", patient_data=True)
def _fresh_task_for_status(world: World) -> object:
    return fresh_task(world).pk


@sample("task_id", within="POST /api/v1/tasks/{task_id}/assign", patient_data=True)
def _fresh_task_for_assign(world: World) -> object:
    return fresh_task(world).pk


def _own_patient(world: World, user: User) -> Any:
    return world.patient if user.organization_id == world.org.pk else world.other_patient


@body("POST /api/v1/tasks", status=201)
def _api_create_task(world: World, user: User) -> object:
    return {"title": "Call back about the referral", "queue": home_queue(user.role), "priority": 2}


@body("POST /api/v1/tasks/{task_id}/assign", status=200)
def _api_assign_task(world: World, user: User) -> object:
    return {"assignee_id": "me"}


@body("POST /api/v1/tasks/bulk-assign", status=200)
def _api_bulk_assign(world: World, user: User) -> object:
    return {"task_ids": [fresh_task(world).pk], "assignee_id": "me"}


@body("POST /api/v1/tasks/{task_id}/snooze", status=200)
def _api_snooze_task(world: World, user: User) -> object:
    return {"until": (dt.datetime.now(dt.UTC) + dt.timedelta(days=2)).isoformat()}


@body("POST /api/v1/tasks/{task_id}/status", status=200)
def _api_task_status(world: World, user: User) -> object:
    return {"status": "in_progress"}


@body("POST /api/v1/tasks/{task_id}/comments", status=201)
def _api_task_comment(world: World, user: User) -> object:
    return {"body": "Left a voicemail.", "kind": "comment"}


# Transitions of care API: linking works once per encounter, so each call links an unmatched one of its own.
@sample("encounter_id", within="POST /api/v1/encounters/{encounter_id}/patient", patient_data=True)
def _unmatched_encounter_id(world: World) -> object:
    return fresh_unmatched_encounter(world).pk


@body("POST /api/v1/encounters/{encounter_id}/patient", status=200)
def _api_link_encounter(world: World, user: User) -> object:
    return {"patient_id": _own_patient(world, user).pk}


@body("PUT /api/v1/tcm-episodes/{episode_id}/complexity", status=200)
def _api_tcm_complexity(world: World, user: User) -> object:
    return {"complexity": "high"}


@query("GET /api/v1/tcm-episodes", "GET /api/v1/reports/tcm-compliance")
def _tcm_period(world: World) -> dict[str, str]:
    today = dt.datetime.now(dt.UTC).date()
    return {
        "discharged_from": (today - dt.timedelta(days=30)).isoformat(),
        "discharged_to": (today + dt.timedelta(days=1)).isoformat(),
    }


# --- referrals and the communication log (tests/support/referrals.py) -------------------------------


@sample("referral_id", patient_data=True)
def _referral_id(world: World) -> object:
    return referrals_of(world).referral.pk


# Sending and scheduling work once per referral: each call (one per allowed role) gets a referral of its own.
@sample("referral_id", within="POST /api/v1/referrals/{referral_id}/send", patient_data=True)
def _draft_referral_id(world: World) -> object:
    return fresh_referral(world).pk


@sample("referral_id", within="POST /api/v1/referrals/{referral_id}/steps", patient_data=True)
def _accepted_referral_id(world: World) -> object:
    return accepted_referral(world).pk


@body("POST /api/v1/referrals", status=201)
def _api_create_referral(world: World, user: User) -> object:
    patient = world.patient if user.organization_id == world.org.pk else world.other_patient
    return {"patient_id": patient.pk, "specialty": "neurology", "reason": "Headaches", "diagnoses": ["R51.9"]}


@body("POST /api/v1/referrals/{referral_id}/send", status=200)
def _api_send_referral(world: World, user: User) -> object:
    return {}


@body("POST /api/v1/referrals/{referral_id}/steps", status=200)
def _api_referral_step(world: World, user: User) -> object:
    return {"action": "schedule", "appointment_at": appointment_time()}


# Inbound referrals: registered per call; accepting and declining work once per referral.
@sample("referral_id", within="POST /api/v1/referrals/{referral_id}/accept", patient_data=True)
def _inbound_referral_to_accept(world: World) -> object:
    return fresh_inbound_referral(world).pk


@sample("referral_id", within="POST /api/v1/referrals/{referral_id}/decline", patient_data=True)
def _inbound_referral_to_decline(world: World) -> object:
    return fresh_inbound_referral(world).pk


@body("POST /api/v1/inbound-referrals", status=201)
def _api_register_inbound_referral(world: World, user: User) -> object:
    patient = world.patient if user.organization_id == world.org.pk else world.other_patient
    return {
        "patient_id": patient.pk,
        "referrer": {"name": "Matrix Valley Practice", "fax": "555-0101"},
        "specialty": "neurology",
        "reason": "Headaches",
        "diagnoses": ["R51.9"],
    }


@body("POST /api/v1/referrals/{referral_id}/accept", status=200)
def _api_accept_referral(world: World, user: User) -> object:
    return {}


@body("POST /api/v1/referrals/{referral_id}/decline", status=200)
def _api_decline_referral(world: World, user: User) -> object:
    return {"reason": "Outside our area"}


# --- care plans (tests/support/careplans.py) --------------------------------------------------------


@sample("plan_id", patient_data=True)
def _plan_id(world: World) -> object:
    return plans_of(world).plan.pk


@sample("goal_id", patient_data=True)
def _goal_id(world: World) -> object:
    return plans_of(world).goal.pk


@sample("activity_id", patient_data=True)
def _activity_id(world: World) -> object:
    return plans_of(world).activity.pk


@sample("team_member_id", patient_data=True)
def _team_member_id(world: World) -> object:
    member = plans_of(world).plan.team_members.order_by("position", "pk").first()
    assert member is not None
    return member.pk


# Creating a plan works once per template: each call (one per allowed role) gets a patient of its own.
@sample("patient_id", within="POST /api/v1/patients/{patient_id}/care-plans", patient_data=True)
def _unplanned_patient_id(world: World) -> object:
    return unplanned_patient(world).pk


@body("POST /api/v1/patients/{patient_id}/care-plans", status=201)
def _api_create_plan(world: World, user: User) -> object:
    return {"template": "diabetes"}


@body("POST /api/v1/patients/{patient_id}/ccm-time", status=201)
def _api_log_ccm_time(world: World, user: User) -> object:
    return {
        "performed_on": ccm_ready(world),
        "minutes": 5,
        "activity": "Medication review call",
        "billing_practitioner_id": world.practitioner.pk,
    }


# Plan edits through the API. A cancellation or a removal changes what the next role's call would find, so
# each call (one per allowed role) gets a goal, activity or care-team place of its own.
@body("POST /api/v1/care-plans/{plan_id}/goals", status=201)
def _api_add_goal(world: World, user: User) -> object:
    return {
        "description": "HbA1c below 6.5 %",
        "code": plans_of(world).goal.code,
        "comparator": "lt",
        "target": "6.5",
        "due_on": days_ahead(90),
    }


@body("PATCH /api/v1/care-plans/goals/{goal_id}", status=200)
def _api_update_goal(world: World, user: User) -> object:
    return {"target": "6.8", "due_on": days_ahead(120)}


@sample("goal_id", within="POST /api/v1/care-plans/goals/{goal_id}/cancel", patient_data=True)
def _fresh_goal_to_cancel(world: World) -> object:
    return fresh_goal(world).pk


@body("POST /api/v1/care-plans/goals/{goal_id}/cancel", status=200)
def _api_cancel_goal(world: World, user: User) -> object:
    return {"reason": "Replaced by a stricter target"}


@body("POST /api/v1/care-plans/{plan_id}/activities", status=201)
def _api_add_activity(world: World, user: User) -> object:
    return {"kind": "lab", "description": "Lipid panel", "every_months": 12, "due_on": days_ahead(30)}


@body("POST /api/v1/care-plans/activities/{activity_id}/complete", status=200)
def _api_complete_activity(world: World, user: User) -> object:
    return {}


@sample("activity_id", within="POST /api/v1/care-plans/activities/{activity_id}/cancel", patient_data=True)
def _fresh_activity_to_cancel(world: World) -> object:
    return fresh_activity(world).pk


@body("POST /api/v1/care-plans/activities/{activity_id}/cancel", status=200)
def _api_cancel_activity(world: World, user: User) -> object:
    return {"reason": "The patient declined"}


@body("POST /api/v1/care-plans/{plan_id}/care-team", status=201)
def _api_add_team_member(world: World, user: User) -> object:
    return {"role": "nurse", "user_id": user.pk}  # each allowed role names itself


@sample("team_member_id", within="DELETE /api/v1/care-plans/care-team/{team_member_id}", patient_data=True)
def _fresh_team_member_to_remove(world: World) -> object:
    return fresh_team_member(world).pk


@sample("entry_id", within="fhir-careplan", patient_data=True)
def _fhir_careplan_id(world: World) -> object:
    return plans_of(world).plan.pk


@query("fhir-careplan-type")
def _fhir_careplan_search(world: World) -> dict[str, str]:
    return {"patient": f"Patient/{world.patient.pk}"}


# --- scheduling setup (tests/support/scheduling.py): configuration of the first organization ----------------


@sample("resource_id")
def _resource_id(world: World) -> object:
    return schedule_of(world).room.pk


@sample("template_id")
def _template_id(world: World) -> object:
    return setup_template(world).pk


@sample("exception_id")
def _exception_id(world: World) -> object:
    return setup_exception(world).pk


# --- FHIR scheduling: Schedule, Slot, Appointment (tests/support/scheduling.py) --------------------------


@sample("entry_id", within="fhir-schedule")
def _fhir_schedule_id(world: World) -> object:
    """A schedule is a scheduling resource (configuration, not patient data)."""
    return schedule_of(world).practitioner.pk


@sample("entry_id", within="fhir-appointment", patient_data=True)
def _fhir_appointment_id(world: World) -> object:
    appointment = schedule_of(world).appointment
    assert appointment is not None
    return appointment.pk


@query("fhir-slot-type")
def _fhir_slot_search(world: World) -> dict[str, str]:
    """Slots of the matrix visit type on the first organization's practitioner's schedule."""
    schedule = schedule_of(world)
    return {"schedule": f"Schedule/{schedule.practitioner.pk}", "service-type": schedule.visit_type.code}


@query("fhir-appointment-type")
def _fhir_appointment_search(world: World) -> dict[str, str]:
    schedule_of(world)  # the sample appointment exists
    return {"patient": f"Patient/{world.patient.pk}"}


@body("POST /fhir/Appointment", status=201, content_type="application/fhir+json")
def _fhir_book(world: World, user: User) -> object:
    """A booking in the user's own organization at a time no other call uses."""
    booking = _booking(world, user)
    return {
        "resourceType": "Appointment",
        "status": "booked",
        "start": booking["start"],
        "serviceType": [
            {
                "coding": [
                    {
                        "system": "urn:caredesk:visit-type",
                        "code": schedule_of(world, user.organization).visit_type.code,
                    }
                ]
            }
        ],
        "participant": [
            {"actor": {"reference": f"Patient/{booking['patient_id']}"}, "status": "accepted"},
            {"actor": {"reference": f"Location/{booking['location_id']}"}, "status": "accepted"},
        ],
    }


@body("PUT /fhir/Appointment/{entry_id}", status=200, content_type="application/fhir+json")
def _fhir_update_appointment(world: World, user: User) -> object:
    """The sample appointment as it is (booked): every allowed role may send it, and nothing changes."""
    return {
        "resourceType": "Appointment",
        "status": "booked",
        "participant": [{"actor": {"reference": f"Patient/{world.patient.pk}"}, "status": "accepted"}],
    }


# --- surgery planning (tests/support/scheduling.py) --------------------------------------------------


@sample("surgery_plan_id", patient_data=True)
def _surgery_plan_id(world: World) -> object:
    return surgery_plan_of(world).pk


@sample("surgery_item_id", patient_data=True)
def _surgery_item_id(world: World) -> object:
    return surgery_plan_of(world).items.order_by("pk")[0].pk


# --- credentialing (tests/support/credentialing.py): the sample practitioner's credential file -------------


@sample("credential_id", within="credentialing")
def _credential_id(world: World) -> object:
    return credentials_of(world).license.pk


@sample("kind", within="credentialing", scoped=False)
def _credential_kind(world: World) -> object:
    return "license"


@sample("privilege_id", within="credentialing")
def _privilege_id(world: World) -> object:
    return credentials_of(world).privilege.pk


@sample("application_id", within="credentialing")
def _application_id(world: World) -> object:
    return credentials_of(world).application.pk


@query("GET /api/v1/practitioners/{practitioner_id}/credential-check")
def _credential_check(world: World) -> dict[str, str]:
    credentials_of(world)
    return {"service_code": "matrix-visit", "location_id": str(world.location.pk), "state": "NY"}


@body("POST /api/v1/practitioners/{practitioner_id}/licenses", status=201)
def _api_add_license(world: World, user: User) -> object:
    credentials_of(world)  # booking checks stay off in the matrix organization
    return {"state": "NJ", "number": f"MX-{user.pk}", "issued_on": "2020-01-01", "expires_on": "2035-01-01"}


@body("POST /api/v1/practitioners/{practitioner_id}/privileges", status=201)
def _api_add_privilege(world: World, user: User) -> object:
    location = world.location if user.organization_id == world.org.pk else None
    return {"location_id": location.pk if location else 1, "service_code": f"matrix-{user.pk}"}


@sample("entry_id", within="fhir-practitionerrole")
def _fhir_practitioner_role_id(world: World) -> object:
    return credentials_of(world).privilege.pk


# --- supplies and inventory (tests/support/inventory.py): no patient data -----------------------------


@sample("stock_location_id", within="inventory")
def _stock_location_id(world: World) -> object:
    return supplies_of(world).room.pk


@sample("purchase_order_id", within="inventory")
@sample("purchase_order_id", within="GET /api/v1/inventory/purchase-orders/{purchase_order_id}")
def _purchase_order_id(world: World) -> object:
    return supplies_of(world).order.pk


@sample("purchase_order_id", within="POST /api/v1/inventory/purchase-orders/{purchase_order_id}/send")
@sample("purchase_order_id", within="POST /api/v1/inventory/purchase-orders/{purchase_order_id}/cancel")
def _draft_purchase_order_id(world: World) -> object:
    return fresh_world_order(world, sent=False).pk


@sample("purchase_order_id", within="POST /api/v1/inventory/purchase-orders/{purchase_order_id}/receive")
def _sent_purchase_order_id(world: World) -> object:
    return fresh_world_order(world, sent=True).pk


@sample("entry_id", within="fhir-supplyrequest")
def _fhir_supply_request_id(world: World) -> object:
    return supplies_of(world).order.lines.get().pk


@sample("entry_id", within="fhir-supplydelivery")
def _fhir_supply_delivery_id(world: World) -> object:
    return supplies_of(world).receipt.pk


@body("POST /api/v1/inventory/consume", status=201)
def _api_consume(world: World, user: User) -> object:
    s = supplies_of(world, user.organization)
    return {"item_id": s.gloves.pk, "stock_location_id": s.room.pk, "quantity": 1}


@body("POST /api/v1/inventory/transfer", status=201)
def _api_transfer(world: World, user: User) -> object:
    s = supplies_of(world, user.organization)
    return {
        "item_id": s.gloves.pk,
        "from_location_id": s.central.pk,
        "to_location_id": s.room.pk,
        "quantity": 1,
    }


@body("POST /api/v1/inventory/receive", status=201)
def _api_receive(world: World, user: User) -> object:
    s = supplies_of(world, user.organization)
    return {"item_id": s.gloves.pk, "stock_location_id": s.central.pk, "quantity": 3}


@body("POST /api/v1/inventory/purchase-orders", status=201)
def _api_create_purchase_order(world: World, user: User) -> object:
    s = supplies_of(world, user.organization)
    return {
        "vendor_id": s.vendor.pk,
        "ship_to_id": s.central.pk,
        "lines": [{"item_id": s.gloves.pk, "quantity": 4}],
    }


@body("POST /api/v1/inventory/purchase-orders/{purchase_order_id}/send", status=200)
@body("POST /api/v1/inventory/purchase-orders/{purchase_order_id}/cancel", status=200)
def _api_order_step(world: World, user: User) -> object:
    return {}


@body("POST /api/v1/inventory/purchase-orders/{purchase_order_id}/receive", status=200)
def _api_receive_order(world: World, user: User) -> object:
    order = world.__dict__.get("_fresh_order") or fresh_world_order(world, sent=True)
    return {"lines": [{"line_id": order.lines.get().pk, "quantity": 2}]}


# --- discharge planning and patient education (tests/support/care_coordination.py, education.py) -----


@sample("item", within="transitions", scoped=False)
def _checklist_item(world: World) -> object:
    return "follow_up"


@sample("item", within="PUT /api/v1/encounters/{encounter_id}/discharge-checklist/{item}", scoped=False)
def _api_checklist_item(world: World) -> object:
    return "medications"


@body("PUT /api/v1/encounters/{encounter_id}/discharge-checklist/{item}", status=200)
def _api_tick_checklist_item(world: World, user: User) -> object:
    return {"status": "done", "note": "Reconciled by the matrix"}


@sample("entry_id", within="fhir-encounter-document", patient_data=True)
def _fhir_encounter_document_id(world: World) -> object:
    return care_of(world).encounter.pk


@sample("material_id")
def _material_id(world: World) -> object:
    return education_of(world).material.pk


@sample("assignment_id", patient_data=True)
def _assignment_id(world: World) -> object:
    return education_of(world).assignment.pk


@sample("surgical_case_id", patient_data=True)
def _surgical_case_id(world: World) -> object:
    return surgery_plan_of(world).items.order_by("pk")[0].case_id


@body("POST /api/v1/patients/{patient_id}/education", status=201)
def _api_assign_material(world: World, user: User) -> object:
    assert user.organization_id is not None
    return {"material_id": fresh_material(user.organization_id).pk}


@body("POST /api/v1/education/assignments/{assignment_id}/deliveries", status=201)
def _api_record_delivery(world: World, user: User) -> object:
    return {"method": "printed", "note": "Handed over by the matrix"}


# --- the communication log in the API (tests/support/referrals.py logs one about the sample referral) ---


@sample("communication_id", patient_data=True)
def _communication_id(world: World) -> object:
    from caredesk.messaging.models import Communication

    referral = referrals_of(world).referral
    return Communication.objects.filter(referral_id=referral.pk).order_by("pk")[0].pk


@body("POST /api/v1/patients/{patient_id}/communications", status=201)
def _api_log_communication(world: World, user: User) -> object:
    return {"direction": "out", "channel": "phone", "outcome": "reached", "subject": "Matrix check-in call"}


# --- surgery planning and scheduling setup in the API (tests/support/scheduling.py) -----------------------


def _setup_counter(world: World) -> int:
    found: itertools.count[int] = world.__dict__.setdefault("_setup_api_counter", itertools.count(1))
    return next(found)


@sample(
    "surgical_case_id", within="POST /api/v1/surgical-cases/{surgical_case_id}/withdraw", patient_data=True
)
def _fresh_surgical_case_id(world: World) -> object:
    """Withdrawing works once: each call (one per allowed role) gets a case of its own."""
    from .scheduling import fresh_case

    return fresh_case(world).pk


@sample("surgery_plan_id", within="POST /api/v1/surgery-plans/{surgery_plan_id}/book", patient_data=True)
def _fresh_surgery_plan_id(world: World) -> object:
    """Booking works once: each call gets a draft plan of its own."""
    from .scheduling import fresh_surgery_plan

    return fresh_surgery_plan(world).pk


@body("POST /api/v1/surgical-cases", status=201)
def _api_request_case(world: World, user: User) -> object:
    from .scheduling import case_body

    return case_body(world, user.organization)


@body("POST /api/v1/surgical-cases/{surgical_case_id}/withdraw", status=200)
def _api_withdraw_case(world: World, user: User) -> object:
    return {}


@body("POST /api/v1/surgery-plans", status=201)
def _api_plan_cases(world: World, user: User) -> object:
    """One fresh case of the user's organization, planned alone (the sample plan stays a draft)."""
    from .scheduling import case_window, fresh_case, theatre_of

    case = fresh_case(world, user.organization)
    first, last = case_window(theatre_of(world, user.organization))
    return {
        "location_id": case.location_id,
        "date_from": first.isoformat(),
        "date_to": last.isoformat(),
        "case_ids": [case.pk],
        "time_limit": 0.5,
    }


@body("POST /api/v1/surgery-plans/{surgery_plan_id}/items/{surgery_item_id}/move", status=200)
def _api_move_plan_item(world: World, user: User) -> object:
    """Where the sample plan's case is already (every allowed role may send it; nothing changes)."""
    item = surgery_plan_of(world).items.order_by("pk")[0]
    return {"room_id": item.room_id, "start": item.starts_at.isoformat()}


@body("POST /api/v1/surgery-plans/{surgery_plan_id}/book", status=200)
def _api_book_plan(world: World, user: User) -> object:
    return {}


@body("POST /api/v1/scheduling/resources", status=201)
def _api_create_resource(world: World, user: User) -> object:
    schedule = schedule_of(world, user.organization)
    return {
        "kind": "room",
        "location_id": schedule.location.pk,
        "name": f"Matrix room {_setup_counter(world)}",
        "category": "exam",
    }


@body("POST /api/v1/visit-types", status=201)
def _api_create_visit_type(world: World, user: User) -> object:
    schedule_of(world, user.organization)
    n = _setup_counter(world)
    return {
        "name": f"Matrix visit {n}",
        "code": f"matrix-{n}",
        "duration_minutes": 20,
        "requirements": [{"kind": "practitioner"}],
    }


@body("POST /api/v1/scheduling/availability-templates", status=201)
def _api_create_template(world: World, user: User) -> object:
    """A new room of the user's organization (each call its own) open on Monday mornings."""
    from caredesk.scheduling import services

    from .scheduling import admin_of

    schedule = schedule_of(world, user.organization)
    room = services.create_resource(
        actor=admin_of(world, schedule.location.organization_id),
        kind="room",
        location_id=schedule.location.pk,
        name=f"Matrix template room {_setup_counter(world)}",
    )
    return {
        "resource_id": room.pk,
        "location_id": schedule.location.pk,
        "name": "Mornings",
        "effective_from": dt.datetime.now(schedule.zone).date().isoformat(),
        "windows": [{"weekday": 0, "start": "08:00", "end": "12:00"}],
    }


@body("POST /api/v1/scheduling/availability-exceptions", status=201)
def _api_create_exception(world: World, user: User) -> object:
    """Time off of the user's organization's room, a year ahead (each call its own hour)."""
    schedule = schedule_of(world, user.organization)
    day = dt.datetime.now(schedule.zone).date() + dt.timedelta(days=300)
    start = dt.datetime.combine(day, dt.time(0), tzinfo=schedule.zone) + dt.timedelta(
        hours=_setup_counter(world)
    )
    return {
        "kind": "time_off",
        "resource_id": schedule.room.pk,
        "start": start.isoformat(),
        "end": (start + dt.timedelta(minutes=30)).isoformat(),
        "reason": "Matrix maintenance",
    }


# --- FHIR Task and Communication (the worklist task and the logged communication above) -------------------


@sample("entry_id", within="fhir-task", patient_data=True)
def _fhir_task_id(world: World) -> object:
    return care_of(world).task.pk


@sample("entry_id", within="fhir-communication", patient_data=True)
def _fhir_communication_id(world: World) -> object:
    return _communication_id(world)


@query("fhir-task-type", "fhir-communication-type")
def _fhir_task_communication_search(world: World) -> dict[str, str]:
    return {"patient": f"Patient/{world.patient.pk}"}


# --- X12 file upload (interop/x12_api.py) ----------------------------------------------------------------


@body("POST /api/v1/x12/imports", status=200, content_type="application/edi-x12")
def _api_x12_import(world: World, user: User) -> object:
    """A 999 acknowledging a batch the organization never sent: read, validated, and nothing changes."""
    from caredesk.interop.x12.envelope import Parties, wrap
    from caredesk.interop.x12.segments import segment

    control = 900_000 + user.pk
    return wrap(
        transaction="999",
        functional_code="FA",
        body=[
            segment("AK1", "HC", str(control), "005010X222A1"),
            segment("AK2", "837", f"{control % 10000:04d}", "005010X222A1"),
            segment("IK5", "A"),
            segment("AK9", "A", "1", "1", "1"),
        ],
        parties=Parties(sender_id="CLEARINGHOUSE", receiver_id="MATRIX"),
        control_number=control,
        when=dt.datetime(2026, 11, 27, 8, 15, tzinfo=dt.UTC),
        version="005010X231A1",
    )


# --- FHIR Goal, CareTeam, Encounter, DocumentReference and Binary ---------------------------------------


@sample("entry_id", within="fhir-goal", patient_data=True)
def _fhir_goal_id(world: World) -> object:
    return plans_of(world).goal.pk


@sample("entry_id", within="fhir-careteam", patient_data=True)
def _fhir_careteam_id(world: World) -> object:
    return plans_of(world).plan.pk  # a plan's care team has the plan's id


@sample("entry_id", within="fhir-encounter", patient_data=True)
def _fhir_encounter_id(world: World) -> object:
    return care_of(world).encounter.pk


@sample("entry_id", within="fhir-documentreference", patient_data=True)
@sample("entry_id", within="fhir-binary", patient_data=True)
def _fhir_document_id(world: World) -> object:
    return world.chart["document"].pk


@query("fhir-goal-type", "fhir-careteam-type", "fhir-encounter-type", "fhir-documentreference-type")
def _fhir_goal_encounter_document_search(world: World) -> dict[str, str]:
    plans_of(world)
    care_of(world)
    return {"patient": f"Patient/{world.patient.pk}"}


# --- orders (tests/support/orders.py): a placed lab order of the sample patient ---------------------------


@sample("order_id", within="orders", patient_data=True)
@sample("order_id", within="GET /api/v1/orders/{order_id}", patient_data=True)
def _order_id(world: World) -> object:
    return order_of(world).pk


# Placing or overriding works once: each call gets a draft of its own; a status change an active order.
@sample("order_id", within="POST /api/v1/orders/{order_id}/place", patient_data=True)
@sample("order_id", within="POST /api/v1/orders/{order_id}/override", patient_data=True)
def _draft_order_id(world: World) -> object:
    return fresh_order(world, place=False).pk


@sample("order_id", within="POST /api/v1/orders/{order_id}/status", patient_data=True)
def _active_order_id(world: World) -> object:
    return fresh_order(world, place=True).pk


@body("POST /api/v1/orders", status=201)
def _api_create_order(world: World, user: User) -> object:
    return order_body(world, user)


@body("POST /api/v1/orders/{order_id}/place", status=200)
def _api_place_order(world: World, user: User) -> object:
    return {}


@body("POST /api/v1/orders/{order_id}/override", status=200)
def _api_override_order(world: World, user: User) -> object:
    return {"reason": "Matrix: the administrator goes ahead"}


@body("POST /api/v1/orders/{order_id}/status", status=200)
def _api_order_status(world: World, user: User) -> object:
    return {"status": "in_progress"}


@sample("entry_id", within="fhir-servicerequest", patient_data=True)
def _fhir_service_request_id(world: World) -> object:
    return f"order-{order_of(world).pk}"


@query("fhir-servicerequest-type")
def _fhir_service_request_search(world: World) -> dict[str, str]:
    order_of(world)
    return {"patient": f"Patient/{world.patient.pk}"}


# --- letters of the communication log (a statement cover letter to the sample patient) ------------------


def _sample_letter(world: World) -> object:
    found = world.__dict__.get("_letter")
    if found is None:
        from decimal import Decimal

        from caredesk.accounts.permissions import Role
        from caredesk.accounts.services import actor_for_user
        from caredesk.messaging import services as messaging_services

        found, _ = messaging_services.send_letter(
            actor=actor_for_user(world.users[Role.COORDINATOR]),
            data=messaging_services.NewLetter(
                patient_id=world.patient.pk, template="statement_cover", balance=Decimal("42.00")
            ),
        )
        world.__dict__["_letter"] = found
    return found.pk


@sample("communication_id", within="messaging:letter_pdf", patient_data=True)
@sample(
    "communication_id", within="GET /api/v1/communications/{communication_id}/letter.pdf", patient_data=True
)
def _letter_communication_id(world: World) -> object:
    return _sample_letter(world)


def _sample_fax(world: World) -> object:
    """An outbound fax to the sample patient's practitioner carrying the chart's sample document."""
    found = world.__dict__.get("_fax")
    if found is None:
        from caredesk.accounts.permissions import Role
        from caredesk.accounts.services import actor_for_user
        from caredesk.messaging import services as messaging_services

        found = messaging_services.log_communication(
            actor=actor_for_user(world.users[Role.COORDINATOR]),
            data=messaging_services.NewCommunication(
                patient_id=world.patient.pk,
                direction="out",
                channel="fax",
                party="practitioner",
                subject="Records faxed",
                outcome="sent",
                document_id=world.chart["document"].pk,
            ),
        )
        world.__dict__["_fax"] = found
    return found.pk


@sample("communication_id", within="messaging:fax_document", patient_data=True)
def _fax_communication_id(world: World) -> object:
    return _sample_fax(world)


@body("POST /api/v1/patients/{patient_id}/letters", status=201)
@body("POST /api/v1/patients/{patient_id}/letters/preview", status=200)
def _api_letter(world: World, user: User) -> object:
    return {"template": "statement_cover", "balance": "42.00", "note": "Matrix letter"}


@body("POST /fhir/Goal", status=201, content_type="application/fhir+json")
def _fhir_create_goal(world: World, user: User) -> object:
    """A goal onto a care plan of the user's own organization (the sample plan, or one of the other
    organization's patient, made once)."""
    if user.organization_id == world.org.pk:
        plan = plans_of(world).plan
    else:
        plan = world.__dict__.get("_other_plan")
        if plan is None:
            from caredesk.accounts.permissions import Role
            from caredesk.accounts.services import actor_for_user
            from caredesk.careplans import services as careplan_services

            plan = careplan_services.create_plan(
                actor=actor_for_user(world.strangers[Role.COORDINATOR]),
                patient_id=world.other_patient.pk,
                template_code="diabetes",
            )
            world.__dict__["_other_plan"] = plan
    return {
        "resourceType": "Goal",
        "extension": [
            {
                "url": "urn:caredesk:fhir:StructureDefinition/goal-careplan",
                "valueReference": {"reference": f"CarePlan/{plan.pk}"},
            }
        ],
        "lifecycleStatus": "active",
        "description": {"text": "Keep the weight down"},
        "subject": {"reference": f"Patient/{plan.patient_id}"},
        "target": [
            {
                "measure": {"coding": [{"system": "http://loinc.org", "code": "29463-7"}]},
                "detailQuantity": {"value": 80, "comparator": "<"},
            }
        ],
    }


# --- FHIR Task, ServiceRequest (referral) and Communication creates, and the Task update -----------------


def _own_patient_id(world: World, user: User) -> int:
    return world.patient.pk if user.organization_id == world.org.pk else world.other_patient.pk


@body("POST /fhir/Task", status=201, content_type="application/fhir+json")
def _fhir_create_task(world: World, user: User) -> object:
    """A task about the user's own organization's patient, in the user's home queue (left out)."""
    return {
        "resourceType": "Task",
        "status": "requested",
        "intent": "order",
        "description": "Matrix: call the patient back",
        "for": {"reference": f"Patient/{_own_patient_id(world, user)}"},
    }


@body("PUT /fhir/Task/{entry_id}", status=200, content_type="application/fhir+json")
def _fhir_update_task(world: World, user: User) -> object:
    """The sample task as it is (open, assigned to the billing user): every allowed role may send it, and
    nothing changes."""
    task = care_of(world).task
    return {
        "resourceType": "Task",
        "status": "ready",
        "intent": "order",
        "owner": {"identifier": {"system": "urn:caredesk:user", "value": str(task.assignee_id)}},
    }


@body("POST /fhir/ServiceRequest", status=201, content_type="application/fhir+json")
def _fhir_create_referral(world: World, user: User) -> object:
    """A draft referral to a specialty (no receiver) for the user's own organization's patient."""
    return {
        "resourceType": "ServiceRequest",
        "status": "draft",
        "intent": "order",
        "category": [{"coding": [{"system": "urn:caredesk:service-request-category", "code": "referral"}]}],
        "subject": {"reference": f"Patient/{_own_patient_id(world, user)}"},
        "performerType": {"coding": [{"system": "urn:caredesk:specialty", "code": "neurology"}]},
        "reasonCode": [
            {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "R51.9"}]},
            {"text": "Matrix: headaches"},
        ],
    }


@body("POST /fhir/Communication", status=201, content_type="application/fhir+json")
def _fhir_log_communication(world: World, user: User) -> object:
    """A call that reached the user's own organization's patient, just now."""
    return {
        "resourceType": "Communication",
        "status": "completed",
        "category": [{"coding": [{"system": "urn:caredesk:communication-channel", "code": "phone"}]}],
        "subject": {"reference": f"Patient/{_own_patient_id(world, user)}"},
        "recipient": [{"reference": f"Patient/{_own_patient_id(world, user)}"}],
        "topic": {"text": "Matrix call"},
    }
