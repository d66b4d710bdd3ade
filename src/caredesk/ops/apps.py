from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "caredesk.ops"
    label = "ops"
    verbose_name = "Operations"

    def ready(self) -> None:
        # Completing a visit captures its charges. Billing sits below scheduling in the layers, so neither
        # may import the other's hook and use case both; ops, above every domain app, connects them.
        from caredesk.billing.payments import capture_for_fulfilled_visit
        from caredesk.scheduling.hooks import register_fulfilled_hook

        register_fulfilled_hook(capture_for_fulfilled_visit)
