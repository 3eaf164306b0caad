"""A preview whose worker died does not stay "running" forever: its heartbeat ages past
the lease, the page says so and offers to restart it, and the old run cannot write over
the restarted one."""

from datetime import timedelta

import pytest
from django.utils import timezone

from scoring import rule_preview
from scoring.models import PreviewStatus, RulePreview, ScoringRule
from scoring.previews import PreviewNotRestartable, restart_rule_preview, run_rule_preview
from tests.factories import LeadFactory, RulePreviewFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def draft(default_rules):
    pricing = ScoringRule.objects.get(label="Pricing page view")
    return {"action": "update", "rule_id": pricing.pk, "base_version": pricing.version, "changes": {"points": 9}}


def running(draft, *, heartbeat_ago: timedelta, attempt: int = 1) -> RulePreview:
    """A preview as a worker left it mid-run, its last heartbeat `heartbeat_ago`."""
    return RulePreview.objects.create(
        draft=draft,
        status=PreviewStatus.RUNNING,
        total=40,
        done=12,
        attempt=attempt,
        updated_at=timezone.now() - heartbeat_ago,
    )


STALLED = RulePreview.LEASE + timedelta(seconds=1)
FRESH = timedelta(seconds=5)


@pytest.mark.smoke
def test_a_running_preview_with_a_heartbeat_older_than_the_lease_has_lost_its_worker(draft):
    assert running(draft, heartbeat_ago=STALLED).lost_its_worker()
    assert not running(draft, heartbeat_ago=FRESH).lost_its_worker()


def test_a_queued_preview_whose_message_never_arrived_has_lost_its_worker_too(draft):
    queued = RulePreview.objects.create(draft=draft, updated_at=timezone.now() - STALLED)
    assert queued.lost_its_worker()


def test_a_finished_preview_never_counts_as_stalled(draft):
    done = RulePreview.objects.create(draft=draft, status=PreviewStatus.DONE, updated_at=timezone.now() - STALLED)
    assert not done.lost_its_worker()


def test_every_batch_of_a_run_renews_the_heartbeat(draft):
    LeadFactory.create_batch(3)
    preview = running(draft, heartbeat_ago=STALLED)
    started = timezone.now()
    preview = run_rule_preview(preview_id=preview.pk)
    assert preview.status == PreviewStatus.DONE
    assert preview.updated_at >= started
    assert preview.attempt == 2  # the stalled run's lease was taken over


def test_a_second_message_for_a_preview_running_well_starts_no_second_run(draft):
    preview = running(draft, heartbeat_ago=FRESH)
    again = run_rule_preview(preview_id=preview.pk)
    assert (again.status, again.attempt, again.done) == (PreviewStatus.RUNNING, 1, 12)


@pytest.mark.smoke
def test_restarting_a_stalled_preview_runs_it_again_to_the_end(draft):
    LeadFactory.create_batch(3)
    preview = running(draft, heartbeat_ago=STALLED)
    restarted = restart_rule_preview(preview_id=preview.pk)
    assert (restarted.status, restarted.done, restarted.attempt) == (PreviewStatus.QUEUED, 0, 2)
    finished = run_rule_preview(preview_id=preview.pk)
    assert (finished.status, finished.percent) == (PreviewStatus.DONE, 100)
    assert finished.results["now"]["candidates"] == 3


def test_a_failed_preview_can_be_restarted(draft):
    failed = RulePreview.objects.create(draft=draft, status=PreviewStatus.FAILED, error="boom")
    restarted = restart_rule_preview(preview_id=failed.pk)
    assert (restarted.status, restarted.error) == (PreviewStatus.QUEUED, "")


def test_a_preview_still_beating_cannot_be_restarted(draft):
    preview = running(draft, heartbeat_ago=FRESH)
    with pytest.raises(PreviewNotRestartable, match="still running"):
        restart_rule_preview(preview_id=preview.pk)
    preview.refresh_from_db()
    assert (preview.status, preview.attempt) == (PreviewStatus.RUNNING, 1)


def test_a_finished_preview_cannot_be_restarted(draft):
    done = RulePreview.objects.create(draft=draft, status=PreviewStatus.DONE, results={"now": {}})
    with pytest.raises(PreviewNotRestartable, match="finished"):
        restart_rule_preview(preview_id=done.pk)


def test_the_old_run_of_a_restarted_preview_writes_nothing_more(draft, monkeypatch):
    """The worker was only slow: while it replays, the preview is declared stalled and
    restarted. When it comes back, its attempt is gone: it leaves the restart alone."""
    LeadFactory.create_batch(2)
    preview = RulePreviewFactory(draft=draft)
    real_replay = rule_preview.replay

    def replay_while_someone_restarts(*args, **kwargs):
        RulePreview.objects.filter(pk=preview.pk).update(updated_at=timezone.now() - STALLED)
        restart_rule_preview(preview_id=preview.pk)
        return real_replay(*args, **kwargs)

    monkeypatch.setattr(rule_preview, "replay", replay_while_someone_restarts)
    after = run_rule_preview(preview_id=preview.pk)
    assert (after.status, after.attempt, after.done, after.results) == (PreviewStatus.QUEUED, 2, 0, {})


# --- The page -----------------------------------------------------------------------------


def test_the_page_says_a_stalled_preview_stopped_and_offers_a_restart(client, marketer, draft):
    preview = running(draft, heartbeat_ago=STALLED)
    client.force_login(marketer)
    page = client.get(f"/scoring/rules/previews/{preview.pk}/").content.decode()
    assert "The preview stopped" in page
    assert "12 of 40 leads done" in page
    assert ">Restart preview</button>" in page
    assert 'role="progressbar"' not in page  # no bar that never moves


def test_a_preview_running_well_shows_its_progress_and_no_restart(client, marketer, draft):
    preview = running(draft, heartbeat_ago=FRESH)
    client.force_login(marketer)
    page = client.get(f"/scoring/rules/previews/{preview.pk}/").content.decode()
    assert 'role="progressbar"' in page
    assert "Restart preview" not in page


def test_the_progress_poll_reports_a_stalled_preview_so_the_page_reloads(client, marketer, draft):
    preview = running(draft, heartbeat_ago=STALLED)
    client.force_login(marketer)
    body = client.get(f"/scoring/rules/previews/{preview.pk}/progress/").json()
    assert (body["status"], body["stalled"], body["percent"]) == ("running", True, 30)


def test_a_marketer_restarts_a_stalled_preview_from_its_page(client, marketer, draft):
    preview = running(draft, heartbeat_ago=STALLED)
    client.force_login(marketer)
    response = client.post(f"/scoring/rules/previews/{preview.pk}/restart/", follow=True)
    assert "The preview starts again." in response.content.decode()
    preview.refresh_from_db()
    assert (preview.status, preview.attempt) == (PreviewStatus.QUEUED, 2)


def test_restarting_a_preview_still_running_says_so_and_changes_nothing(client, marketer, draft):
    preview = running(draft, heartbeat_ago=FRESH)
    client.force_login(marketer)
    response = client.post(f"/scoring/rules/previews/{preview.pk}/restart/", follow=True)
    assert "This preview is still running." in response.content.decode()
    preview.refresh_from_db()
    assert preview.attempt == 1


def test_a_sales_manager_may_not_restart_a_preview(client, manager, draft):
    preview = running(draft, heartbeat_ago=STALLED)
    client.force_login(manager)
    assert client.post(f"/scoring/rules/previews/{preview.pk}/restart/").status_code == 403


def test_a_restart_posted_without_its_csrf_token_is_refused(marketer, draft):
    from django.test import Client

    preview = running(draft, heartbeat_ago=STALLED)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(marketer)
    assert browser.post(f"/scoring/rules/previews/{preview.pk}/restart/").status_code == 403
    preview.refresh_from_db()
    assert preview.attempt == 1
