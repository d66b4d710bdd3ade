from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "caredesk.billing"
    label = "billing"
    verbose_name = "Charges and claims"
