from django.apps import AppConfig


class PractitionersConfig(AppConfig):
    name = "caredesk.practitioners"
    label = "practitioners"
