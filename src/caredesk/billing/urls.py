from django.urls import path

from . import report_views, setup_views, views

app_name = "billing"

urlpatterns = [
    path("claims/", views.claim_list, name="claims"),
    path("claims/<int:claim_id>/", views.claim_detail, name="claim"),
    path("claims/<int:claim_id>/status/", views.claim_status, name="claim_status"),
    path("claims/<int:claim_id>/diagnoses/", views.claim_diagnoses, name="claim_diagnoses"),
    path("claims/batch/", views.build_batch, name="batch"),
    path("patients/<int:patient_id>/charges/", views.enter_charges, name="charges"),
    path("charges/line/", views.charge_line, name="charge_line"),
    path("remittances/", views.remittance_list, name="remittances"),
    path("patients/<int:patient_id>/account/", views.patient_account, name="account"),
    path("patients/<int:patient_id>/account/panel/", views.account_panel, name="account_panel"),
    path("patients/<int:patient_id>/payments/", views.record_payment, name="record_payment"),
    path("patients/<int:patient_id>/statements/", views.create_statement, name="create_statement"),
    path("payments/<int:payment_id>/receipt.pdf", views.receipt, name="receipt"),
    path("statements/<int:statement_id>/statement.pdf", views.statement_pdf, name="statement_pdf"),
    path("reports/", report_views.report_page, name="reports"),
    path("reports/aging.csv", report_views.aging_csv, name="report_aging_csv"),
    path("reports/denials.csv", report_views.denials_csv, name="report_denials_csv"),
    path("reports/collections.csv", report_views.collections_csv, name="report_collections_csv"),
    path("visit-charges/", setup_views.visit_charge_list, name="visit_charges"),
    path("visit-charges/<int:charge_id>/", setup_views.visit_charge_edit, name="visit_charge"),
    path(
        "visit-charges/<int:charge_id>/active/", setup_views.visit_charge_active, name="visit_charge_active"
    ),
]
