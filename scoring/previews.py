"""The rule editor's previews (services of their own: scoring.rules publishes through
scoring.services, and a preview publishes through scoring.rules): queue a preview of a draft, run it in a worker with a
lease, restart a stalled one, and publish a finished one through scoring.rules."""

import logging

from celery import current_app
from django.db import transaction
from django.utils import timezone

from . import rule_preview
from . import rules as scoring_rules
from .models import PreviewStatus, RulePreview, ScoringRule

logger = logging.getLogger(__name__)


PREVIEW_TASK = "scoring.run_rule_preview"


def start_rule_preview(*, draft: dict, user=None) -> RulePreview:
    """Queue a preview of `draft` (see scoring.rule_preview); a worker runs it after
    commit and the editor polls its progress."""
    preview = RulePreview.objects.create(created_by=user, draft=draft)
    transaction.on_commit(lambda: _enqueue_preview(preview.pk))
    return preview


def _enqueue_preview(preview_id: int) -> None:
    try:
        current_app.send_task(PREVIEW_TASK, args=[preview_id])
    except Exception:  # noqa: BLE001 - the page offers to run it again; the request must not fail
        logger.warning("Could not enqueue rule preview %s.", preview_id)


class _Superseded(Exception):
    """The preview was restarted while this run was still going: it stops quietly."""


def _claim_preview(preview_id: int) -> RulePreview | None:
    """Take the preview's lease: a queued one, or a running one whose worker stopped
    beating. A second message for a preview that is running well claims nothing."""
    with transaction.atomic():
        preview = RulePreview.objects.select_for_update().filter(pk=preview_id).first()
        if preview is None:
            return None
        claimable = preview.status == PreviewStatus.QUEUED or (
            preview.status == PreviewStatus.RUNNING and preview.lost_its_worker()
        )
        if not claimable:
            return None
        preview.attempt += 1
        preview.status = PreviewStatus.RUNNING
        preview.total = preview.done = 0
        preview.updated_at = timezone.now()
        preview.save(update_fields=["attempt", "status", "total", "done", "updated_at"])
    return preview


def run_rule_preview(*, preview_id: int, as_of=None) -> RulePreview | None:
    """Compute a preview, saving progress after every batch so the progress bar moves.

    Every write is also the run's heartbeat (`updated_at`) and names the run's attempt:
    a preview whose worker died shows as stalled after `RulePreview.LEASE` and can be
    restarted (`restart_rule_preview`), and the old run, should it come back, finds its
    attempt gone and stops without touching the row.
    """
    preview = _claim_preview(preview_id)
    if preview is None:
        return RulePreview.objects.filter(pk=preview_id).first()
    as_of = as_of or timezone.now()

    def beat(**fields) -> None:
        if not RulePreview.objects.filter(pk=preview.pk, attempt=preview.attempt).update(
            updated_at=timezone.now(), **fields
        ):
            raise _Superseded

    try:
        draft = rule_preview.build_draft(preview.draft)
        types = sorted({rule.event_type for rule in [*draft.rules, *draft.current_rules] if rule.is_behaviour})
        preview.total = (
            rule_preview.now_candidates().count() + rule_preview.replay_candidates(as_of=as_of, types=types).count()
        )
        beat(total=preview.total)

        def advance(count: int) -> None:
            preview.done += count
            beat(done=preview.done)

        now = rule_preview.would_cross_now(draft, as_of=as_of, on_progress=advance)
        replayed = rule_preview.replay(draft, as_of=as_of, on_progress=advance)
        results = {"as_of": as_of.isoformat(), "mql_threshold": draft.mql_threshold, "now": now, "replay": replayed}
        beat(results=results, status=PreviewStatus.DONE, done=preview.total, finished_at=timezone.now())
    except _Superseded:
        logger.info("Rule preview %s was restarted; attempt %s stops.", preview_id, preview.attempt)
    except Exception as error:
        logger.exception("Rule preview %s failed", preview_id)
        try:
            beat(status=PreviewStatus.FAILED, error=str(error)[:2000], finished_at=timezone.now())
        except _Superseded:
            pass
    return RulePreview.objects.filter(pk=preview_id).first()


class PreviewNotRestartable(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def restart_rule_preview(*, preview_id: int) -> RulePreview:
    """Queue a stalled (its worker stopped beating) or failed preview again, from the
    start. The attempt moves on, so the old run cannot write over the new one."""
    with transaction.atomic():
        preview = RulePreview.objects.select_for_update().get(pk=preview_id)
        if preview.published_at or preview.status == PreviewStatus.DONE:
            raise PreviewNotRestartable("This preview has finished; nothing to restart.")
        if not (preview.status == PreviewStatus.FAILED or preview.lost_its_worker()):
            raise PreviewNotRestartable("This preview is still running.")
        preview.attempt += 1
        preview.status = PreviewStatus.QUEUED
        preview.total = preview.done = 0
        preview.error = ""
        preview.finished_at = None
        preview.updated_at = timezone.now()
        preview.save(update_fields=["attempt", "status", "total", "done", "error", "finished_at", "updated_at"])
        transaction.on_commit(lambda: _enqueue_preview(preview.pk))
    return preview


class PreviewNotPublishable(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def publish_rule_preview(*, preview_id: int, user) -> RulePreview:
    """Apply a previewed draft through scoring.rules, which writes the new rule
    version and start the background rescore of everyone.

    The preview's row lock and `published_at` make a double click publish once; a rule
    changed by someone else since the preview was drafted is refused, so nobody
    publishes a change over one they never saw.
    """
    with transaction.atomic():
        preview = RulePreview.objects.select_for_update().get(pk=preview_id)
        if preview.published_at:
            raise PreviewNotPublishable("This change was already published.")
        if preview.status != PreviewStatus.DONE:
            raise PreviewNotPublishable("Wait for the preview to finish before publishing.")
        draft = preview.draft
        action = draft.get("action")
        try:
            if action == "create":
                scoring_rules.create_rule(data=draft["rule"], user=user)
            elif action == "update":
                rule = ScoringRule.objects.filter(pk=draft["rule_id"], archived_at__isnull=True).first()
                if rule is None:
                    raise PreviewNotPublishable("The rule was deleted since this preview.")
                if rule.version != draft.get("base_version"):
                    raise PreviewNotPublishable(
                        f"“{rule.label}” changed since this preview (now version {rule.version}); preview again."
                    )
                scoring_rules.update_rule(rule=rule, changes=draft["changes"], user=user)
            elif action == "thresholds":
                _publish_thresholds(draft=draft, user=user)
            else:
                raise PreviewNotPublishable("This preview holds no change to publish.")
        except scoring_rules.RuleInvalid as invalid:
            raise PreviewNotPublishable(f"The rule is no longer valid: {invalid}") from invalid
        preview.published_at = timezone.now()
        preview.published_by = user
        preview.save(update_fields=["published_at", "published_by"])
    return preview


def _publish_thresholds(*, draft: dict, user) -> None:
    """A draft from before thresholds had versions names none: it is refused as stale."""
    try:
        scoring_rules.update_thresholds(
            mql_threshold=draft["mql_threshold"],
            recycle_threshold=draft["recycle_threshold"],
            user=user,
            base_version=draft.get("base_version", 0),
        )
    except scoring_rules.ThresholdsInvalid as invalid:
        raise PreviewNotPublishable(next(iter(invalid.fields.values()))[0]) from invalid
