from django.apps import AppConfig


class SalesConfig(AppConfig):
    name = "sales"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from leads.services import on_lead_erased, on_stage_change

        from .erasure import erase_sales_copies
        from .services import on_lead_stage_change

        # Closes an alert whose lead leaves MQL by any route, and sends lead.stage_changed.
        on_stage_change(on_lead_stage_change)
        # Blanks reject notes and notification texts, strips webhook payloads, cancels pending deliveries.
        on_lead_erased(erase_sales_copies)

        self._forget_cached_lookups_on_writes()

    def _forget_cached_lookups_on_writes(self):
        from django.contrib.auth import get_user_model
        from django.contrib.auth.models import Group
        from django.db.models.signals import m2m_changed, post_delete, post_save

        from .models import WebhookEndpoint
        from .txcache import forget

        user_model = get_user_model()
        # Who is an active rep and which endpoints listen are cached per transaction.
        for model in (user_model, Group, WebhookEndpoint):
            post_save.connect(forget, sender=model, dispatch_uid=f"sales.txcache.save.{model._meta.label}")
            post_delete.connect(forget, sender=model, dispatch_uid=f"sales.txcache.delete.{model._meta.label}")
        m2m_changed.connect(forget, sender=user_model.groups.through, dispatch_uid="sales.txcache.groups")
