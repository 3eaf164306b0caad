"""Writes of the analytics app: rebuilding the summary tables, running rule previews."""

import logging
import time

from django.db import connection, transaction
from django.utils import timezone

from . import refresh_sql, rule_preview
from .models import AnalyticsRefresh, PreviewStatus, RulePreview

logger = logging.getLogger(__name__)


def refresh_analytics() -> AnalyticsRefresh:
    """Rebuild every summary table from the source tables, in one transaction.

    Each table is one INSERT … SELECT … GROUP BY (see `refresh_sql`), so the cost is a
    few scans of the source tables whatever their size, and readers keep seeing the
    previous summaries until the new ones commit. The refresh row is locked first, so
    two refreshes (a beat run and `manage.py refresh_analytics`) run one after the other.
    """
    started = time.monotonic()
    now = timezone.now()
    dialect = refresh_sql.Dialect(connection.vendor)
    if dialect.postgres:
        _analyze_stale_source_tables()
    with transaction.atomic():
        AnalyticsRefresh.objects.get_or_create(pk=1)
        state = AnalyticsRefresh.objects.select_for_update().get(pk=1)
        for model in refresh_sql.SUMMARY_MODELS:
            model.objects.all().delete()
        with connection.cursor() as cursor:
            for statement in refresh_sql.STATEMENTS:
                sql = statement(dialect)
                params = [connection.ops.adapt_datetimefield_value(now)] if "%s" in sql else None
                cursor.execute(sql, params)
            if dialect.postgres:
                # The report's reads plan from these statistics: left as they were before
                # the DELETE/INSERT, the planner takes a 20k-row summary for a few dozen
                # rows and sorts instead of hashing (engagement query 10 ms -> 4.5 ms at
                # 1M leads). Inside the transaction ANALYZE counts its own new rows.
                for model in refresh_sql.SUMMARY_MODELS:
                    cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
        state.refreshed_at = now
        state.duration_ms = int((time.monotonic() - started) * 1000)
        state.save(update_fields=["refreshed_at", "duration_ms"])
    logger.info("Analytics summaries rebuilt in %d ms", state.duration_ms)
    return state


SOURCE_TABLES = [
    "leads_lead",
    "leads_stagetransition",
    "leads_deal",
    "leads_activity",
    "events_engagementevent",
    "sales_salesalert",
]


def _analyze_stale_source_tables() -> list[str]:
    """ANALYZE the source tables whose planner statistics are stale.

    Right after a bulk load (seed_demo, generate_load, an import) autovacuum has not yet
    sampled the new rows; the planner then believes a 100k-row table holds a few dozen
    and picks nested loops: measured 795 s for a refresh that takes 7 s with fresh
    statistics (100k leads, 1M events). Tables more than 10% changed since their last
    analysis are sampled again (a few seconds at most, and only after big changes).
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname FROM pg_stat_user_tables WHERE relname = ANY(%s) AND "
            "(COALESCE(last_analyze, last_autoanalyze) IS NULL "
            " OR n_mod_since_analyze > 0.1 * GREATEST(n_live_tup, 1000))",
            [SOURCE_TABLES],
        )
        stale = [row[0] for row in cursor.fetchall()]
        for name in stale:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(name)}")
    return stale


# --- Rule previews ----------------------------------------------------------------------

PREVIEW_TASK = "analytics.run_rule_preview"


def start_rule_preview(*, draft: dict, user=None) -> RulePreview:
    """Queue a preview of `draft` (see analytics.rule_preview); a worker runs it after
    commit and the editor polls its progress."""
    preview = RulePreview.objects.create(created_by=user, draft=draft)
    transaction.on_commit(lambda: _enqueue_preview(preview.pk))
    return preview


def _enqueue_preview(preview_id: int) -> None:
    from funnel.celery import app

    try:
        app.send_task(PREVIEW_TASK, args=[preview_id])
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
    """Apply a previewed draft through the scoring services, which write the new rule
    version and start the background rescore of everyone.

    The preview's row lock and `published_at` make a double click publish once; a rule
    changed by someone else since the preview was drafted is refused, so nobody
    publishes a change over one they never saw.
    """
    from scoring import rules as scoring_rules
    from scoring.models import ScoringRule

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
    from scoring import rules as scoring_rules

    try:
        scoring_rules.update_thresholds(
            mql_threshold=draft["mql_threshold"],
            recycle_threshold=draft["recycle_threshold"],
            user=user,
            base_version=draft.get("base_version", 0),
        )
    except scoring_rules.ThresholdsInvalid as invalid:
        raise PreviewNotPublishable(next(iter(invalid.fields.values()))[0]) from invalid
