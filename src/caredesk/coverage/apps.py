from django.apps import AppConfig


class CoverageConfig(AppConfig):
    name = "caredesk.coverage"
    label = "coverage"
    verbose_name = "Coverage and eligibility"

    def ready(self) -> None:
        # Imported here: app modules that touch models load only once the registry is ready.
        from caredesk.patients.services import register_merge_hook

        from .services import move_coverages_on_merge

        register_merge_hook(move_coverages_on_merge)
