from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "caredesk.audit"
    label = "audit"
    verbose_name = "Audit trail"
