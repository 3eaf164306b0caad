"""Summary tables behind the funnel report.

Every table is rebuilt from the source tables by `analytics.services.refresh_analytics`
(one INSERT … SELECT … GROUP BY each, see `analytics.refresh_sql`), so a report reads a
few hundred small rows instead of scanning transitions or the event log per view.

Each fact table carries the same dimensions, so one filter fits all sections:
`day` (UTC date the fact happened), `source` and `campaign` (the lead's, or the
event's campaign where an event names one) and `owner` (the lead's owner, or the
deal's owner, or the rep who logged the activity).
"""

from django.conf import settings
from django.db import models


class Dimensions(models.Model):
    day = models.DateField()
    source = models.CharField(max_length=100, blank=True)
    campaign = models.CharField(max_length=200, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )

    class Meta:
        abstract = True


class StageEntryDaily(Dimensions):
    """Leads that entered `stage` (first time in their cycle) on `day`, and how many of
    those went on, in the same cycle, to a later stage and to customer."""

    stage = models.CharField(max_length=20)
    entered = models.PositiveIntegerField(default=0)
    reached_next = models.PositiveIntegerField(default=0)
    reached_customer = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["day", "stage"], name="an_stage_entry_day")]


class DurationMeasure(models.TextChoices):
    """What a duration row measures: a stay in a stage (the stage slug is the measure),
    or one of these spans."""

    SALES_CYCLE = "sales_cycle", "Sales cycle (capture to customer)"
    FIRST_TOUCH = "first_touch", "Time to first touch (MQL alert to first activity)"


class DurationDaily(Dimensions):
    """A compact histogram: `count` spans of `measure` that ended on `day` and lasted
    `hours` (rounded). Medians and 90th percentiles are read from it exactly (to the
    hour) without keeping one row per span."""

    measure = models.CharField(max_length=20)
    hours = models.PositiveIntegerField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["day", "measure"], name="an_duration_day")]


class CohortWeekly(models.Model):
    """Leads captured in the week starting `week` (a Monday), by the furthest stage
    they have reached so far (in any cycle)."""

    week = models.DateField()
    source = models.CharField(max_length=100, blank=True)
    campaign = models.CharField(max_length=200, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    furthest_stage = models.CharField(max_length=20)
    leads = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["week"], name="an_cohort_week")]


class HandoffDaily(Dimensions):
    """MQL alerts raised on `day` and what sales did with them."""

    raised = models.PositiveIntegerField(default=0)
    accepted = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    still_open = models.PositiveIntegerField(default=0)
    # Alerts with a due time whose outcome is known: acted on (in time or late) or overdue.
    sla_due = models.PositiveIntegerField(default=0)
    sla_met = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["day"], name="an_handoff_day")]


class RejectionDaily(Dimensions):
    """MQL alerts raised on `day` that sales rejected, by reason code."""

    reason = models.CharField(max_length=50)
    rejected = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["day"], name="an_rejection_day")]


class DealDaily(Dimensions):
    """What happened to deals on `day`: each count on the day it happened (opened on the
    day the deal was created, won on the day it closed, …). Owner is the deal's owner."""

    opened = models.PositiveIntegerField(default=0)
    opened_value = models.DecimalField(max_digits=16, decimal_places=2, default=0)
    still_open = models.PositiveIntegerField(default=0)
    open_value = models.DecimalField(max_digits=16, decimal_places=2, default=0)
    proposals_sent = models.PositiveIntegerField(default=0)
    proposals_accepted = models.PositiveIntegerField(default=0)
    won = models.PositiveIntegerField(default=0)
    won_value = models.DecimalField(max_digits=16, decimal_places=2, default=0)
    lost = models.PositiveIntegerField(default=0)
    # Won in a cycle after the first: a customer buying again.
    repeat_won = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["day"], name="an_deal_day")]


class ActivityDaily(Dimensions):
    """Activities logged on `day`; `owner` is the rep who logged them."""

    kind = models.CharField(max_length=10)
    count = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["day"], name="an_activity_day")]


class EngagementDaily(Dimensions):
    """Engagement events per type on `day`. `campaign` is the event's own campaign
    property when it has one, else the lead's UTM campaign."""

    type = models.CharField(max_length=100)
    events = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["day", "type"], name="an_engagement_day")]


class DelightDaily(Dimensions):
    """New cycles opened (a customer coming back) and NPS answers on `day`."""

    new_cycles = models.PositiveIntegerField(default=0)
    nps_promoters = models.PositiveIntegerField(default=0)
    nps_passives = models.PositiveIntegerField(default=0)
    nps_detractors = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["day"], name="an_delight_day")]


class AlertOutcomeDaily(Dimensions):
    """MQL alerts raised on `day` by score band (10 points wide) and what became of
    them in the alert's cycle: accepted, qualified (reached SQL), won (customer)."""

    score_band = models.PositiveIntegerField()
    raised = models.PositiveIntegerField(default=0)
    accepted = models.PositiveIntegerField(default=0)
    qualified = models.PositiveIntegerField(default=0)
    won = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["day"], name="an_alert_outcome_day")]


class RuleOutcomeDaily(Dimensions):
    """The same outcomes, per scoring rule that contributed points to the alert (from
    the contributions stored on each alert)."""

    rule_key = models.CharField(max_length=100)
    rule_label = models.CharField(max_length=200, blank=True)
    raised = models.PositiveIntegerField(default=0)
    accepted = models.PositiveIntegerField(default=0)
    qualified = models.PositiveIntegerField(default=0)
    won = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["day"], name="an_rule_outcome_day")]


class AnalyticsRefresh(models.Model):
    """One row: when the summaries were last rebuilt. Refreshes lock it, so two beat
    runs never rebuild at once."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    refreshed_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"Analytics refreshed at {self.refreshed_at or 'never'}"
