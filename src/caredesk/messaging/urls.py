from django.urls import path

from . import views

app_name = "messaging"

urlpatterns = [
    path("patients/<int:patient_id>/", views.patient_log, name="patient_log"),
    path("patients/<int:patient_id>/log/", views.log_communication, name="log"),
    path("patients/<int:patient_id>/letters/", views.letter, name="letter"),
    path("letters/<int:communication_id>/pdf/", views.letter_pdf, name="letter_pdf"),
    path("faxes/<int:communication_id>/document/", views.fax_document, name="fax_document"),
]
