from django.urls import path

from . import views

app_name = "education"

urlpatterns = [
    path("", views.library, name="library"),
    path("materials/new/", views.add_material, name="add_material"),
    path("materials/<int:material_id>/", views.material, name="material"),
    path("materials/<int:material_id>/file/", views.material_file, name="material_file"),
    path("patients/<int:patient_id>/", views.patient_education, name="patient"),
    path("patients/<int:patient_id>/assign/", views.assign, name="assign"),
    path("assignments/<int:assignment_id>/deliver/", views.deliver, name="deliver"),
    path("assignments/<int:assignment_id>/handout/", views.handout, name="handout"),
    path("mine/", views.my_materials, name="mine"),
    path("mine/<int:assignment_id>/", views.my_handout, name="my_handout"),
    path("mine/<int:assignment_id>/file/", views.my_file, name="my_file"),
]
