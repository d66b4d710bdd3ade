from django.urls import path

from . import views

app_name = "scheduling"

urlpatterns = [
    path("", views.calendar, name="calendar"),
    path("book/", views.book, name="book"),
    path("slots/", views.slots, name="slots"),
    path("my/", views.my_appointments, name="my_appointments"),
    path("reply/", views.reply, name="reply"),
    path("feeds/", views.feeds, name="feeds"),
    path("waitlist/<int:visit_type_id>/", views.waitlist, name="waitlist"),
    path("offer/", views.offer, name="offer"),
    path("feeds/<int:practitioner_id>/issue/", views.issue_feed, name="issue_feed"),
    path("feeds/<str:token>.ics", views.feed, name="feed"),
    path("appointments/<int:appointment_id>/", views.detail, name="detail"),
    path("appointments/<int:appointment_id>/reschedule/", views.reschedule, name="reschedule"),
    path("appointments/<int:appointment_id>/cancel/", views.cancel, name="cancel"),
    path("appointments/<int:appointment_id>/check-in/", views.check_in, name="check_in"),
    path("appointments/<int:appointment_id>/no-show/", views.no_show, name="no_show"),
    path("appointments/<int:appointment_id>/status/", views.change_status, name="status"),
]
