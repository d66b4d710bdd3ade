"""The audit event-code registry. Codes are stable numbers (they are stored); each app owns a range.

1xx accounts and sessions   2xx patients (demographics)   3xx clinical entries
4xx documents and notes     5xx practitioners              6xx interoperability (API/FHIR)
7xx scheduling              8xx worklist (tasks)           9xx the audit trail itself
10xx transitions of care (encounters, HL7 v2 messages, TCM)
11xx coverage (payers, plans, patient coverages, eligibility checks)
14xx referrals (referrals, their timeline, receivers, the loop-closure report)
15xx communication log
16xx care plans and chronic care management (goals, activities, CCM consent and minutes)
18xx credentialing (licenses, DEA, certifications, applications, privileges, overrides, reports)
19xx patient education (materials library, assignments, deliveries, handouts)
21xx supplies and inventory (only where a patient is named: supplies consumed by a visit)
22xx orders (labs, imaging, procedures, referrals, DME; their checks and overrides; FHIR ServiceRequest)
"""

from __future__ import annotations

from enum import IntEnum


class AuditAction(IntEnum):
    LOGIN = 100
    LOGIN_FAILED = 101
    LOGOUT = 102
    SESSION_IDLE_TIMEOUT = 103
    TWO_FACTOR_ENROLLED = 104
    TWO_FACTOR_VERIFIED = 105
    TWO_FACTOR_FAILED = 106
    TWO_FACTOR_REMOVED = 107
    API_TOKEN_CREATED = 110
    USER_ROLE_CHANGED = 111

    PATIENT_SEARCH = 200
    PATIENT_VIEW = 201
    PATIENT_CREATE = 202
    PATIENT_UPDATE = 203
    PATIENT_MERGE = 204
    PATIENT_EXPORT = 205
    PATIENT_DUPLICATE_CHECK = 206

    CLINICAL_VIEW = 300
    CLINICAL_ADD = 301
    CLINICAL_CORRECT = 302
    CLINICAL_RETRACT = 303

    DOCUMENT_UPLOAD = 400
    DOCUMENT_DOWNLOAD = 401
    NOTE_ADD = 402

    PRACTITIONER_VIEW = 500
    PRACTITIONER_SEARCH = 501
    PRACTITIONER_CREATE = 502
    PRACTITIONER_UPDATE = 503

    APPOINTMENT_SEARCH = 700  # calendars and lists (criteria and the appointment ids shown)
    APPOINTMENT_VIEW = 701
    APPOINTMENT_CREATE = 702
    APPOINTMENT_SERIES_CREATE = 703
    APPOINTMENT_RESCHEDULE = 704
    APPOINTMENT_CANCEL = 705
    APPOINTMENT_CHECK_IN = 706
    APPOINTMENT_NO_SHOW = 707
    APPOINTMENT_STATUS_CHANGED = 708  # confirmed, started, fulfilled
    APPOINTMENT_REMINDER_SENT = 709  # a reminder went out (or was skipped): channels, never the text
    APPOINTMENT_REPLY_RECORDED = 710  # a patient answered a reminder (confirm / cancel)
    APPOINTMENT_NOTES_CHANGED = 711  # an appointment's notes edited (their length, never the text)
    SCHEDULE_RESOURCE_CREATE = 720
    SCHEDULE_VISIT_TYPE_CREATE = 721
    SCHEDULE_TEMPLATE_CREATE = 722
    SCHEDULE_EXCEPTION_CREATE = 723
    SCHEDULE_FEED_TOKEN_CHANGED = 724  # a practitioner's calendar-feed address issued or replaced
    SCHEDULE_FEED_READ = 725  # a calendar feed fetched (the appointment ids it listed)
    SCHEDULE_RESOURCE_CHANGED = 726  # a resource taken out of scheduling or put back
    SCHEDULE_VISIT_TYPE_CHANGED = 727  # a visit type withdrawn from booking or offered again
    SCHEDULE_TEMPLATE_CHANGED = 728  # a weekly template ended early (its last day brought forward)
    SCHEDULE_EXCEPTION_REMOVED = 729  # time off, a closure or a holiday taken back
    WAITLIST_VIEW = 730  # a visit type's waitlist (the patient ids shown)
    WAITLIST_ENTRY_CREATE = 731
    WAITLIST_ENTRY_CHANGED = 732  # removed
    WAITLIST_OFFER_CREATE = 733  # a freed time offered to a waiting patient
    WAITLIST_OFFER_CHANGED = 734  # accepted, declined, lapsed
    SURGERY_CASE_SEARCH = 740  # the planning page's case list (the case ids and patient ids shown)
    SURGERY_CASE_CREATE = 741  # a surgical case requested
    SURGERY_CASE_CHANGED = 742  # a case cancelled
    SURGERY_PLAN_CREATE = 743  # the optimizer's draft plan stored (cases placed and unplaced)
    SURGERY_PLAN_VIEW = 744  # a plan's grid (the patient ids shown)
    SURGERY_PLAN_CHANGED = 745  # a plan item moved by hand (before/after)
    SURGERY_PLAN_STATUS_CHANGED = 746  # a plan booked (its appointments) or superseded

    TASK_SEARCH = 800  # the worklist (criteria, the task ids and patient ids shown)
    TASK_VIEW = 801
    TASK_CREATE = 802
    TASK_ASSIGNMENT_CHANGED = 803
    TASK_STATUS_CHANGED = 804
    TASK_DUE_CHANGED = 805  # snoozed, woken, due time moved
    TASK_COMMENT_ADD = 806  # comments and documented contact attempts

    AUDIT_VIEW = 900
    AUDIT_EXPORT = 901
    DEMO_SEEDED = 990

    ENCOUNTER_SEARCH = 1000  # encounter lists and the TCM compliance report (ids shown)
    ENCOUNTER_VIEW = 1001
    ENCOUNTER_CREATE = 1002
    ENCOUNTER_UPDATE = 1003
    ENCOUNTER_CANCEL = 1004  # A11 cancel admit, A13 cancel discharge
    ENCOUNTER_PATIENT_CHANGED = 1005  # an unmatched encounter linked to a patient, or moved by A40
    TCM_EPISODE_CREATE = 1010
    TCM_EPISODE_CANCEL = 1011
    TCM_EPISODE_UPDATE = 1012
    HL7_MESSAGE_CREATE = 1020  # an inbound HL7 v2 message stored (whatever its outcome)
    HL7_MESSAGE_VIEW = 1021
    HL7_MESSAGE_SEARCH = 1022
    DISCHARGE_ITEM_UPDATE = 1030  # a discharge-planning checklist item done, not needed or reopened
    TRANSFER_PACKAGE_CREATE = 1031  # a records-transfer package (FHIR document Bundle) produced
    TRANSFER_SUMMARY_VIEW = 1032  # the printable transfer summary of an encounter

    COVERAGE_VIEW = 1100  # a patient's coverages and their eligibility results
    COVERAGE_CREATE = 1101
    COVERAGE_UPDATE = 1102
    COVERAGE_STATUS_CHANGED = 1103  # ended
    COVERAGE_SEARCH = 1104  # lists across patients (criteria and ids shown)
    PAYER_CREATE = 1110
    PLAN_CREATE = 1111
    ELIGIBILITY_CHECK_CREATE = 1120  # a 270 requested (one patient, or one of a batch)
    ELIGIBILITY_CHECK_UPDATE = 1121  # sent, answered (271), failed
    ELIGIBILITY_CHECK_VIEW = 1122
    ELIGIBILITY_BATCH_CREATE = 1123
    ELIGIBILITY_BATCH_VIEW = 1124  # batch progress (the check and patient ids shown)
    AUTHORIZATION_VIEW = 1130  # a patient's prior authorizations
    AUTHORIZATION_REQUEST = 1131
    AUTHORIZATION_DECISION = 1132  # approved, denied or cancelled
    AUTHORIZATION_USE = 1133  # units used (with an override reason when beyond the authorization)
    AUTHORIZATION_CHECK = 1134  # whether a booking or order has the authorization it needs
    AUTHORIZATION_RULE_CHANGE = 1135  # a payer's or plan's list of services needing authorization

    REFERRAL_SEARCH = 1400  # referral lists (criteria, the referral ids and patient ids shown)
    REFERRAL_VIEW = 1401
    REFERRAL_CREATE = 1402
    REFERRAL_STATUS_CHANGED = 1403  # every step of the loop, re-routing included
    REFERRAL_REPORT_VIEW = 1404  # the loop-closure report (aggregates, no patient)
    REFERRAL_RECEIVER_CREATE = 1410

    COMMUNICATION_SEARCH = 1500  # a patient's communication log (the entry ids shown)
    COMMUNICATION_CREATE = 1501
    COMMUNICATION_VIEW = 1502  # one communication-log entry (API, FHIR Communication)
    LETTER_PREVIEW = 1503  # a letter rendered to PDF without being sent (nothing logged)
    LETTER_PRINT = 1504  # the PDF of a letter in the log, printed again

    CAREPLAN_VIEW = 1600  # a patient's plans (goal status, activities, CCM month)
    CAREPLAN_CREATE = 1601
    CAREPLAN_UPDATE = 1602  # goals and activities edited, activities done
    CAREPLAN_PRINT = 1603  # the patient copy (PDF)
    CCM_CONSENT_CREATE = 1610
    CCM_TIME_CREATE = 1611
    CCM_REPORT_VIEW = 1612  # the month summary (the patient ids shown)
    CCM_REPORT_EXPORT = 1613  # its CSV (the patient ids exported)
    CCM_CONSENT_UPDATE = 1614  # the patient stopped CCM (consent revoked)

    CLAIM_SEARCH = 1700  # claim lists (criteria, the claim ids and patient ids shown)
    CLAIM_VIEW = 1701  # one claim: its lines, diagnoses, scrubber findings and timeline
    CLAIM_CREATE = 1702  # charges entered for a visit (a draft claim with its lines)
    CLAIM_UPDATE = 1703  # lines or diagnoses changed
    CLAIM_STATUS_CHANGED = 1704  # every step of the lifecycle, submission in a batch included
    PROCEDURE_CODES_CREATE = 1710  # a procedure-code list loaded from CSV
    FEE_SCHEDULE_UPDATE = 1711
    VISIT_CHARGE_CREATE = 1712  # a charge-capture mapping added (visit type, procedure code, units)
    VISIT_CHARGE_UPDATE = 1713  # one changed, deactivated or reactivated (before and after)
    REMITTANCE_POST = 1720  # an 835 posted: payments and adjustments on the claims it names
    REMITTANCE_VIEW = 1721  # the remittance list (the remittance ids shown)
    PATIENT_PAYMENT_CREATE = 1740  # a patient payment (co-pay, statement payment) posted to the ledger
    PATIENT_PAYMENT_VIEW = 1741  # a patient's payments listed, or a receipt printed
    PATIENT_ACCOUNT_VIEW = 1742  # a patient's account: balance, ledger lines, aging
    STATEMENT_CREATE = 1743  # a patient statement generated (one row per statement)
    STATEMENT_VIEW = 1744  # statements listed or a statement's PDF opened
    VISIT_CHARGES_CAPTURE = 1745  # charges captured automatically when a visit was completed
    BILLING_REPORT_VIEW = 1760  # A/R aging, denials or collections shown (criteria; sums, no patient)
    BILLING_REPORT_EXPORT = 1761  # the same as CSV
    CLAIM_SCRUBBED = 1762  # the scrubber run on a claim on request (its findings)

    CREDENTIAL_CREATE = 1800  # a license, DEA registration, certification, coverage, history row or document
    CREDENTIAL_UPDATE = 1801  # renewed (new expiry)
    CREDENTIAL_STATUS_CHANGED = 1802  # retired
    CREDENTIALING_CONFIG_CHANGED = 1803  # enforcement at booking switched on or off
    CREDENTIAL_APPLICATION_CREATE = 1810
    CREDENTIAL_VERIFICATION_UPDATE = 1811  # a primary-source verification recorded (who, when, outcome)
    CREDENTIAL_APPLICATION_STATUS_CHANGED = 1812  # approved by the committee
    PRIVILEGE_CREATE = 1820  # requested or granted
    PRIVILEGE_STATUS_CHANGED = 1821  # granted, provisional, suspended, expired
    CREDENTIAL_OVERRIDE_CREATE = 1830  # an administrator booked past a failed credential check (reason kept)
    CREDENTIAL_REPORT_VIEW = 1840  # expiring credentials, blocked services (no patient)
    CREDENTIAL_REPORT_EXPORT = 1841  # their CSV

    EDUCATION_MATERIAL_CREATE = 1900  # a material added to the library
    EDUCATION_VIEW = 1901  # a patient's assigned materials and their deliveries
    EDUCATION_ASSIGNMENT_CREATE = 1902  # a material assigned to a patient (by hand or from a care plan)
    EDUCATION_DELIVERY_CREATE = 1903  # a delivery recorded: printed, portal or e-mail
    EDUCATION_HANDOUT_VIEW = 1904  # a patient's handout opened (printable page, portal, file)

    INVENTORY_VISIT_SUPPLIES_CREATE = 2100  # a completed visit's supplies consumed from its room

    ORDER_SEARCH = 2200  # order lists and a patient's orders (criteria, the order ids and patient ids shown)
    ORDER_VIEW = 2201  # one order with its timeline (page, API, FHIR ServiceRequest read)
    ORDER_CREATE = 2202  # an order written (a draft, or placed at once)
    ORDER_STATUS_CHANGED = 2203  # placed after the checks, started, completed, cancelled, revoked
    ORDER_OVERRIDE_CREATE = 2204  # an administrator placed an order past a failed check (reason kept)
    SERVICE_REQUEST_SEARCH = 2210  # FHIR ServiceRequest search over orders and referrals (the ids shown)

    @property
    def kind(self) -> str:
        """ASTM E2147 type of action: C(reate) R(ead) U(pdate) D(elete) E(xecute)."""
        name = self.name
        if name.endswith(("_CREATE", "_ADD", "_UPLOAD", "_ENROLLED", "_CREATED", "SEEDED")):
            return "C"
        if name.endswith(
            ("_UPDATE", "_CORRECT", "_MERGE", "_CHANGED", "_RESCHEDULE", "_CANCEL", "_CHECK_IN", "_NO_SHOW")
        ):
            return "U"
        if name.endswith(("_RETRACT", "_REMOVED")):
            return "D"
        if name.startswith(("LOGIN", "LOGOUT", "SESSION", "TWO_FACTOR")):
            return "E"
        return "R"

    @property
    def label(self) -> str:
        return self.name.replace("_", " ").capitalize()
