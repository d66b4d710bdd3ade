"""Where a task's "Caused by" links: the page that shows what caused the task, by `source_type`.

An explicit map, kept here as strings only (URL names and arguments): the apps that cause tasks sit above
the worklist in the layers, so the worklist never imports their views or models. Every `source_type` an app
passes to `services.create_task` has an entry; a task of an unknown source shows its source without a
link. The link is shown only when the viewer holds the permission the target page declares, so it never
leads to a 403.

Arguments are literal strings or one of the placeholders `SOURCE_ID` (the task's `source_id`) and
`PATIENT_ID` (the task's patient); `fragment` may use `{source_id}`.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import NoReverseMatch, Resolver404, resolve, reverse

from caredesk.core.context import Actor

SOURCE_ID = "<source_id>"
PATIENT_ID = "<patient_id>"


@dataclass(frozen=True)
class SourcePage:
    label: str  # what the source is, in words ("appointment" -> "Appointment #12")
    url_name: str
    args: tuple[str, ...] = (SOURCE_ID,)
    fragment: str = ""


def _credential(label: str, kind: str) -> SourcePage:
    # A credential task carries the credential, not its practitioner: its renewal page shows the
    # credential and the practitioner's file (and is where the task asks the user to go).
    return SourcePage(label, "credentialing:renew", (kind, SOURCE_ID))


SOURCE_PAGES: dict[str, SourcePage] = {
    # scheduling: no-show follow-up calls, prior authorizations
    "scheduling.appointment": SourcePage("appointment", "scheduling:detail"),
    # careplans: overdue activities name the plan; the patient's care-plan page shows it (#plan-<id>)
    "careplans.careplan": SourcePage("care plan", "careplans:patient", (PATIENT_ID,), "plan-{source_id}"),
    # credentialing: expiring credentials (`credentialing.<CredentialKind>`)
    "credentialing.license": _credential("state license", "license"),
    "credentialing.dea": _credential("DEA registration", "dea"),
    "credentialing.board": _credential("board certification", "board"),
    "credentialing.malpractice": _credential("malpractice coverage", "malpractice"),
    # billing: claim follow-up; an unmatched remittance line has no claim, the remittance list shows it
    "billing.claim": SourcePage("claim", "billing:claim"),
    "billing.remittanceclaim": SourcePage("remittance payment", "billing:remittances", ()),
    # coverage: failed eligibility checks
    "coverage.eligibility_check": SourcePage("eligibility check", "coverage:eligibility_check"),
    # inventory: reorder alerts
    "inventory.stocklocation": SourcePage("stock location", "inventory:stocklocation"),
    # referrals: follow-ups
    "referrals.referral": SourcePage("referral", "referrals:referral"),
    # transitions: TCM, discharge and match reviews; merge reviews
    "transitions.encounter": SourcePage("encounter", "transitions:encounter"),
    "transitions.inboundmessage": SourcePage("inbound message", "transitions:inboundmessage"),
}


def _declared_permission(path: str) -> object:
    """The permission the page at `path` declares (accounts.decorators.require_permission), None for a
    public page."""
    try:
        view: object = resolve(path).func
    except Resolver404:
        return None
    while view is not None:
        if hasattr(view, "required_permission"):
            return view.required_permission
        view = getattr(view, "__wrapped__", None)
    return None


def source_link(actor: Actor, source_type: str, source_id: str, patient_id: int | None) -> tuple[str, str]:
    """(label, URL) of what caused a task: ("appointment #12", "/scheduling/appointments/12/"). The URL is
    "" for an unknown source, a page the map cannot address, or one the actor may not open."""
    if not source_type or not source_id:
        return "", ""
    page = SOURCE_PAGES.get(source_type)
    if page is None:
        return f"{source_type} #{source_id}", ""
    label = f"{page.label} #{source_id}"
    if PATIENT_ID in page.args and patient_id is None:
        return label, ""
    args = [source_id if a == SOURCE_ID else str(patient_id) if a == PATIENT_ID else a for a in page.args]
    try:
        url = reverse(page.url_name, args=args)
    except NoReverseMatch:
        return label, ""
    permission = _declared_permission(url)
    if permission is not None and not actor.has(str(permission)):
        return label, ""
    if page.fragment:
        url += "#" + page.fragment.format(source_id=source_id)
    return label, url
