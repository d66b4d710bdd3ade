from django.apps import AppConfig


class CredentialingConfig(AppConfig):
    name = "caredesk.credentialing"
    label = "credentialing"
    verbose_name = "Credentialing and privileges"
