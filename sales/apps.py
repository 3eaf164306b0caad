from django.apps import AppConfig


class SalesConfig(AppConfig):
    name = "sales"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Imported here, not at the top: an AppConfig module is imported before the
        # models are ready (Django's app loading), so services load in ready().
        from leads import lifecycle
        from leads.access import register_alert_lookups

        from .erasure import erase_sales_copies
        from .selectors import claimable_lead_ids, open_alert_for
        from .services import listeners

        # The lifecycle announces; sales reacts: an alert per crossing, alerts closed when
        # their lead leaves MQL by any route, lead.stage_changed and deal.won/lost webhooks.
        lifecycle.on_mql_crossed(listeners.on_mql_crossed)
        lifecycle.on_stage_change(listeners.on_lead_stage_change)
        lifecycle.on_deal_closed(listeners.on_deal_closed)
        lifecycle.on_fell_below_recycle(listeners.on_scores_below_recycle)
        # Blanks reject notes and notification texts, strips webhook payloads, cancels pending deliveries.
        lifecycle.on_lead_erased(erase_sales_copies)
        # The access rulebook (in leads, below us) judges MQL leads by their alert.
        register_alert_lookups(open_alert_for=open_alert_for, claimable_lead_ids=claimable_lead_ids)

        self._forget_cached_lookups_on_writes()

    def _forget_cached_lookups_on_writes(self):
        # Imported in ready() for the same reason: models are not loaded at import time.
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
