from django.apps import AppConfig


class CareplansConfig(AppConfig):
    name = "caredesk.careplans"
    label = "careplans"
    verbose_name = "Care plans and chronic care management"

    def ready(self) -> None:
        # Imported here: app modules that touch models load only once the registry is ready.
        from caredesk.patients.services import register_merge_hook

        from .services import move_plans_on_merge

        register_merge_hook(move_plans_on_merge)
