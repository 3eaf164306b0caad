from django.apps import AppConfig


class LeadsConfig(AppConfig):
    verbose_name = "Leads"
    name = "leads"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import lifecycle
        from .erasure import erase_leads_copies

        lifecycle.on_lead_erased(erase_leads_copies)
