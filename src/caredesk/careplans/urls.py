from django.urls import path

from . import views

app_name = "careplans"

urlpatterns = [
    path("patients/<int:patient_id>/", views.patient_plans, name="patient"),
    path("patients/<int:patient_id>/new/", views.new_plan, name="new"),
    path("patients/<int:patient_id>/ccm/consent/", views.record_consent, name="consent"),
    path("patients/<int:patient_id>/ccm/stop/", views.revoke_consent, name="revoke_consent"),
    path("patients/<int:patient_id>/ccm/time/", views.log_time, name="log_time"),
    path("goals/<int:goal_id>/edit/", views.edit_goal, name="edit_goal"),
    path("goals/<int:goal_id>/cancel/", views.cancel_goal, name="cancel_goal"),
    path("activities/<int:activity_id>/edit/", views.edit_activity, name="edit_activity"),
    path("activities/<int:activity_id>/done/", views.activity_done, name="activity_done"),
    path("activities/<int:activity_id>/cancel/", views.cancel_activity, name="cancel_activity"),
    path("plans/<int:plan_id>/pdf/", views.plan_pdf, name="pdf"),
    path("plans/<int:plan_id>/activities/", views.add_activity, name="add_activity"),
    path("plans/<int:plan_id>/close/", views.close_plan, name="close"),
    path("plans/<int:plan_id>/goals/", views.add_goal, name="add_goal"),
    path("plans/<int:plan_id>/team/", views.add_team_member, name="add_team_member"),
    path("team/<int:team_member_id>/remove/", views.remove_team_member, name="remove_team_member"),
    path("ccm/", views.ccm_summary, name="ccm"),
    path("ccm/export.csv", views.ccm_export, name="ccm_export"),
    path("mine/", views.my_plans, name="mine"),
    path("mine/<int:plan_id>/pdf/", views.my_plan_pdf, name="my_pdf"),
]
