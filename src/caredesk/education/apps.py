from django.apps import AppConfig


class EducationConfig(AppConfig):
    name = "caredesk.education"
    label = "education"
    verbose_name = "Patient education"

    def ready(self) -> None:
        # Imported here: app modules that touch models load only once the registry is ready.
        from caredesk.patients.services import register_merge_hook

        from .services import move_assignments_on_merge

        register_merge_hook(move_assignments_on_merge)
