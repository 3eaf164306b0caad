"""Erasing a person leaves none of their data in any row of any model.

The lead goes through every path that copies its data (event, alert, notification,
reject with a note, webhooks pending and delivered, deal, activity, merge, import
jobs, rule preview), is erased, then every row of every installed model is
serialised with all its fields and searched. A new model that keeps a copy of these
strings fails this test until erase covers it."""

import pytest
from django.apps import apps
from django.core import serializers
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from events.models import EngagementEvent
from leads import imports
from leads.actors import Actor
from leads.models import Lead, PipelineCount
from leads.services import erase_lead, merge_leads
from sales.models import DeliveryStatus, Notification, WebhookDelivery
from sales.services import reject_alert
from sales.webhooks import attempt_delivery, create_webhook_endpoint
from scoring.models import RulePreview
from tests import factories
from tests.sales.conftest import make_alert

pytestmark = pytest.mark.django_db

EMAIL = "zebulon.quixotefield@erase-me.example"
OTHER_EMAIL = "zq.private@erase-me.example"
FIRST, LAST = "Zebulon", "Quixotefield"
PHONE = "+44 7700 900123"
SECRETS = [EMAIL, OTHER_EMAIL, FIRST, LAST, PHONE]
ALL_EVENTS = ["lead.stage_changed", "lead.mql", "alert.accepted", "alert.rejected", "deal.won", "deal.lost"]


def rows_holding_personal_data() -> tuple[list[str], dict[str, list[str]]]:
    """(every model scanned, {model: [strings found]})."""
    scanned, found = [], {}
    for model in apps.get_models():
        scanned.append(model._meta.label)
        text = serializers.serialize("json", model._default_manager.all()).lower()
        hits = [secret for secret in SECRETS if secret.lower() in text]
        if hits:
            found[model._meta.label] = hits
    return scanned, found


def import_job(text: str, user, *, run: bool):
    job = imports.create_import_job(upload=SimpleUploadedFile(f"{FIRST} {LAST}.csv", text.encode()), user=user)
    if run:
        job = imports.start_import(job=job, mapping=imports.guess_mapping(job.columns), on_duplicate="update")
        imports.run_import(job_id=job.pk)
    return job


def test_after_an_erase_no_row_of_any_model_holds_the_persons_email_name_or_phone(rep1, marketer, settings):
    settings.FUNNEL_ROUND_ROBIN = True
    create_webhook_endpoint(url="https://hooks.example.com/funnel", event_types=ALL_EVENTS)
    # An unresolvable host: deliveries stay pending, as a slow receiver's would.
    alert = make_alert(email=EMAIL, first_name=FIRST, last_name=LAST, phone=PHONE, company="Quixotefield Ltd")
    lead = Lead.objects.get(pk=alert.lead_id)
    assert Notification.objects.filter(title__contains=FIRST).exists()
    WebhookDelivery.objects.filter(event_type="lead.mql").update(status=DeliveryStatus.DELIVERED)
    EngagementEvent.objects.create(
        message_id="form-1", lead=lead, type="form_submit", occurred_at=timezone.now(), properties={"email": EMAIL}
    )
    reject_alert(alert=alert, user=rep1, reason_code="other", note=f"{FIRST} asked us to call {PHONE} instead")
    factories.DealFactory(lead=lead, cycle=lead.cycle, next_step=f"Send {FIRST} the quote", lost_reason=f"{LAST} left")
    factories.ActivityFactory(lead=lead, user=rep1, note=f"Called {PHONE}", outcome=f"{FIRST} {LAST} busy")
    twin = factories.LeadFactory(email=OTHER_EMAIL, phone=PHONE, first_name=FIRST)
    merge_leads(survivor=lead, merged=twin, actor=Actor.for_user(rep1), reason=f"{OTHER_EMAIL} is {EMAIL}")
    import_job(
        f"email,first name,last name,phone\n{EMAIL},{FIRST},{LAST},{PHONE}\nbad,{FIRST},x,1\n", marketer, run=True
    )
    import_job(f"email,phone\nsomeone@else.example,1\n{EMAIL},{PHONE}\n", marketer, run=False)
    RulePreview.objects.create(results={"now": {"leads": [{"id": lead.pk, "name": f"{FIRST} {LAST}"}]}})
    _scanned, before = rows_holding_personal_data()
    assert {"leads.Lead", "sales.SalesAlert", "sales.Notification", "sales.WebhookDelivery", "leads.ImportJob"} <= set(
        before
    )
    counted_before = sum(PipelineCount.objects.values_list("n", flat=True))

    erase_lead(lead=lead, actor=Actor.for_user(marketer))

    scanned, after = rows_holding_personal_data()
    print("Models scanned:", ", ".join(sorted(scanned)))
    assert len(scanned) >= 40 and "leads.LeadMerge" in scanned and "scoring.RulePreview" in scanned
    assert after == {}
    # The funnel keeps its anonymous history: the lead row, its stage moves and its deals stay.
    lead.refresh_from_db()
    assert lead.erased_at is not None and lead.transitions.exists() and lead.deals.exists()
    assert sum(PipelineCount.objects.values_list("n", flat=True)) == counted_before - 1


def test_a_pending_delivery_for_an_erased_lead_is_cancelled_and_keeps_only_ids(rep1, marketer):
    create_webhook_endpoint(url="https://hooks.example.com/funnel", event_types=["lead.mql"])
    alert = make_alert(email=EMAIL, first_name=FIRST, phone=PHONE)
    erase_lead(lead=Lead.objects.get(pk=alert.lead_id), actor=Actor.for_user(marketer))
    delivery = WebhookDelivery.objects.get(event_type="lead.mql")
    assert (delivery.status, delivery.last_error) == (DeliveryStatus.FAILED, "Cancelled: the lead was erased.")
    assert set(delivery.payload["data"]["lead"]) == {"id", "owner_id"}
    assert delivery.payload["data"]["lead"]["id"] == alert.lead_id
    assert delivery.payload["data"]["alert"] == {
        "id": alert.pk,
        "lead_id": alert.lead_id,
        "assignee_id": alert.assignee_id,
        "acted_by_id": None,
    }
    assert set(delivery.payload) == {"id", "type", "created", "data"}


def test_an_erased_leads_delivery_is_not_sent(rep1, marketer, settings):
    settings.FUNNEL_WEBHOOK_ALLOW_PRIVATE = True
    create_webhook_endpoint(url="http://127.0.0.1:9/hook", event_types=["lead.mql"])
    alert = make_alert(email=EMAIL)
    erase_lead(lead=Lead.objects.get(pk=alert.lead_id), actor=Actor.for_user(marketer))
    delivery = WebhookDelivery.objects.get(event_type="lead.mql")
    assert attempt_delivery(delivery_id=delivery.delivery_id) is None
    delivery.refresh_from_db()
    assert (delivery.attempts, delivery.status) == (0, DeliveryStatus.FAILED)
