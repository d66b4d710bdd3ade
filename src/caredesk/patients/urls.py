from django.urls import path, register_converter

from . import views


class ClinicalEntryType:
    """The chart entries a clinical editor corrects and retracts (notes and documents have their own)."""

    regex = "problem|allergy|medication|observation"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


class CorrectableEntryType(ClinicalEntryType):
    """The chart entries that have a history of corrections."""

    regex = "problem|allergy|medication|observation|note"


register_converter(ClinicalEntryType, "patients_clinical_entry")
register_converter(CorrectableEntryType, "patients_correctable_entry")

app_name = "patients"

urlpatterns = [
    path("", views.search, name="search"),
    path("register/", views.register, name="register"),
    path("register/duplicates/", views.duplicate_check, name="duplicate_check"),
    path("portal/", views.portal_home, name="portal_home"),
    path("portal/documents/<int:document_id>/", views.portal_document, name="portal_document"),
    path("<int:patient_id>/", views.chart, name="chart"),
    path("<int:patient_id>/edit/", views.edit_patient, name="edit"),
    path("<int:patient_id>/merge/", views.merge_patient, name="merge"),
    path("<int:patient_id>/problems/", views.add_problem, name="add_problem"),
    path("<int:patient_id>/allergies/", views.add_allergy, name="add_allergy"),
    path("<int:patient_id>/medications/", views.add_medication, name="add_medication"),
    path("<int:patient_id>/observations/", views.add_observation, name="add_observation"),
    path("<int:patient_id>/notes/", views.add_note, name="add_note"),
    path("<int:patient_id>/documents/", views.add_document, name="add_document"),
    path("documents/<int:document_id>/", views.download_document, name="download_document"),
    path(
        "entries/<patients_clinical_entry:entry_type>/<int:entry_id>/correct/",
        views.correct_entry,
        name="correct_entry",
    ),
    path("entries/note/<int:entry_id>/correct/", views.correct_note, name="correct_note"),
    path(
        "entries/<patients_clinical_entry:entry_type>/<int:entry_id>/retract/",
        views.retract_entry,
        name="retract_entry",
    ),
    path("entries/note/<int:entry_id>/retract/", views.retract_note, name="retract_note"),
    path("entries/document/<int:entry_id>/retract/", views.retract_document, name="retract_document"),
    path(
        "entries/<patients_correctable_entry:entry_type>/<int:entry_id>/history/",
        views.entry_history,
        name="entry_history",
    ),
]
