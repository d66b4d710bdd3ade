"""caredesk demo_logins: print the demo accounts, their password and the administrator's TOTP secret."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from caredesk.demo import services

URL = "http://127.0.0.1:8000/"


class Command(BaseCommand):
    help = (
        "Print one demo login per role (after seed_demo), the administrator's TOTP secret and a current code."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        logins = services.demo_logins()
        if not logins:
            self.stdout.write(
                "No demo data in this database: load it with `caredesk seed_demo` (into an empty database)."
            )
            return
        self.stdout.write(self.style.MIGRATE_HEADING(f"Caredesk demo logins: {URL}"))
        self.stdout.write(f"Password for every account: {services.DEMO_PASSWORD}\n")
        rows = [("username", "role", "organization", "name")]
        rows += [(x.username, x.role_label, x.organization, x.name) for x in logins]
        widths = [max(len(row[i]) for row in rows) for i in range(3)]
        for index, row in enumerate(rows):
            line = "  ".join(value.ljust(width) for value, width in zip(row, widths, strict=False))
            self.stdout.write(f"  {line}  {row[3]}".rstrip())
            if index == 0:
                self.stdout.write("  " + "  ".join("-" * width for width in widths) + "  " + "-" * 4)
        secret = services.admin_totp()
        if secret is not None:
            self.stdout.write(
                f"\nThe administrator ({secret.username}) signs in with a second factor (TOTP).\n"
                f"  Secret for an authenticator app: {secret.base32}\n"
                f"  otpauth URL (paste or turn into a QR code): {secret.otpauth_url}\n"
                f"  Code valid now: {secret.current_code} (for {secret.seconds_left} more seconds; run "
                "`caredesk demo_logins` again for a fresh one)\n"
                "These are demo credentials: never use them outside a local demo."
            )
