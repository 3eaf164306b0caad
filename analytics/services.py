"""Writes of the analytics app: rebuilding the summary tables, running rule previews."""

import logging
import time

from django.db import connection, transaction
from django.utils import timezone

from . import refresh_sql
from .models import AnalyticsRefresh

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
        state.refreshed_at = now
        state.duration_ms = int((time.monotonic() - started) * 1000)
        state.save(update_fields=["refreshed_at", "duration_ms"])
    logger.info("Analytics summaries rebuilt in %d ms", state.duration_ms)
    return state
