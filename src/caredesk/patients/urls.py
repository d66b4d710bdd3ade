from django.urls import path

from . import views

app_name = "patients"

urlpatterns = [
    path("", views.search, name="search"),
    path("register/", views.register, name="register"),
    path("portal/", views.portal_home, name="portal_home"),
]
