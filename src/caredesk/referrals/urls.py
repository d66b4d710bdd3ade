from django.urls import path

from . import views

app_name = "referrals"

urlpatterns = [
    path("", views.referral_list, name="list"),
    path("patients/<int:patient_id>/", views.patient_referrals, name="patient"),
    path("patients/<int:patient_id>/new/", views.new_referral, name="new"),
    path("patients/<int:patient_id>/inbound/new/", views.new_inbound_referral, name="new_inbound"),
    path(
        "<int:referral_id>/", views.referral_detail, name="referral"
    ),  # "app:model": the worklist links tasks here
    path("<int:referral_id>/action/", views.referral_action, name="action"),
    path("receivers/", views.receivers, name="receivers"),
    path("report/", views.report, name="report"),
    path("report.csv", views.report_csv, name="report_csv"),
]
