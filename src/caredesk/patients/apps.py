from django.apps import AppConfig


class PatientsConfig(AppConfig):
    name = "caredesk.patients"
    label = "patients"
