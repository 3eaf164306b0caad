from django.apps import AppConfig


class LeadsConfig(AppConfig):
    verbose_name = "Leads"
    name = "leads"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from .erasure import erase_leads_copies
        from .services import on_lead_erased

        on_lead_erased(erase_leads_copies)
