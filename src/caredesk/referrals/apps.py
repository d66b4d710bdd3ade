from django.apps import AppConfig


class ReferralsConfig(AppConfig):
    name = "caredesk.referrals"
    label = "referrals"
    verbose_name = "Referrals"

    def ready(self) -> None:
        # Imported here: app modules that touch models load only once the registry is ready.
        from caredesk.patients.services import register_merge_hook

        from .services import move_referrals_on_merge

        register_merge_hook(move_referrals_on_merge)
