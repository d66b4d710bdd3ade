from django.apps import AppConfig


class SchedulingConfig(AppConfig):
    name = "caredesk.scheduling"
    label = "scheduling"
    verbose_name = "Scheduling"

    def ready(self) -> None:
        # Imported here: app modules that touch models load only once the registry is ready.
        from caredesk.patients.services import register_merge_hook

        from .services import move_appointments_on_merge

        register_merge_hook(move_appointments_on_merge)

        from caredesk.coverage.services import register_authorization_hook

        from .authorizations import close_tasks_on_approval, use_on_fulfilment
        from .hooks import register_fulfilled_hook

        register_authorization_hook(close_tasks_on_approval)
        register_fulfilled_hook(use_on_fulfilment)
