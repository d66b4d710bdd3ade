from django.urls import path

from . import views

app_name = "practitioners"

urlpatterns = [
    path("", views.practitioner_list, name="list"),
    path("new/", views.practitioner_create, name="create"),
    path("<int:practitioner_id>/", views.practitioner_detail, name="detail"),
    path("<int:practitioner_id>/edit/", views.practitioner_edit, name="edit"),
]
