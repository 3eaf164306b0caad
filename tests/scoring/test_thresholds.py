"""Thresholds are published like rules: a version each, an audit of who changed them, a
full rescore in the background, and crossings as CONTRACT "MQL crossing" defines them."""

import pytest
from django.utils import timezone

from leads.models import ChangeKind, Lead, LeadChange, StageTransition
from leads.stages import Stage
from sales.models import SalesAlert
from scoring.models import PreviewStatus, RescoreJob, RulePreview, ScoringSettings, ThresholdVersion
from scoring.previews import run_rule_preview
from scoring.rules import ThresholdsInvalid, update_thresholds
from scoring.selectors import scoring_settings, thresholds_in_force_at
from scoring.services import rescore_leads, run_rescore_job
from tests.factories import AnonymousLeadFactory, LeadFactory, RulePreviewFactory

from .conftest import demo_request, pricing_view

pytestmark = pytest.mark.django_db


def scored_46(**kwargs) -> Lead:
    """A demo request and a pricing view just now: 40 + 6 = 46, below the default 50."""
    lead = LeadFactory(stage=Stage.NURTURE, job_title="Analyst", **kwargs)
    demo_request(lead)
    pricing_view(lead)
    rescore_leads(lead_ids=[lead.pk], cause="events")
    lead.refresh_from_db()
    assert (lead.score, lead.stage) == (46, Stage.NURTURE)
    return lead


def publish_and_rescore(**thresholds) -> ScoringSettings:
    """What a worker does after a publish: the job the change started, run to its end."""
    settings = update_thresholds(**thresholds)
    run_rescore_job(job_id=RescoreJob.objects.latest("id").pk)
    return settings


# --- The service -----------------------------------------------------------------------


@pytest.mark.smoke
def test_changing_the_thresholds_makes_a_new_version_and_keeps_the_old_one(default_rules, marketer):
    settings = update_thresholds(mql_threshold=60, recycle_threshold=30, user=marketer)
    assert (settings.mql_threshold, settings.recycle_threshold, settings.version) == (60, 30, 2)
    assert list(ThresholdVersion.objects.values_list("version", "mql_threshold", "recycle_threshold")) == [
        (1, 50, 25),
        (2, 60, 30),
    ]
    assert ThresholdVersion.objects.get(version=2).changed_by == marketer


def test_a_threshold_change_starts_a_full_rescore_naming_the_change(default_rules):
    update_thresholds(mql_threshold=45, recycle_threshold=20)
    assert RescoreJob.objects.get().cause == "thresholds changed (v2): MQL 50→45, recycle 25→20"


def test_thresholds_that_change_nothing_make_no_version_and_no_rescore(default_rules):
    assert update_thresholds(mql_threshold=50, recycle_threshold=25).version == 1
    assert not ThresholdVersion.objects.filter(version__gt=1).exists()
    assert not RescoreJob.objects.exists()


@pytest.mark.parametrize(
    ("mql", "recycle", "field"),
    [
        (40, 40, "recycle_threshold"),
        (40, 45, "recycle_threshold"),
        (50, 0, "recycle_threshold"),
        (50, -5, "recycle_threshold"),
        (1, 0, "mql_threshold"),
        (10001, 25, "mql_threshold"),
        ("50", 25, "mql_threshold"),
        (True, 25, "mql_threshold"),
        (50, 2.5, "recycle_threshold"),
    ],
)
def test_thresholds_outside_zero_below_recycle_below_mql_are_refused_naming_the_field(
    default_rules, mql, recycle, field
):
    with pytest.raises(ThresholdsInvalid) as refused:
        update_thresholds(mql_threshold=mql, recycle_threshold=recycle)
    assert field in refused.value.fields
    assert (scoring_settings().mql_threshold, scoring_settings().recycle_threshold) == (50, 25)


def test_a_change_drafted_on_thresholds_changed_since_is_refused(default_rules):
    update_thresholds(mql_threshold=60, recycle_threshold=30)
    with pytest.raises(ThresholdsInvalid, match="changed since this draft"):
        update_thresholds(mql_threshold=45, recycle_threshold=20, base_version=1)
    assert scoring_settings().mql_threshold == 60


def test_an_old_crossing_is_judged_by_the_thresholds_in_force_at_the_time(default_rules):
    before = timezone.now()
    update_thresholds(mql_threshold=45, recycle_threshold=20)
    assert thresholds_in_force_at(before).mql_threshold == 50
    assert thresholds_in_force_at(timezone.now()).mql_threshold == 45


# --- What a crossing means when the MQL threshold moves --------------------------------


@pytest.mark.smoke
def test_lowering_the_mql_threshold_makes_the_leads_now_above_it_mqls_on_the_rescore(default_rules):
    lead = scored_46()
    publish_and_rescore(mql_threshold=45, recycle_threshold=20)
    lead.refresh_from_db()
    assert (lead.stage, lead.mql_crossings, lead.mql_armed) == (Stage.MQL, 1, False)
    alert = SalesAlert.objects.get(lead=lead)
    assert (alert.score, alert.crossing) == (46, 1)
    move = StageTransition.objects.filter(lead=lead, to_stage=Stage.MQL).get()
    assert move.reason == "Score 46 crossed the MQL threshold 45"


def test_a_second_rescore_after_lowering_the_threshold_raises_no_second_alert(default_rules):
    lead = scored_46()
    publish_and_rescore(mql_threshold=45, recycle_threshold=20)
    rescore_leads(lead_ids=[lead.pk], cause="events")
    assert SalesAlert.objects.filter(lead=lead).count() == 1


def test_a_lead_sent_back_by_sales_does_not_cross_a_lowered_threshold_until_rearmed(default_rules):
    rejected = scored_46()
    Lead.objects.filter(pk=rejected.pk).update(mql_armed=False, mql_crossings=1)
    publish_and_rescore(mql_threshold=45, recycle_threshold=20)
    rejected.refresh_from_db()
    assert rejected.stage == Stage.NURTURE
    assert not SalesAlert.objects.filter(lead=rejected).exists()


def test_an_anonymous_visitor_above_a_lowered_threshold_does_not_cross(default_rules):
    visitor = AnonymousLeadFactory(stage=Stage.LEAD_GEN, job_title="Analyst")
    demo_request(visitor)
    pricing_view(visitor)
    publish_and_rescore(mql_threshold=45, recycle_threshold=20)
    visitor.refresh_from_db()
    assert (visitor.score, visitor.stage) == (46, Stage.LEAD_GEN)


def test_raising_the_mql_threshold_leaves_existing_mqls_with_sales(default_rules):
    lead = scored_46()
    publish_and_rescore(mql_threshold=45, recycle_threshold=20)
    publish_and_rescore(mql_threshold=60, recycle_threshold=30)
    lead.refresh_from_db()
    assert lead.stage == Stage.MQL
    assert SalesAlert.objects.get(lead=lead).status == "open"


def test_raising_the_recycle_threshold_rearms_a_rejected_lead_now_below_it(default_rules):
    rejected = scored_46()
    Lead.objects.filter(pk=rejected.pk).update(mql_armed=False, mql_crossings=1)
    publish_and_rescore(mql_threshold=60, recycle_threshold=50)
    rejected.refresh_from_db()
    assert (rejected.mql_armed, rejected.stage) == (True, Stage.NURTURE)


def test_a_rescore_that_rearms_a_lead_without_changing_its_score_leaves_a_trail_row(default_rules):
    rejected = scored_46()
    Lead.objects.filter(pk=rejected.pk).update(mql_armed=False, mql_crossings=1)
    publish_and_rescore(mql_threshold=60, recycle_threshold=50)
    change = LeadChange.objects.get(lead=rejected, kind=ChangeKind.MQL_REARMED)
    assert (change.actor_kind, change.old_value, change.new_value) == ("system", "no", "yes")
    assert change.reason == "Score 46 is below the recycle threshold 50"


# --- The editor: preview, then publish --------------------------------------------------


def threshold_preview(client, mql: int, recycle: int) -> RulePreview:
    response = client.post("/scoring/rules/thresholds/", {"mql_threshold": str(mql), "recycle_threshold": str(recycle)})
    preview = RulePreview.objects.latest("id")
    assert response["Location"] == f"/scoring/rules/previews/{preview.pk}/"
    return run_rule_preview(preview_id=preview.pk)


def test_a_threshold_draft_remembers_the_version_it_was_drafted_on(client, marketer, default_rules):
    client.force_login(marketer)
    preview = threshold_preview(client, 45, 20)
    assert preview.draft == {"action": "thresholds", "base_version": 1, "mql_threshold": 45, "recycle_threshold": 20}
    assert preview.status == PreviewStatus.DONE


@pytest.mark.smoke
def test_a_marketer_publishes_previewed_thresholds_and_everyone_is_rescored(client, marketer, default_rules):
    lead = scored_46()
    client.force_login(marketer)
    preview = threshold_preview(client, 45, 20)
    assert [row["id"] for row in preview.results["now"]["leads"]] == [lead.pk]
    response = client.post(f"/scoring/rules/previews/{preview.pk}/publish/", follow=True)
    assert "Published" in response.content.decode()
    assert (scoring_settings().mql_threshold, scoring_settings().version) == (45, 2)
    assert ThresholdVersion.objects.get(version=2).changed_by == marketer
    run_rescore_job(job_id=RescoreJob.objects.get().pk)
    lead.refresh_from_db()
    assert lead.stage == Stage.MQL


def test_publishing_a_threshold_preview_twice_changes_the_thresholds_once(client, marketer, default_rules):
    client.force_login(marketer)
    preview = threshold_preview(client, 45, 20)
    client.post(f"/scoring/rules/previews/{preview.pk}/publish/")
    response = client.post(f"/scoring/rules/previews/{preview.pk}/publish/", follow=True)
    assert "already published" in response.content.decode()
    assert scoring_settings().version == 2
    assert RescoreJob.objects.count() == 1


def test_a_threshold_preview_drafted_before_another_change_is_not_published(client, marketer, default_rules):
    client.force_login(marketer)
    stale = threshold_preview(client, 45, 20)
    fresh = threshold_preview(client, 60, 30)
    client.post(f"/scoring/rules/previews/{fresh.pk}/publish/")
    response = client.post(f"/scoring/rules/previews/{stale.pk}/publish/", follow=True)
    assert "changed since this draft" in response.content.decode()
    assert scoring_settings().mql_threshold == 60
    assert not RulePreview.objects.get(pk=stale.pk).published_at


def test_a_threshold_draft_without_a_version_is_refused_as_stale(client, marketer, default_rules):
    preview = RulePreviewFactory(draft={"action": "thresholds", "mql_threshold": 45, "recycle_threshold": 20})
    run_rule_preview(preview_id=preview.pk)
    client.force_login(marketer)
    response = client.post(f"/scoring/rules/previews/{preview.pk}/publish/", follow=True)
    assert "changed since this draft" in response.content.decode()
    assert scoring_settings().mql_threshold == 50


def test_bad_thresholds_are_a_400_with_the_error_next_to_the_field(client, marketer, default_rules):
    client.force_login(marketer)
    response = client.post("/scoring/rules/thresholds/", {"mql_threshold": "50", "recycle_threshold": "0"})
    assert response.status_code == 400
    assert 'id="recycle_threshold-error"' in response.content.decode()
    assert not RulePreview.objects.exists()


def test_the_rules_page_lists_the_threshold_versions_and_who_made_them(client, marketer, default_rules):
    update_thresholds(mql_threshold=60, recycle_threshold=30, user=marketer)
    client.force_login(marketer)
    page = client.get("/scoring/rules/").content.decode()
    assert "A lead becomes MQL when its score reaches 60" in page
    assert f"v2: MQL 60, recycle 30 — {marketer.get_username()}" in page
    assert "v1: MQL 50, recycle 25" in page


def test_a_sales_manager_may_not_draft_thresholds(client, manager, default_rules):
    client.force_login(manager)
    response = client.post("/scoring/rules/thresholds/", {"mql_threshold": "45", "recycle_threshold": "20"})
    assert response.status_code == 403
    assert not RulePreview.objects.exists()
