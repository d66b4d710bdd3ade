from django.urls import path

from . import planning_views, setup_views, views

app_name = "scheduling"

urlpatterns = [
    path("", views.calendar, name="calendar"),
    path("book/", views.book, name="book"),
    path("slots/", views.slots, name="slots"),
    path("my/", views.my_appointments, name="my_appointments"),
    path("my/book/", views.my_book, name="my_book"),
    path("my/appointments/<int:appointment_id>/cancel/", views.my_cancel, name="my_cancel"),
    path("my/appointments/<int:appointment_id>/change/", views.my_reschedule, name="my_reschedule"),
    path("reply/", views.reply, name="reply"),
    path("feeds/", views.feeds, name="feeds"),
    path("waitlist/", views.waitlist_overview, name="waitlist_overview"),
    path("waitlist/<int:visit_type_id>/", views.waitlist, name="waitlist"),
    path("access/", views.access, name="access"),
    path("access.csv", views.access_csv, name="access_csv"),
    path("offer/", views.offer, name="offer"),
    path("feeds/<int:practitioner_id>/issue/", views.issue_feed, name="issue_feed"),
    path("feeds/<str:token>.ics", views.feed, name="feed"),
    path("appointments/<int:appointment_id>/", views.detail, name="detail"),
    path("patients/<int:patient_id>/panel/", views.patient_panel, name="patient_panel"),
    path("appointments/<int:appointment_id>/reschedule/", views.reschedule, name="reschedule"),
    path("appointments/<int:appointment_id>/cancel/", views.cancel, name="cancel"),
    path("appointments/<int:appointment_id>/check-in/", views.check_in, name="check_in"),
    path("appointments/<int:appointment_id>/no-show/", views.no_show, name="no_show"),
    path("appointments/<int:appointment_id>/status/", views.change_status, name="status"),
    path("appointments/<int:appointment_id>/move/", views.move, name="move"),
    path("day-sheet/", views.day_sheet, name="day_sheet"),
    path("arrivals/", views.arrivals, name="arrivals"),
    path("arrivals/<int:appointment_id>/check-in/", views.arrivals_check_in, name="arrivals_check_in"),
    # Scheduling setup (SCHEDULE_MANAGE): resources, visit types, weekly templates, exceptions.
    path("setup/", setup_views.home, name="setup"),
    path("setup/resources/", setup_views.resources, name="setup_resources"),
    path("setup/resources/new/", setup_views.resource_new, name="setup_resource_new"),
    path(
        "setup/resources/<int:resource_id>/active/",
        setup_views.resource_active,
        name="setup_resource_active",
    ),
    path("setup/visit-types/", setup_views.visit_types, name="setup_visit_types"),
    path("setup/visit-types/new/", setup_views.visit_type_new, name="setup_visit_type_new"),
    path(
        "setup/visit-types/<int:visit_type_id>/active/",
        setup_views.visit_type_active,
        name="setup_visit_type_active",
    ),
    path("setup/templates/", setup_views.templates, name="setup_templates"),
    path("setup/templates/new/", setup_views.template_new, name="setup_template_new"),
    path("setup/templates/<int:template_id>/end/", setup_views.template_end, name="setup_template_end"),
    path("setup/exceptions/", setup_views.exceptions, name="setup_exceptions"),
    path("setup/exceptions/new/", setup_views.exception_new, name="setup_exception_new"),
    path(
        "setup/exceptions/<int:exception_id>/remove/",
        setup_views.exception_remove,
        name="setup_exception_remove",
    ),
    # Surgery and procedure planning: requested cases, the optimizer's draft plan, adjust, book all.
    path("surgery/", planning_views.surgery_cases, name="surgery"),
    path("surgery/cases/new/", planning_views.surgery_case_new, name="surgery_case_new"),
    path(
        "surgery/cases/<int:surgical_case_id>/cancel/",
        planning_views.surgery_case_cancel,
        name="surgery_case_cancel",
    ),
    path("surgery/plans/new/", planning_views.surgery_plan_new, name="surgery_plan_new"),
    path("surgery/plans/<int:surgery_plan_id>/", planning_views.surgery_plan, name="surgery_plan"),
    path(
        "surgery/plans/<int:surgery_plan_id>/items/<int:surgery_item_id>/",
        planning_views.surgery_plan_item,
        name="surgery_plan_item",
    ),
    path(
        "surgery/plans/<int:surgery_plan_id>/book/",
        planning_views.surgery_plan_book,
        name="surgery_plan_book",
    ),
]
