"""The demo clinics' orders, written through the orders services once credential files exist (so the
checks run as they would for a person): in the first organization, for its first patients, a CBC placed
without an ordering practitioner, an HbA1c completed with its result, a knee joint injection placed by the
first practitioner (granted that privilege, and the MRI's, at their clinic first), a lumbar MRI by the
same practitioner and a CPAP machine kept as a draft. An order the checks refuse is kept as a draft, to be
placed from the patient's orders page: the MRI is, when the patient's payer requires a prior
authorization for it (demo/insurance.py) and none is on file."""

from __future__ import annotations

from dataclasses import dataclass

from caredesk.accounts.models import Location, Organization
from caredesk.accounts.permissions import Permission
from caredesk.core.context import Actor, system_actor
from caredesk.credentialing import services as credential_services
from caredesk.orders import services
from caredesk.orders.errors import OrderCheckFailed
from caredesk.orders.models import Order
from caredesk.patients import selectors as patient_selectors
from caredesk.practitioners import selectors as practitioner_selectors

_PERMISSIONS = frozenset(
    str(p)
    for p in (
        Permission.ORDER_VIEW,
        Permission.ORDER_PLACE,
        Permission.PATIENT_VIEW,
        Permission.PRACTITIONER_VIEW,
        Permission.CREDENTIAL_MANAGE,
    )
)
MRI = "72148"
INJECTION = "20610"


@dataclass
class OrderReport:
    orders: int = 0


def _actor(organization: Organization) -> Actor:
    return system_actor(
        organization_id=organization.pk, permissions=_PERMISSIONS, channel="cli", username="demo-orders"
    )


def _write(actor: Actor, data: services.OrderInput, *, place: bool) -> Order:
    if place:
        try:
            return services.create_order(actor=actor, data=data, place=True)
        except OrderCheckFailed:
            pass
    return services.create_order(actor=actor, data=data, place=False)


def load_orders(organizations: list[Organization]) -> OrderReport:
    report = OrderReport()
    if not organizations:
        return report
    organization = organizations[0]
    actor = _actor(organization)
    patients = list(patient_selectors.patient_queryset(actor).order_by("pk").values_list("pk", flat=True)[:4])
    practitioner = (
        practitioner_selectors.practitioner_queryset(actor)
        .filter(active=True)
        .prefetch_related("locations")
        .first()
    )
    location = Location.objects.filter(organization=organization).order_by("pk").first()
    if len(patients) < 4 or practitioner is None or location is None:
        return report
    clinic = practitioner.locations.order_by("pk").first() or location
    for code, label in ((MRI, "MRI lumbar spine"), (INJECTION, "Arthrocentesis, major joint")):
        credential_services.request_privilege(
            actor=actor,
            practitioner_id=practitioner.pk,
            data=credential_services.PrivilegeInput(
                location_id=clinic.pk, service_code=code, service_label=label, status="granted"
            ),
        )

    def order(patient_id: int, kind: str, code: str, display: str, **fields: object) -> services.OrderInput:
        values: dict[str, object] = {"location_id": location.pk, **fields}
        return services.OrderInput(
            patient_id=patient_id,
            kind=kind,
            code=code,
            code_display=display,
            **values,  # type: ignore[arg-type]
        )

    _write(actor, order(patients[0], "lab", "58410-2", "CBC panel", diagnoses=["Z00.00"]), place=True)
    a1c = _write(
        actor,
        order(
            patients[1], "lab", "4548-4", "Hemoglobin A1c", diagnoses=["E11.9"], reason="Diabetes follow-up"
        ),
        place=True,
    )
    if a1c.status == "active":
        services.change_status(actor=actor, order_id=a1c.pk, status="completed", note="HbA1c 7.4 %.")
    _write(
        actor,
        order(
            patients[2],
            "imaging",
            MRI,
            "MRI lumbar spine without contrast",
            practitioner_id=practitioner.pk,
            location_id=clinic.pk,
            diagnoses=["M54.50"],
            reason="Low back pain for 8 weeks despite physical therapy",
        ),
        place=True,
    )
    _write(
        actor,
        order(
            patients[3],
            "procedure",
            INJECTION,
            "Knee joint injection",
            practitioner_id=practitioner.pk,
            location_id=clinic.pk,
            diagnoses=["M17.11"],
            reason="Right knee osteoarthritis",
        ),
        place=True,
    )
    _write(
        actor,
        order(
            patients[3], "dme", "E0601", "CPAP device", diagnoses=["G47.33"], reason="Obstructive sleep apnea"
        ),
        place=False,
    )
    report.orders = Order.objects.filter(organization=organization).count()
    return report
