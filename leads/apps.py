from django.apps import AppConfig


class LeadsConfig(AppConfig):
    verbose_name = "Leads"
    name = "leads"
    default_auto_field = "django.db.models.BigAutoField"
