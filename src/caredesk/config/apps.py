from django.contrib.admin.apps import AdminConfig


class CaredeskAdminConfig(AdminConfig):
    """django.contrib.admin with Caredesk's admin site as `admin.site` (see config/admin.py)."""

    default_site = "caredesk.config.admin.CaredeskAdminSite"
