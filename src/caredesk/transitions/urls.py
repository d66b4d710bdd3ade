from django.urls import path

from . import views

app_name = "transitions"

# `encounter` and `inboundmessage` are named after their models: worklist tasks caused by them link here
# (a task's source "transitions.encounter" + id).
urlpatterns = [
    path("", views.encounters, name="encounters"),
    path("encounters/<int:encounter_id>/", views.encounter, name="encounter"),
    path("encounters/<int:encounter_id>/link/", views.link_patient, name="link_patient"),
    path("encounters/<int:encounter_id>/checklist/<str:item>/", views.checklist_item, name="checklist_item"),
    path("encounters/<int:encounter_id>/summary/", views.transfer_summary, name="summary"),
    path("tcm/", views.tcm_report, name="tcm_report"),
    path("tcm/<int:episode_id>/complexity/", views.tcm_complexity, name="tcm_complexity"),
    path("messages/", views.message_log, name="messages"),
    path("messages/<int:message_id>/", views.inbound_message, name="inboundmessage"),
]
