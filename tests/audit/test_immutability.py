"""Audit rows cannot be changed or removed: not through the model, not through a queryset, not through SQL."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from caredesk.audit.codes import AuditAction
from caredesk.audit.models import AuditEvent, AuditImmutable


@pytest.fixture
def event(coordinator_actor, add_event) -> AuditEvent:
    return add_event(coordinator_actor, AuditAction.PATIENT_SEARCH, detail={"q": "smith"})


def _unchanged(event: AuditEvent) -> None:
    stored = AuditEvent.objects.get(pk=event.pk)
    assert stored.actor_username == "coord"
    assert stored.detail == {"q": "smith"}


def test_model_save_of_an_existing_row_is_refused(event):
    event.actor_username = "someone-else"
    with pytest.raises(AuditImmutable):
        event.save()
    _unchanged(event)


def test_model_delete_is_refused(event):
    with pytest.raises(AuditImmutable):
        event.delete()
    _unchanged(event)


def test_queryset_update_and_delete_are_refused(event):
    with pytest.raises(AuditImmutable):
        AuditEvent.objects.filter(pk=event.pk).update(actor_username="x")
    with pytest.raises(AuditImmutable):
        AuditEvent.objects.all().delete()
    _unchanged(event)


def test_raw_sql_update_is_rejected_by_the_database(event):
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("UPDATE audit_auditevent SET actor_username = %s WHERE id = %s", ["x", event.pk])
    _unchanged(event)


def test_raw_sql_delete_is_rejected_by_the_database(event):
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [event.pk])
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM audit_auditevent")
    _unchanged(event)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="TRUNCATE exists on PostgreSQL only")
def test_truncate_is_rejected_on_postgresql(event):
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("TRUNCATE audit_auditevent")
    _unchanged(event)


def test_the_database_still_accepts_new_rows(event, coordinator_actor, add_event):
    add_event(coordinator_actor, AuditAction.PATIENT_VIEW, patient_id=7)
    assert AuditEvent.objects.count() == 2
