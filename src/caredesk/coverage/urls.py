from django.urls import path

from . import views

app_name = "coverage"

urlpatterns = [
    path("patients/<int:patient_id>/", views.patient_coverage, name="patient"),
    path("patients/<int:patient_id>/add/", views.add_coverage, name="add"),
    path("<int:coverage_id>/edit/", views.edit_coverage, name="edit"),
    path("<int:coverage_id>/end/", views.end_coverage, name="end"),
    path("<int:coverage_id>/check/", views.check_eligibility, name="check"),
    path("eligibility/<int:check_id>/", views.eligibility_check, name="eligibility_check"),
    path("eligibility/batches/", views.batches, name="batches"),
    path("eligibility/batches/<int:batch_id>/", views.batch, name="batch"),
    path("eligibility/inbox/", views.collect_responses, name="collect"),
    path("payers/", views.payers, name="payers"),
]
