from django.urls import path

from . import views

app_name = "billing"

urlpatterns = [
    path("claims/", views.claim_list, name="claims"),
    path("claims/<int:claim_id>/", views.claim_detail, name="claim"),
    path("claims/<int:claim_id>/status/", views.claim_status, name="claim_status"),
    path("claims/batch/", views.build_batch, name="batch"),
    path("patients/<int:patient_id>/charges/", views.enter_charges, name="charges"),
    path("charges/line/", views.charge_line, name="charge_line"),
    path("remittances/", views.remittance_list, name="remittances"),
]
