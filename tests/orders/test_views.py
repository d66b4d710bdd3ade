"""The order pages: reached from the chart; place an order (htmx), see why a check failed and who would
pass, an administrator's override, moving an order along, and the organization's list with filters."""

from __future__ import annotations

import pytest
from django.urls import reverse

from caredesk.accounts.permissions import Role
from caredesk.orders.models import Order

from .conftest import MRI

pytestmark = pytest.mark.django_db


def _form(ordering, **fields: object) -> dict[str, object]:  # type: ignore[no-untyped-def]
    data: dict[str, object] = {
        "kind": "imaging",
        "code": MRI,
        "code_display": "MRI lumbar spine",
        "priority": "routine",
        "practitioner": ordering.clinic.heart.pk,
        "location": ordering.clinic.location.pk,
        "diagnoses": "M54.50",
        "reason": "Back pain",
    }
    data.update(fields)
    return data


@pytest.fixture
def physician(ordering, make_user, client_as):  # type: ignore[no-untyped-def]
    return client_as(make_user(Role.PHYSICIAN, ordering.clinic.org))


@pytest.fixture
def admin(ordering, make_user, client_as):  # type: ignore[no-untyped-def]
    return client_as(make_user(Role.ADMINISTRATOR, ordering.clinic.org))


def test_the_chart_links_to_the_orders_page_and_an_order_is_placed(ordering, physician) -> None:
    patient = ordering.ny_patient
    chart = physician.get(reverse("patients:chart", args=[patient.pk]))
    page_url = reverse("orders:patient", args=[patient.pk])
    assert page_url in chart.content.decode()
    page = physician.get(page_url)
    assert page.status_code == 200
    assert 'data-testid="order-form"' in page.content.decode()
    placed = physician.post(
        reverse("orders:create", args=[patient.pk]), _form(ordering), HTTP_HX_REQUEST="true"
    )
    assert placed.status_code == 204
    assert placed["HX-Redirect"] == page_url
    order = Order.objects.get()
    assert (order.status, order.practitioner_id) == ("active", ordering.clinic.heart.pk)
    shown = physician.get(page_url).content.decode()
    assert "MRI lumbar spine" in shown
    assert "Placed" in shown


def test_a_failed_check_shows_the_reasons_and_who_would_pass(ordering, physician, admin) -> None:
    patient = ordering.nj_patient
    url = reverse("orders:create", args=[patient.pk])
    refused = physician.post(url, _form(ordering, telehealth="on"), HTTP_HX_REQUEST="true")
    assert refused.status_code == 409
    text = refused.content.decode()
    assert "New Jersey license 25MA0001 expired on 2027-01-31" in text
    assert "Who would pass: Finn Family, MD." in text
    assert 'name="override_reason"' not in text  # only administrators may override
    assert not Order.objects.exists()

    as_admin = admin.post(url, _form(ordering, telehealth="on"), HTTP_HX_REQUEST="true")
    assert as_admin.status_code == 409
    assert 'name="override_reason"' in as_admin.content.decode()
    overridden = admin.post(
        url, _form(ordering, telehealth="on", override_reason="Renewal confirmed by phone")
    )
    assert overridden.status_code == 302
    order = Order.objects.get()
    assert order.override_reason == "Renewal confirmed by phone"
    page = admin.get(reverse("orders:patient", args=[patient.pk])).content.decode()
    assert "Placed past a failed check" in page


def test_a_draft_is_overridden_by_an_administrator_only(ordering, physician, admin) -> None:
    draft = ordering.order(patient_id=ordering.nj_patient.pk, telehealth=True, place=False)
    refused = physician.post(reverse("orders:place", args=[draft.pk]), {"version": draft.version})
    assert refused.status_code == 409
    assert "Finn Family, MD" in refused.content.decode()
    assert physician.post(reverse("orders:override", args=[draft.pk]), {"reason": "x"}).status_code == 403
    assert admin.post(reverse("orders:override", args=[draft.pk]), {"reason": ""}).status_code == 400
    draft.refresh_from_db()
    assert draft.status == "draft"
    done = admin.post(
        reverse("orders:override", args=[draft.pk]), {"reason": "Covering", "version": draft.version}
    )
    assert done.status_code == 302
    draft.refresh_from_db()
    assert (draft.status, draft.override_reason) == ("active", "Covering")


def test_moving_an_order_along(ordering, physician) -> None:
    order = ordering.order()
    url = reverse("orders:status", args=[order.pk])
    missing = physician.post(url, {"status": "completed", "note": ""})
    assert missing.status_code == 400
    assert "Record the result" in missing.content.decode()
    order.refresh_from_db()
    assert order.status == "active"
    assert physician.post(url, {"status": "completed", "note": "Normal study."}).status_code == 302
    order.refresh_from_db()
    assert (order.status, order.result) == ("completed", "Normal study.")
    assert physician.post(url, {"status": "revoked", "note": "late"}).status_code == 409


def test_bad_input_is_refused_on_the_form(ordering, physician) -> None:
    url = reverse("orders:create", args=[ordering.ny_patient.pk])
    bad = physician.post(url, _form(ordering, diagnoses="M54.50, QQQ"), HTTP_HX_REQUEST="true")
    assert bad.status_code == 400
    assert "Not ICD-10-CM diagnosis codes: QQQ." in bad.content.decode()
    unknown = physician.post(url, _form(ordering, kind="xray"), HTTP_HX_REQUEST="true")
    assert unknown.status_code == 400
    assert physician.post(reverse("orders:create", args=[987_654]), _form(ordering)).status_code == 404
    assert not Order.objects.exists()


def test_the_organizations_list_filters_by_status_and_kind(ordering, make_user, client_as) -> None:
    ordering.order()
    ordering.order(kind="lab", code="58410-2", code_display="CBC panel", practitioner_id=None, place=False)
    coordinator = client_as(make_user(Role.COORDINATOR, ordering.clinic.org))
    everything = coordinator.get(reverse("orders:list")).content.decode()
    assert "MRI lumbar spine" in everything
    assert "CBC panel" in everything
    drafts = coordinator.get(reverse("orders:list"), {"status": "draft"}).content.decode()
    assert "CBC panel" in drafts
    assert "MRI lumbar spine" not in drafts
    imaging = coordinator.get(reverse("orders:list"), {"kind": "imaging"}).content.decode()
    assert "MRI lumbar spine" in imaging
    assert "CBC panel" not in imaging
    assert coordinator.get(reverse("orders:list"), {"status": "bogus"}).status_code == 400
    billing = client_as(make_user(Role.BILLING, ordering.clinic.org))
    assert billing.get(reverse("orders:list")).status_code == 403
