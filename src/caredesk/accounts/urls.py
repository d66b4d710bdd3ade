from django.urls import path

from . import views

app_name = "accounts"

urlpatterns = [
    path("login/", views.login_view, name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("two-factor/verify/", views.otp_verify, name="otp_verify"),
    path("two-factor/enroll/", views.otp_enroll, name="otp_enroll"),
    path("security/", views.security, name="security"),
]
