from django.contrib.admin.apps import AdminConfig as DjangoAdminConfig


class AdminConfig(DjangoAdminConfig):
    """Django's admin app with our site (alzaware.admin_site) as ``admin.site``."""

    default_site = "alzaware.admin_site.AlzAwareAdminSite"
