from django.apps import AppConfig


class WorklistConfig(AppConfig):
    name = "caredesk.worklist"
    label = "worklist"
    verbose_name = "Worklist"

    def ready(self) -> None:
        # Imported here: app modules that touch models load only once the registry is ready.
        from caredesk.patients.services import register_merge_hook

        from .services import move_tasks_on_merge

        register_merge_hook(move_tasks_on_merge)
