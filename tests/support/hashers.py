"""The password hasher the test suite uses: Argon2 at its lowest cost.

Production hashes with Django's Argon2PasswordHasher (about 0.1 s of CPU per password, on purpose). The
suite creates thousands of users (every fixture, every demo seed), so it hashes with the same algorithm
and format at the lowest work factor; tests/accounts/test_sign_in.py checks the production setting and a
production-cost hash. Django's documentation recommends a faster hasher for tests for the same reason.
"""

from __future__ import annotations

from django.contrib.auth.hashers import Argon2PasswordHasher


class QuickArgon2PasswordHasher(Argon2PasswordHasher):
    time_cost = 1
    memory_cost = 8
    parallelism = 1
