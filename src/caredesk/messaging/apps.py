from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "caredesk.messaging"
    label = "messaging"
    verbose_name = "Communication log"

    def ready(self) -> None:
        # Imported here: app modules that touch models load only once the registry is ready. Referrals sit
        # below messaging, so they tell the communication log through this hook.
        from caredesk.referrals.services import register_referrer_notifier

        from .services import log_referrer_notice

        register_referrer_notifier(log_referrer_notice)
