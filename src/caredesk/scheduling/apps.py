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
