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
    path(
        "patients/<int:patient_id>/authorizations/new/",
        views.request_authorization,
        name="request_authorization",
    ),
    path("authorizations/<int:authorization_id>/", views.authorization, name="authorization"),
    path(
        "authorizations/<int:authorization_id>/approve/",
        views.approve_authorization,
        name="approve_authorization",
    ),
    path("authorizations/<int:authorization_id>/deny/", views.deny_authorization, name="deny_authorization"),
    path(
        "authorizations/<int:authorization_id>/cancel/",
        views.cancel_authorization,
        name="cancel_authorization",
    ),
    path("authorizations/<int:authorization_id>/use/", views.use_authorization, name="use_authorization"),
    path("authorization-rules/", views.authorization_rules, name="authorization_rules"),
]
