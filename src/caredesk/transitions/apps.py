from django.apps import AppConfig


class TransitionsConfig(AppConfig):
    name = "caredesk.transitions"
    label = "transitions"
    verbose_name = "Transitions of care"

    def ready(self) -> None:
        # Imported here: app modules that touch models load only once the registry is ready.
        from caredesk.patients.services import register_merge_hook

        from .services import move_encounters_on_merge

        register_merge_hook(move_encounters_on_merge)
