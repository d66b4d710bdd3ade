"""Root URL map. Each app owns its own urls.py; the JSON API and FHIR live in interop."""

from django.contrib import admin
from django.urls import include, path

from caredesk.core import views as core_views

urlpatterns = [
    path("", include("caredesk.core.urls")),
    path("accounts/", include("caredesk.accounts.urls")),
    path("patients/", include("caredesk.patients.urls")),
    path("practitioners/", include("caredesk.practitioners.urls")),
    path("scheduling/", include("caredesk.scheduling.urls")),
    path("worklist/", include("caredesk.worklist.urls")),
    path("transitions/", include("caredesk.transitions.urls")),
    path("coverage/", include("caredesk.coverage.urls")),
    path("billing/", include("caredesk.billing.urls")),
    path("referrals/", include("caredesk.referrals.urls")),
    path("communications/", include("caredesk.messaging.urls")),
    path("careplans/", include("caredesk.careplans.urls")),
    path("inventory/", include("caredesk.inventory.urls")),
    path("education/", include("caredesk.education.urls")),
    path("credentialing/", include("caredesk.credentialing.urls")),
    path("orders/", include("caredesk.orders.urls")),
    path("audit/", include("caredesk.audit.urls")),
    path("", include("caredesk.interop.urls")),
    path("admin/", admin.site.urls),
]

handler403 = core_views.forbidden
handler404 = core_views.not_found
handler500 = core_views.server_error
