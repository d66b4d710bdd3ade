"""The demo network comes with insurance: payers answering through the test payer, plans, and coverages
for its first patients, so "Check eligibility" works in the demo."""

from __future__ import annotations

import pytest

from caredesk.accounts.models import User
from caredesk.accounts.permissions import Role
from caredesk.accounts.services import actor_for_user
from caredesk.coverage import services
from caredesk.coverage.models import Coverage, EligibilityCheck, Payer, Plan
from caredesk.demo.services import seed_demo


@pytest.mark.django_db
def test_seed_demo_loads_insurance_that_can_be_checked(
    settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    settings.CAREDESK_X12_DIR = tmp_path / "x12"
    report = seed_demo(patients=60, seed=7, batch_size=100)
    assert report.counts["coverages"] == Coverage.objects.count() > 0
    assert (
        Payer.objects.filter(clearinghouse_route="test_payer").count()
        == 3 * Payer.objects.values("organization").distinct().count()
    )
    assert Plan.objects.filter(copay__isnull=False).exists()
    orders = set(Coverage.objects.values_list("order", flat=True))
    assert 1 in orders
    coverage = Coverage.objects.filter(order=1).order_by("pk").first()
    desk = User.objects.filter(organization_id=coverage.organization_id, role=Role.FRONT_DESK).first()
    with django_capture_on_commit_callbacks(execute=True):
        check = services.request_eligibility_check(actor=actor_for_user(desk), coverage_id=coverage.pk)
    check = EligibilityCheck.objects.get(pk=check.pk)
    assert check.status in {"active", "inactive", "rejected"}
