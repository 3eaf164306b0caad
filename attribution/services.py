"""Writes of the attribution app: rebuilding touchpoints and credits, spend, channel rules."""

import logging
import time
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.utils import timezone

from leads.stages import Stage

from . import channels, sql, touches
from .models import AttributionChange, AttributionCredit, AttributionRefresh, CampaignSpend, ChannelRule

logger = logging.getLogger(__name__)

REFRESH_TASK = "attribution.refresh"


def window_choices() -> list[int]:
    """The windows the summary is kept for: the setting's and a shorter and a longer one."""
    return sorted({30, int(settings.FUNNEL_ATTRIBUTION_WINDOW_DAYS), 180})


def refresh_attribution(*, windows: list[int] | None = None) -> AttributionRefresh:
    """Read new touches from the event log, then rebuild every credit row in one
    transaction: two INSERT … SELECT statements per window (`attribution.sql`), so readers
    keep the previous credits until the new ones commit. The refresh row is locked first,
    so a beat run and a deal-won refresh run one after the other."""
    started = time.monotonic()
    dialect = sql.Dialect(postgres=connection.vendor == "postgresql")
    half_life = float(settings.FUNNEL_ATTRIBUTION_HALF_LIFE_DAYS)
    with transaction.atomic():
        AttributionRefresh.objects.get_or_create(pk=1)
        state = AttributionRefresh.objects.select_for_update().get(pk=1)
        touches.extract_event_touches(state=state)
        touches.sync_touches_with_events()
        touches.rebuild_capture_touches()
        channel_case = channels.channel_case_sql(channels.active_rules(), "t", postgres=dialect.postgres)
        AttributionCredit.objects.all().delete()
        with connection.cursor() as cursor:
            if dialect.postgres:
                cursor.execute(f"ANALYZE {sql.TOUCH_TABLE}")
                # The GROUP BY holds one row per milestone, day, campaign, channel and source;
                # the default 4 MB spills it to disk from a few hundred thousand touches on.
                cursor.execute("SET LOCAL work_mem = '64MB'")
            for window in windows or window_choices():
                cursor.execute(
                    sql.credit_statement(
                        dialect, window_days=window, half_life_days=half_life, channel_case=channel_case
                    )
                )
                cursor.execute(sql.direct_statement(dialect, window_days=window))
        state.refreshed_at = timezone.now()
        state.duration_ms = int((time.monotonic() - started) * 1000)
        state.save(update_fields=["refreshed_at", "duration_ms", "last_event_id"])
    logger.info("Attribution credits rebuilt in %d ms", state.duration_ms)
    return state


PENDING_KEY = "attribution:refresh-pending"
REFRESH_DELAY_SECONDS = 10


def request_refresh() -> None:
    """After the current transaction commits, ask a worker to rebuild the credits.
    Requests coalesce: while one refresh is pending (a cache key, cleared when the task
    starts) further requests send nothing, so fifty deals won in a minute cost one or two
    rebuilds. Beat's periodic refresh covers a lost message."""
    transaction.on_commit(_enqueue_refresh)


def _enqueue_refresh() -> None:
    from funnel.celery import app

    try:
        if not cache.add(PENDING_KEY, 1, timeout=REFRESH_DELAY_SECONDS * 6):
            return
        app.send_task(REFRESH_TASK, countdown=REFRESH_DELAY_SECONDS)
    except Exception:  # noqa: BLE001 - the broker being down must not fail the deal's move
        logger.warning("Could not enqueue an attribution refresh; beat's refresh will catch up.")


def run_requested_refresh() -> AttributionRefresh:
    cache.delete(PENDING_KEY)
    return refresh_attribution()


def on_lead_stage_change(lead, transition) -> None:
    """Registered with leads' stage-change listeners: a deal opened, won or lost changes
    the SQL and customer conversions, so the credits are rebuilt after the move commits."""
    if transition.to_stage in (Stage.SQL, Stage.CUSTOMER) or transition.from_stage == Stage.SQL:
        request_refresh()


# --- Spend ------------------------------------------------------------------------------


class InvalidSpend(ValueError):
    def __init__(self, fields: dict[str, list[str]]):
        super().__init__("; ".join(f"{name}: {' '.join(problems)}" for name, problems in fields.items()))
        self.fields = fields


def clean_spend(*, campaign, month, amount, currency="EUR", channel="") -> dict:
    """Check one spend entry; `month` as YYYY-MM or YYYY-MM-DD (any day of the month)."""
    problems: dict[str, list[str]] = {}
    campaign_text = " ".join(str(campaign or "").split()).casefold()
    if not campaign_text:
        problems["campaign"] = ["Name the campaign (its utm_campaign)."]
    elif len(campaign_text) > 200:
        problems["campaign"] = ["At most 200 characters."]
    month_date = None
    if isinstance(month, date):
        month_date = month.replace(day=1)
    else:
        text = str(month or "").strip()
        try:
            parts = [int(part) for part in text.split("-")]
            month_date = date(parts[0], parts[1], 1) if len(parts) in (2, 3) else None
        except (ValueError, IndexError):
            month_date = None
        if month_date is None:
            problems["month"] = ["Use a month like 2026-03."]
    try:
        amount_value = Decimal(str(amount).strip().replace(",", "")) if amount not in (None, "") else None
        if amount_value is None or not amount_value.is_finite() or amount_value < 0 or amount_value >= Decimal(10**12):
            raise ValueError
        amount_value = amount_value.quantize(Decimal("0.01"))
    except (ArithmeticError, ValueError):
        amount_value = None
        problems["amount"] = ["Enter an amount of 0 or more."]
    currency_text = str(currency or "EUR").strip().upper()
    if len(currency_text) != 3 or not currency_text.isalpha():
        problems["currency"] = ["Use a three-letter ISO code such as EUR."]
    channel_text = " ".join(str(channel or "").split())
    if len(channel_text) > 100:
        problems["channel"] = ["At most 100 characters."]
    if problems:
        raise InvalidSpend(problems)
    return {
        "campaign": campaign_text,
        "month": month_date,
        "amount": amount_value,
        "currency": currency_text,
        "channel": channel_text,
    }


def _spend_snapshot(spend: CampaignSpend | None) -> dict | None:
    if spend is None:
        return None
    return {"amount": str(spend.amount), "currency": spend.currency, "channel": spend.channel}


def set_campaign_spend(*, user, actor_label: str = "", **entry) -> CampaignSpend:
    """Create or replace the spend of one campaign and month, with a trail row.
    The unique (campaign, month) constraint and the row lock keep two writers to one row apart."""
    fields = clean_spend(**entry)
    with transaction.atomic():
        existing = (
            CampaignSpend.objects.select_for_update().filter(campaign=fields["campaign"], month=fields["month"]).first()
        )
        before = _spend_snapshot(existing)
        spend, _ = CampaignSpend.objects.update_or_create(
            campaign=fields["campaign"],
            month=fields["month"],
            defaults={
                "amount": fields["amount"],
                "currency": fields["currency"],
                "channel": fields["channel"],
                "updated_by": user if getattr(user, "pk", None) else None,
                "updated_at": timezone.now(),
            },
        )
        AttributionChange.objects.create(
            subject="spend",
            key=f"{spend.campaign} {spend.month:%Y-%m}",
            before=before,
            after=_spend_snapshot(spend),
            user=user if getattr(user, "pk", None) else None,
            actor_label=actor_label or getattr(user, "username", ""),
        )
    return spend


def import_spend_csv(*, text: str, user, actor_label: str = "") -> tuple[int, list[str]]:
    """Columns campaign, month, amount (currency and channel optional), a header row first.
    Every row is checked before any is saved: one bad row saves nothing."""
    import csv
    import io

    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    headers = {(name or "").strip().casefold() for name in reader.fieldnames or []}
    missing = {"campaign", "month", "amount"} - headers
    if missing:
        return 0, [f"The header row lacks: {', '.join(sorted(missing))}."]
    entries, errors = [], []
    for number, row in enumerate(reader, start=2):
        row = {(key or "").strip().casefold(): value for key, value in row.items()}
        try:
            entries.append(
                clean_spend(
                    campaign=row.get("campaign"),
                    month=row.get("month"),
                    amount=row.get("amount"),
                    currency=row.get("currency") or "EUR",
                    channel=row.get("channel") or "",
                )
            )
        except InvalidSpend as problem:
            errors.append(f"Row {number}: {problem}")
    if errors:
        return 0, errors
    with transaction.atomic():
        for entry in entries:
            set_campaign_spend(user=user, actor_label=actor_label, **entry)
    return len(entries), []


# --- Channel rules ------------------------------------------------------------------------


def _rule_snapshot(rule: ChannelRule | None) -> dict | None:
    if rule is None:
        return None
    return {
        "position": rule.position,
        "field": rule.field,
        "match": rule.match,
        "values": rule.values,
        "channel": rule.channel,
        "active": rule.active,
    }


def save_channel_rule(*, rule: ChannelRule, user) -> ChannelRule:
    """Save a new or edited rule (from the page or the admin) with its trail row; the
    credits follow on the next refresh, which is asked for now."""
    with transaction.atomic():
        before = _rule_snapshot(ChannelRule.objects.filter(pk=rule.pk).first()) if rule.pk else None
        rule.updated_by = user if getattr(user, "pk", None) else None
        rule.updated_at = timezone.now()
        rule.save()
        AttributionChange.objects.create(
            subject="channel_rule",
            key=str(rule.pk),
            before=before,
            after=_rule_snapshot(rule),
            user=rule.updated_by,
            actor_label=getattr(user, "username", ""),
        )
        request_refresh()
    return rule


def delete_channel_rule(*, rule: ChannelRule, user) -> None:
    with transaction.atomic():
        AttributionChange.objects.create(
            subject="channel_rule",
            key=str(rule.pk),
            before=_rule_snapshot(rule),
            after=None,
            user=user if getattr(user, "pk", None) else None,
            actor_label=getattr(user, "username", ""),
        )
        rule.delete()
        request_refresh()
