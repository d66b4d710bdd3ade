from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "caredesk.messaging"
    label = "messaging"
    verbose_name = "Communication log"
