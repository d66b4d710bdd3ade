from django.apps import AppConfig


class InteropConfig(AppConfig):
    name = "caredesk.interop"
    label = "interop"
    verbose_name = "Interoperability (JSON API, FHIR, HL7 v2, X12)"
