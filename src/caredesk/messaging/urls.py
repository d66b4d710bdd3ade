from django.urls import path

from . import views

app_name = "messaging"

urlpatterns = [
    path("patients/<int:patient_id>/", views.patient_log, name="patient_log"),
    path("patients/<int:patient_id>/log/", views.log_communication, name="log"),
]
