"""Rule edits: versions that keep old explanations true, and a full rescore in the background."""

import pytest
from django.core.management import call_command

from leads.models import Lead
from scoring.models import RescoreJob, RuleVersion, ScoreChange, ScoringRule
from scoring.rules import RuleInvalid, create_rule, delete_rule, update_rule, validate_rule
from scoring.selectors import score_explanation
from scoring.services import rescore_leads, run_rescore_job, run_rescore_job_batch, start_full_rescore
from tests.factories import LeadFactory

from .conftest import demo_request

pytestmark = pytest.mark.django_db


def demo_rule():
    return ScoringRule.objects.get(label="Demo request")


@pytest.mark.smoke
def test_editing_a_rule_makes_a_new_version_and_keeps_the_old_one(default_rules, marketer):
    rule = update_rule(rule=demo_rule(), changes={"points": 45}, user=marketer)
    assert rule.version == 2
    assert list(RuleVersion.objects.filter(rule=rule).values_list("version", "points")) == [(1, 40), (2, 45)]


def test_an_edit_that_changes_nothing_makes_no_version(default_rules):
    assert update_rule(rule=demo_rule(), changes={"points": 40}).version == 1
    assert not RescoreJob.objects.exists()


def test_an_old_explanation_keeps_the_words_of_the_version_that_made_it(default_rules):
    lead = LeadFactory(job_title="Analyst")
    demo_request(lead)
    rescore_leads(lead_ids=[lead.pk], cause="events")
    update_rule(rule=demo_rule(), changes={"label": "Asked for a demo", "points": 30})
    first = ScoreChange.objects.get(lead=lead)
    assert first.contributions[0]["label"] == "Demo request" and first.contributions[0]["version"] == 1
    assert score_explanation(lead=lead)["text"] == "40 = Demo request +40"


def test_a_rule_change_starts_a_full_rescore_job_that_reports_progress(default_rules):
    leads = [LeadFactory(job_title="Analyst") for _ in range(5)]
    for lead in leads:
        demo_request(lead)
    update_rule(rule=demo_rule(), changes={"points": 30})
    job = RescoreJob.objects.get()
    assert (job.status, job.total, job.done) == ("pending", 5, 0)
    assert run_rescore_job_batch(job_id=job.pk, batch_size=2).done == 2
    run_rescore_job(job_id=job.pk)
    job.refresh_from_db()
    assert (job.status, job.done, job.percent) == ("done", 5, 100)
    assert set(Lead.objects.values_list("score", flat=True)) == {30}


def test_a_newer_rescore_job_supersedes_an_older_one(default_rules):
    older = start_full_rescore(cause="first edit", enqueue=False)
    start_full_rescore(cause="second edit", enqueue=False)
    assert run_rescore_job_batch(job_id=older.pk) is None
    older.refresh_from_db()
    assert older.status == "superseded"


def test_deleting_a_rule_archives_it_and_it_stops_scoring(default_rules):
    lead = LeadFactory(job_title="Analyst")
    demo_request(lead)
    delete_rule(rule=demo_rule())
    rescore_leads(lead_ids=[lead.pk], cause="rules")
    lead.refresh_from_db()
    assert lead.score == 0
    assert ScoringRule.objects.get(label="Demo request").archived_at is not None


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"kind": "behaviour", "points": 5}, "event_type"),
        (
            {"kind": "fit", "points": 5, "conditions": [{"field": "shoe_size", "op": "equals", "value": "9"}]},
            "conditions.0.field",
        ),
        (
            {"kind": "fit", "points": 5, "conditions": [{"field": "job_title", "op": "gte", "value": 3}]},
            "conditions.0.op",
        ),
        ({"kind": "behaviour", "event_type": "page_view", "points": "many"}, "points"),
        ({"kind": "behaviour", "event_type": "page_view", "points": 1, "half_life_days": 0}, "half_life_days"),
        ({"kind": "behaviour", "event_type": "page_view", "points": 1, "daily_cap": 0}, "daily_cap"),
    ],
)
def test_an_invalid_rule_is_refused_naming_the_field(data, field):
    with pytest.raises(RuleInvalid) as refused:
        validate_rule({"label": "x", **data})
    assert field in refused.value.fields


def test_a_new_rule_is_stored_as_version_one_with_conditions_as_text(marketer):
    rule = create_rule(
        data={
            "label": "Enterprise plan",
            "kind": "fit",
            "points": 10,
            "conditions": [{"field": "attributes.plan", "op": "in", "value": ["enterprise", 3]}],
        },
        user=marketer,
    )
    assert rule.version == 1
    assert rule.conditions == [{"field": "attributes.plan", "op": "in", "value": ["enterprise", "3"]}]


def test_rescore_all_command_rescores_every_lead(default_rules, capsys):
    lead = LeadFactory(job_title="Analyst")
    demo_request(lead)
    call_command("rescore", "--all")
    lead.refresh_from_db()
    assert lead.score == 40
    assert "Rescored 1 leads" in capsys.readouterr().out
