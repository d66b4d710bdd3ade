"""Named permissions and the roles that grant them.

Every view and endpoint declares the one Permission it needs (see `accounts.decorators`). Roles are
fixed bundles of permissions; an organization does not edit them (a later issue may add custom roles).
"""

from __future__ import annotations

from enum import StrEnum

from django.db import models


class Permission(StrEnum):
    # patients
    PATIENT_SEARCH = "patients:patient:search"
    PATIENT_VIEW = "patients:patient:view"
    PATIENT_CREATE = "patients:patient:create"
    PATIENT_EDIT = "patients:patient:edit"
    PATIENT_MERGE = "patients:patient:merge"
    CLINICAL_VIEW = "patients:clinical:view"
    CLINICAL_EDIT = "patients:clinical:edit"
    DOCUMENT_UPLOAD = "patients:document:upload"
    NOTE_WRITE = "patients:note:write"
    # practitioners and organization directory
    PRACTITIONER_VIEW = "practitioners:practitioner:view"
    PRACTITIONER_EDIT = "practitioners:practitioner:edit"
    # scheduling: calendars and appointments; booking and changing them; resources, visit types, templates
    SCHEDULE_VIEW = "scheduling:appointment:view"
    APPOINTMENT_BOOK = "scheduling:appointment:book"
    SCHEDULE_MANAGE = "scheduling:schedule:manage"
    # worklist: see tasks; work them (status, comments, snooze, take); assign to others; every queue
    TASK_VIEW = "worklist:task:view"
    TASK_WORK = "worklist:task:work"
    TASK_ASSIGN = "worklist:task:assign"
    TASK_ALL_QUEUES = "worklist:queue:all"
    # transitions of care: encounters from ADT feeds and TCM; linking / TCM settings; the HL7 message log
    ENCOUNTER_VIEW = "transitions:encounter:view"
    ENCOUNTER_MANAGE = "transitions:encounter:manage"
    INTERFACE_MESSAGE_VIEW = "transitions:message:view"
    DISCHARGE_PLAN = "transitions:discharge:plan"  # tick the discharge-planning checklist
    # coverage: payers, plans and a patient's coverages; eligibility checks (270/271)
    COVERAGE_VIEW = "coverage:coverage:view"
    COVERAGE_MANAGE = "coverage:coverage:manage"
    ELIGIBILITY_CHECK = "coverage:eligibility:check"
    PAYER_MANAGE = "coverage:payer:manage"
    # referrals: see them; create and send; schedule (front desk); manage (inbound answers, re-routing,
    # closing the loop, the receiver directory, the report)
    REFERRAL_VIEW = "referrals:referral:view"
    REFERRAL_CREATE = "referrals:referral:create"
    REFERRAL_SCHEDULE = "referrals:referral:schedule"
    REFERRAL_MANAGE = "referrals:referral:manage"
    # communication log: calls, messages, letters and faxes per patient
    COMMUNICATION_VIEW = "messaging:communication:view"
    COMMUNICATION_LOG = "messaging:communication:log"
    # care plans and chronic care management: see plans; create and edit them; log CCM consent and minutes;
    # the CCM month summary and its CSV
    CAREPLAN_VIEW = "careplans:plan:view"
    CAREPLAN_MANAGE = "careplans:plan:manage"
    CCM_LOG = "careplans:ccm:log"
    CCM_REPORT = "careplans:ccm:report"
    # billing: charges and claims (view; enter charges, scrub, move and submit claims; code lists and fees)
    BILLING_VIEW = "billing:claim:view"
    BILLING_MANAGE = "billing:claim:manage"
    PAYMENT_RECORD = "billing:payment:record"  # take a patient's payment (co-pay at check-in) and its receipt
    # patient education: the materials library and a patient's materials; assigning and recording
    # deliveries; adding materials to the library
    EDUCATION_VIEW = "education:material:view"
    EDUCATION_ASSIGN = "education:material:assign"
    EDUCATION_MANAGE = "education:material:manage"
    # credentialing: see credential files and reports; keep licenses, DEA, certifications, applications and
    # privileges; approve an application (committee); book past a failed credential check (with a reason)
    CREDENTIAL_VIEW = "credentialing:credential:view"
    CREDENTIAL_MANAGE = "credentialing:credential:manage"
    CREDENTIAL_APPROVE = "credentialing:application:approve"
    CREDENTIAL_OVERRIDE = "credentialing:check:override"
    # supplies and inventory: stock, the ledger and reports; record use and move stock between locations;
    # receive, adjust, count, items, par levels and purchase orders
    INVENTORY_VIEW = "inventory:stock:view"
    INVENTORY_MOVE = "inventory:stock:move"
    INVENTORY_MANAGE = "inventory:stock:manage"
    # orders (labs, imaging, procedures, referrals, DME): see them; write, place and move them along
    # (checked against credentials and prior authorization); place one past a failed check (with a reason)
    ORDER_VIEW = "orders:order:view"
    ORDER_PLACE = "orders:order:place"
    ORDER_OVERRIDE = "orders:check:override"
    # audit and administration
    AUDIT_VIEW = "audit:event:view"
    AUDIT_EXPORT = "audit:event:export"
    ADMIN_SITE = "accounts:admin:site"
    USER_MANAGE = "accounts:user:manage"
    # portal
    PORTAL_OWN_RECORD = "portal:own:view"
    PORTAL_SELF_SCHEDULE = "portal:appointment:book"  # book and cancel one's own visits
    # always granted to a signed-in person (home page, own account security)
    SIGNED_IN = "accounts:self:signed_in"


class Role(models.TextChoices):
    ADMINISTRATOR = "administrator", "Administrator"
    COORDINATOR = "coordinator", "Care coordinator"
    FRONT_DESK = "front_desk", "Front desk"
    BILLING = "billing", "Billing"
    NURSE = "nurse", "Nurse"
    PHYSICIAN = "physician", "Physician"
    PATIENT = "patient", "Patient (portal)"


P = Permission

_CLINICAL_READ = {P.PATIENT_SEARCH, P.PATIENT_VIEW, P.CLINICAL_VIEW, P.PRACTITIONER_VIEW}
_STAFF = {P.SIGNED_IN}
_SCHEDULE_BOOK = {P.SCHEDULE_VIEW, P.APPOINTMENT_BOOK}

ROLE_PERMISSIONS: dict[str, frozenset[Permission]] = {
    Role.ADMINISTRATOR: frozenset(set(Permission) - {P.PORTAL_OWN_RECORD, P.PORTAL_SELF_SCHEDULE}),
    Role.COORDINATOR: frozenset(
        _STAFF
        | _CLINICAL_READ
        | {
            P.PATIENT_CREATE,
            P.PATIENT_EDIT,
            P.PATIENT_MERGE,
            P.CLINICAL_EDIT,
            P.DOCUMENT_UPLOAD,
            P.NOTE_WRITE,
            P.SCHEDULE_MANAGE,
        }
        | _SCHEDULE_BOOK
    ),
    Role.FRONT_DESK: frozenset(
        _STAFF
        | {
            P.PATIENT_SEARCH,
            P.PATIENT_VIEW,
            P.PATIENT_CREATE,
            P.PATIENT_EDIT,
            P.DOCUMENT_UPLOAD,
            P.PRACTITIONER_VIEW,
        }
        | _SCHEDULE_BOOK
    ),
    Role.BILLING: frozenset(_STAFF | {P.PATIENT_SEARCH, P.PATIENT_VIEW, P.PRACTITIONER_VIEW}),
    Role.NURSE: frozenset(
        _STAFF | _CLINICAL_READ | {P.CLINICAL_EDIT, P.DOCUMENT_UPLOAD, P.NOTE_WRITE, P.SCHEDULE_VIEW}
    ),
    Role.PHYSICIAN: frozenset(
        _STAFF | _CLINICAL_READ | {P.CLINICAL_EDIT, P.DOCUMENT_UPLOAD, P.NOTE_WRITE, P.SCHEDULE_VIEW}
    ),
    Role.PATIENT: frozenset({P.SIGNED_IN, P.PORTAL_OWN_RECORD, P.PORTAL_SELF_SCHEDULE}),
}


def _grant(grants: dict[str, set[Permission]]) -> None:
    """Add each area's permissions to the roles it names (the areas below, one block each)."""
    for role, granted in grants.items():
        ROLE_PERMISSIONS[role] = ROLE_PERMISSIONS[role] | frozenset(granted)


# Worklist and transitions of care. Clinical roles work every queue; front desk and billing see their own
# queue (worklist.rules.ROLE_QUEUES) and whatever is assigned to them.
_TASKS_ALL = {P.TASK_VIEW, P.TASK_WORK, P.TASK_ASSIGN, P.TASK_ALL_QUEUES}
_TASKS_OWN_QUEUE = {P.TASK_VIEW, P.TASK_WORK}
_CARE_COORDINATION_GRANTS: dict[str, set[Permission]] = {
    Role.COORDINATOR: _TASKS_ALL | {P.ENCOUNTER_VIEW, P.ENCOUNTER_MANAGE, P.INTERFACE_MESSAGE_VIEW},
    Role.NURSE: _TASKS_ALL | {P.ENCOUNTER_VIEW},
    Role.PHYSICIAN: _TASKS_ALL | {P.ENCOUNTER_VIEW, P.ENCOUNTER_MANAGE},
    Role.FRONT_DESK: _TASKS_OWN_QUEUE,
    Role.BILLING: _TASKS_OWN_QUEUE,
}
_grant(_CARE_COORDINATION_GRANTS)


# Coverage and eligibility: front desk and billing keep a patient's insurance and check eligibility; billing
# also keeps the payer list; coordinators see coverage (and eligibility results) to plan care.
_COVERAGE_WORK = {P.COVERAGE_VIEW, P.COVERAGE_MANAGE, P.ELIGIBILITY_CHECK}
_COVERAGE_GRANTS: dict[str, set[Permission]] = {
    Role.FRONT_DESK: _COVERAGE_WORK,
    Role.BILLING: _COVERAGE_WORK | {P.PAYER_MANAGE},
    Role.COORDINATOR: {P.COVERAGE_VIEW},
}
_grant(_COVERAGE_GRANTS)


# Referrals and the communication log: coordinators manage referrals; physicians and nurses create and view
# them; the front desk views and schedules them. Every clinical and front-desk role logs communications.
_COMMUNICATION = {P.COMMUNICATION_VIEW, P.COMMUNICATION_LOG}
_REFERRAL_GRANTS: dict[str, set[Permission]] = {
    Role.COORDINATOR: {P.REFERRAL_VIEW, P.REFERRAL_CREATE, P.REFERRAL_SCHEDULE, P.REFERRAL_MANAGE}
    | _COMMUNICATION,
    Role.PHYSICIAN: {P.REFERRAL_VIEW, P.REFERRAL_CREATE} | _COMMUNICATION,
    Role.NURSE: {P.REFERRAL_VIEW, P.REFERRAL_CREATE} | _COMMUNICATION,
    Role.FRONT_DESK: {P.REFERRAL_VIEW, P.REFERRAL_SCHEDULE} | _COMMUNICATION,
}
_grant(_REFERRAL_GRANTS)

# Care plans and CCM: coordinators, nurses and physicians keep plans and log CCM time (clinical staff time);
# coordinators and billing read the CCM month summary.
_CAREPLAN_WORK = {P.CAREPLAN_VIEW, P.CAREPLAN_MANAGE, P.CCM_LOG}
_CAREPLAN_GRANTS: dict[str, set[Permission]] = {
    Role.COORDINATOR: _CAREPLAN_WORK | {P.CCM_REPORT},
    Role.NURSE: _CAREPLAN_WORK,
    Role.PHYSICIAN: _CAREPLAN_WORK,
    Role.BILLING: {P.CCM_REPORT},
}
_grant(_CAREPLAN_GRANTS)

# Charges and claims: billing manages them; coordinators see them.
_BILLING_GRANTS: dict[str, set[Permission]] = {
    Role.BILLING: {P.BILLING_VIEW, P.BILLING_MANAGE},
    Role.COORDINATOR: {P.BILLING_VIEW},
}
_grant(_BILLING_GRANTS)
# Patient payments: the front desk takes co-pays at check-in; billing takes statement payments.
_grant({Role.FRONT_DESK: {P.PAYMENT_RECORD}, Role.BILLING: {P.PAYMENT_RECORD}})

# Discharge planning and patient education: coordinators, nurses and physicians plan discharges, assign
# materials and record their delivery; coordinators and nurses keep the library.
_EDUCATION = {P.EDUCATION_VIEW, P.EDUCATION_ASSIGN}
_DISCHARGE_EDUCATION_GRANTS: dict[str, set[Permission]] = {
    Role.COORDINATOR: _EDUCATION | {P.EDUCATION_MANAGE, P.DISCHARGE_PLAN},
    Role.NURSE: _EDUCATION | {P.EDUCATION_MANAGE, P.DISCHARGE_PLAN},
    Role.PHYSICIAN: _EDUCATION | {P.DISCHARGE_PLAN},
}
_grant(_DISCHARGE_EDUCATION_GRANTS)

# Credentialing: the coordinator role is the medical-staff coordinator (keeps credential files and
# privileges, sees the reports); the committee approval and the booking override stay with administrators.
_grant({Role.COORDINATOR: {P.CREDENTIAL_VIEW, P.CREDENTIAL_MANAGE}})

# Supplies and inventory: nurses see stock, record use and restock rooms; coordinators (and administrators,
# who hold every permission) also receive, adjust, count and keep purchase orders.
_INVENTORY_GRANTS: dict[str, set[Permission]] = {
    Role.NURSE: {P.INVENTORY_VIEW, P.INVENTORY_MOVE},
    Role.COORDINATOR: {P.INVENTORY_VIEW, P.INVENTORY_MOVE, P.INVENTORY_MANAGE},
}
_grant(_INVENTORY_GRANTS)

# Orders: physicians and nurses write, place and move orders along (results, cancellations); coordinators
# and the front desk see them to arrange the services. Placing past a failed check stays with
# administrators (who hold every permission).
_ORDER_WORK = {P.ORDER_VIEW, P.ORDER_PLACE}
_grant({Role.PHYSICIAN: _ORDER_WORK, Role.NURSE: _ORDER_WORK, Role.COORDINATOR: {P.ORDER_VIEW}})
_grant({Role.FRONT_DESK: {P.ORDER_VIEW}})


def permissions_for(role: str) -> frozenset[str]:
    return frozenset(str(p) for p in ROLE_PERMISSIONS.get(role, frozenset()))
