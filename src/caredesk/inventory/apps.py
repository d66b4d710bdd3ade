from django.apps import AppConfig


class InventoryConfig(AppConfig):
    name = "caredesk.inventory"
    label = "inventory"
    verbose_name = "Supplies and inventory"

    def ready(self) -> None:
        # Completing a visit consumes its supplies. Scheduling sits below inventory in the layers, so it
        # cannot call us: it offers a hook list and we register our consumer here (imported once the
        # registry is ready, like the patients merge hooks).
        from caredesk.scheduling.hooks import register_fulfilled_hook

        from .services import consume_for_fulfilled_visit

        register_fulfilled_hook(consume_for_fulfilled_visit)
