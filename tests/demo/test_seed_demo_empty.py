"""seed_demo and demo_logins on an empty database (test_seed_demo.py shares one seeded demo per module)."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from caredesk.accounts.models import Organization
from caredesk.patients.models import Patient

from .test_seed_demo import seed

pytestmark = pytest.mark.django_db


def test_if_empty_seeds_an_empty_database():
    out = seed("--if-empty", "--patients", "12", "--seed", "3")
    assert "Demo network loaded (seed 3)" in out
    assert Patient.objects.count() == 12


def test_bad_arguments_are_refused_before_anything_is_written():
    with pytest.raises(CommandError):
        seed("--patients", "0")
    with pytest.raises(CommandError):
        seed("--patients", "many")
    assert not Organization.objects.exists()


def test_demo_logins_without_demo_data_says_so():
    out = io.StringIO()
    call_command("demo_logins", stdout=out)
    assert "No demo data" in out.getvalue()
    assert "seed_demo" in out.getvalue()
