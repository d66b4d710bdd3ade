from django.urls import path

from . import views

app_name = "worklist"

urlpatterns = [
    path("", views.worklist, name="list"),
    path("assign/", views.bulk_assign, name="bulk_assign"),
    path("new/", views.new_task, name="new"),
    path("patients/<int:patient_id>/panel/", views.patient_panel, name="patient_panel"),
    path("tasks/<int:task_id>/", views.task_detail, name="task"),
    path("tasks/<int:task_id>/status/", views.task_status, name="task_status"),
    path("tasks/<int:task_id>/assign/", views.task_assign, name="task_assign"),
    path("tasks/<int:task_id>/snooze/", views.task_snooze, name="task_snooze"),
    path("tasks/<int:task_id>/comments/", views.task_comment, name="task_comment"),
]
