from django.urls import path

from . import views

app_name = "credentialing"

urlpatterns = [
    path("", views.index, name="index"),
    path("practitioners/<int:practitioner_id>/", views.practitioner_file, name="file"),
    path(
        "practitioners/<int:practitioner_id>/licenses/new/",
        views.add_credential,
        {"kind": "license"},
        name="add_license",
    ),
    path(
        "practitioners/<int:practitioner_id>/dea/new/", views.add_credential, {"kind": "dea"}, name="add_dea"
    ),
    path(
        "practitioners/<int:practitioner_id>/boards/new/",
        views.add_credential,
        {"kind": "board"},
        name="add_board",
    ),
    path(
        "practitioners/<int:practitioner_id>/malpractice/new/",
        views.add_credential,
        {"kind": "malpractice"},
        name="add_malpractice",
    ),
    path(
        "practitioners/<int:practitioner_id>/history/new/",
        views.add_credential,
        {"kind": "history"},
        name="add_history",
    ),
    path(
        "practitioners/<int:practitioner_id>/privileges/new/",
        views.add_credential,
        {"kind": "privilege"},
        name="add_privilege",
    ),
    path("practitioners/<int:practitioner_id>/documents/", views.upload_document, name="upload_document"),
    path(
        "practitioners/<int:practitioner_id>/applications/", views.open_application, name="open_application"
    ),
    path("credentials/<str:kind>/<int:credential_id>/renew/", views.renew, name="renew"),
    path("credentials/<str:kind>/<int:credential_id>/retire/", views.retire, name="retire"),
    path("privileges/<int:privilege_id>/status/", views.privilege_status, name="privilege_status"),
    path("applications/<int:application_id>/verify/", views.verify, name="verify"),
    path("applications/<int:application_id>/approve/", views.approve, name="approve"),
    path("reports/expiring/", views.expiring_report, name="expiring"),
    path("reports/expiring.csv", views.expiring_csv, name="expiring_csv"),
    path("reports/blocked/", views.blocked_report, name="blocked"),
    path("reports/blocked.csv", views.blocked_csv, name="blocked_csv"),
]
