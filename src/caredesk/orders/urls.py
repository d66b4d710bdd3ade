from django.urls import path

from . import views

app_name = "orders"

urlpatterns = [
    path("", views.order_list, name="list"),
    path("patients/<int:patient_id>/", views.patient_orders, name="patient"),
    path("patients/<int:patient_id>/new/", views.create_order, name="create"),
    path("<int:order_id>/place/", views.place_order, name="place"),
    path("<int:order_id>/override/", views.override_order, name="override"),
    path("<int:order_id>/status/", views.change_status, name="status"),
]
