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

        from caredesk.messaging.hooks import register_logged_hook
        from caredesk.scheduling.hooks import register_fulfilled_hook

        from .services import complete_contact_on_communication, complete_visit_on_fulfilment

        register_fulfilled_hook(complete_visit_on_fulfilment)
        register_logged_hook(complete_contact_on_communication)
