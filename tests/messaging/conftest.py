"""The communication log reuses the referrals fixtures (staff, a patient, receivers, a referral builder)."""

from tests.referrals.conftest import (  # noqa: F401  (fixtures)
    actors,
    coord,
    heart,
    make_referral,
    other_patient,
    patient,
    staff,
    stranger,
)
