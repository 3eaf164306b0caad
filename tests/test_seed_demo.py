import pytest
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command
from django.db.models import Count, F, OuterRef, Subquery
from django.test import RequestFactory

from leads.models import Lead, StageTransition
from leads.stages import Stage
from sales.models import AlertStatus, SalesAlert

pytestmark = [pytest.mark.django_db, pytest.mark.smoke]


@pytest.fixture
def seeded(settings):
    settings.FUNNEL_DEMO_PASSWORD = "demo-pass-123"
    call_command("seed_demo", leads=200, seed=3)


def test_demo_users_log_in_with_the_demo_password(seeded):
    for username in ("marketer", "rep1", "rep2", "manager", "admin"):
        # django-axes counts sign-ins per client address, so authenticate() gets the request.
        request = RequestFactory().post("/accounts/login/")
        assert authenticate(request, username=username, password="demo-pass-123") is not None


def test_demo_leads_cover_every_stage(seeded):
    stages = set(Lead.objects.values_list("stage", flat=True))
    assert stages == set(Stage.values)


def test_every_demo_lead_is_at_the_stage_of_its_last_transition(seeded):
    last_to = StageTransition.objects.filter(lead=OuterRef("pk")).order_by("-occurred_at", "-id").values("to_stage")
    mismatched = Lead.objects.annotate(last_to=Subquery(last_to[:1])).exclude(stage=F("last_to"))
    assert mismatched.count() == 0


def test_demo_has_recycles_and_second_cycles(seeded):
    assert Lead.objects.filter(recycle_count__gt=0).exists()
    assert Lead.objects.filter(cycle__gt=1).exists()


def test_open_alerts_belong_to_leads_still_at_mql(seeded):
    open_alerts = SalesAlert.objects.filter(status=AlertStatus.OPEN)
    assert open_alerts.exists()
    assert not open_alerts.exclude(lead__stage=Stage.MQL).exists()
    assert not SalesAlert.objects.values("lead", "cycle", "crossing").annotate(n=Count("id")).filter(n__gt=1)


def test_seeding_twice_adds_nothing(seeded):
    before = Lead.objects.count()
    call_command("seed_demo", leads=200, seed=3)
    assert Lead.objects.count() == before


def test_pipeline_summary_counts_every_demo_lead_in_its_stage(seeded):
    from django.db.models import Sum

    from leads.models import PipelineCount

    summary = dict(PipelineCount.objects.values_list("stage").annotate(total=Sum("n")).order_by())
    actual = dict(Lead.objects.values_list("stage").annotate(total=Count("id")).order_by())
    assert summary == actual


def test_demo_alerts_explain_their_score_with_the_real_rules(seeded):
    alert = SalesAlert.objects.order_by("id").first()
    assert alert.score >= 50
    assert {"rule_id", "label", "points"} <= set(alert.contributions[0])


def test_seeding_without_the_default_rules_stops_with_a_message_instead_of_spinning():
    from scoring.models import ScoringRule

    ScoringRule.objects.update(active=False)
    with pytest.raises(CommandError, match="restore the default rules"):
        call_command("seed_demo", leads=20, seed=3)


def test_demo_rejections_use_the_reasons_the_product_offers(seeded, settings):
    codes = set(SalesAlert.objects.exclude(reject_reason="").values_list("reject_reason", flat=True))
    assert codes and codes <= set(settings.FUNNEL_REJECT_REASONS)
    reasons = StageTransition.objects.filter(reason__startswith="Rejected: ").values_list("reason", flat=True)
    labels = {f"Rejected: {label}" for label in settings.FUNNEL_REJECT_REASONS.values()}
    assert set(reasons) <= labels


def test_demo_history_names_reps_by_their_display_name(seeded):
    labels = set(StageTransition.objects.filter(actor_user__username="rep1").values_list("actor_label", flat=True))
    assert labels == {"Ravi Patel"}


def test_demo_alerts_fall_due_when_the_products_business_hours_sla_says(seeded, settings):
    from sales.business_hours import add_business_hours

    alerts = list(SalesAlert.objects.all())
    assert alerts
    for alert in alerts:
        assert alert.due_at == add_business_hours(alert.raised_at, settings.FUNNEL_SLA_HOURS), alert.pk
        if alert.acted_at is not None:
            assert alert.overdue == (alert.acted_at > alert.due_at), alert.pk
