from django.urls import path

from . import views

app_name = "scheduling"

urlpatterns = [
    path("", views.calendar, name="calendar"),
    path("book/", views.book, name="book"),
    path("slots/", views.slots, name="slots"),
    path("my/", views.my_appointments, name="my_appointments"),
    path("appointments/<int:appointment_id>/", views.detail, name="detail"),
    path("appointments/<int:appointment_id>/reschedule/", views.reschedule, name="reschedule"),
    path("appointments/<int:appointment_id>/cancel/", views.cancel, name="cancel"),
    path("appointments/<int:appointment_id>/check-in/", views.check_in, name="check_in"),
    path("appointments/<int:appointment_id>/no-show/", views.no_show, name="no_show"),
    path("appointments/<int:appointment_id>/status/", views.change_status, name="status"),
]
