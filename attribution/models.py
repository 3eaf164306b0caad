"""Attribution: touchpoints, the channel rules that name their channel, campaign spend,
and the summary table of credits the report reads.

`Touchpoint` rows are derived from the event log (and each lead's own source and
campaign at capture) by `attribution.services.refresh_attribution`; `AttributionCredit`
is rebuilt from them by one set-based statement (see `attribution.sql`).
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

MODELS = ["first_touch", "last_touch", "linear", "time_decay", "u_shaped", "w_shaped", "full_path"]


class AttributionModel(models.TextChoices):
    FIRST_TOUCH = "first_touch", "First touch"
    LAST_TOUCH = "last_touch", "Last touch"
    LINEAR = "linear", "Linear"
    TIME_DECAY = "time_decay", "Time decay"
    U_SHAPED = "u_shaped", "U-shaped (position-based)"
    W_SHAPED = "w_shaped", "W-shaped"
    FULL_PATH = "full_path", "Full path"


class Milestone(models.TextChoices):
    LEAD = "lead", "Lead created"
    MQL = "mql", "MQL"
    SQL = "sql", "SQL (deal opened)"
    CUSTOMER = "customer", "Customer (deal won)"


class Dimension(models.TextChoices):
    CAMPAIGN = "campaign", "Campaign"
    CHANNEL = "channel", "Channel"
    SOURCE = "source", "Source"


DIRECT = "Direct"
OTHER = "Other"


class TouchField(models.TextChoices):
    SOURCE = "source", "Source (utm_source)"
    MEDIUM = "medium", "Medium (utm_medium)"
    CAMPAIGN = "campaign", "Campaign (utm_campaign)"
    KIND = "kind", "Touch type (event type, or capture)"


class MatchKind(models.TextChoices):
    EQUALS = "equals", "is one of"
    CONTAINS = "contains", "contains one of"


class ChannelRule(models.Model):
    """`field` matches one of `values` (comma-separated, compared case-folded) → `channel`.

    Rules are tried by `position`; the first that matches names the channel. A touch no
    rule matches is "Other" when it has a source, medium or campaign and "Direct" when it
    has none."""

    position = models.PositiveIntegerField(default=0)
    field = models.CharField(max_length=10, choices=TouchField.choices)
    match = models.CharField(max_length=10, choices=MatchKind.choices, default=MatchKind.EQUALS)
    values = models.CharField(max_length=500, help_text="Comma-separated, e.g. cpc, ppc")
    channel = models.CharField(max_length=100)
    active = models.BooleanField(default=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return f"{self.get_field_display()} {self.get_match_display()} {self.values} → {self.channel}"

    @property
    def value_list(self) -> list[str]:
        return [value.strip().casefold() for value in self.values.split(",") if value.strip()]


class TouchKind(models.TextChoices):
    CAPTURE = "capture", "Captured (the lead's own source and campaign)"
    AD_CLICKED = "ad_clicked", "Ad clicked"
    EMAIL_CLICKED = "email_clicked", "Email clicked"
    PAGE_VIEW = "page_view", "Page view with UTM"
    FORM_SUBMITTED = "form_submitted", "Form submitted"
    WEBINAR_REGISTERED = "webinar_registered", "Webinar registered"
    WEBINAR_ATTENDED = "webinar_attended", "Webinar attended"


class Touchpoint(models.Model):
    """A marketing touch of a lead: an event carrying a channel or campaign, or the
    lead's capture. Values are case-folded. `event` and `lead` carry no database
    constraint: erasure and merges change the event log with their own statements, and
    the refresh drops or moves touchpoints to match (the event log stays the truth)."""

    event = models.OneToOneField(
        "events.EngagementEvent",
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    lead = models.ForeignKey("leads.Lead", on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    kind = models.CharField(max_length=30, choices=TouchKind.choices)
    occurred_at = models.DateTimeField()
    source = models.CharField(max_length=200, blank=True)
    medium = models.CharField(max_length=200, blank=True)
    campaign = models.CharField(max_length=200, blank=True)
    content = models.CharField(max_length=200, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["lead", "occurred_at"], name="touch_lead_time"),
            models.Index(fields=["campaign"], name="touch_campaign"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["lead"], condition=Q(kind="capture"), name="touch_one_capture_per_lead"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} of lead {self.lead_id} at {self.occurred_at:%Y-%m-%d %H:%M}"


class CampaignSpend(models.Model):
    """What a campaign cost in a month (the first day of the month stands for it)."""

    campaign = models.CharField(max_length=200, help_text="Case-folded, as touchpoints carry it")
    month = models.DateField()
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3, default="EUR")
    channel = models.CharField(max_length=100, blank=True, help_text="Counts under this channel in by-channel views")
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-month", "campaign"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "month"], name="spend_one_per_campaign_month"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="spend_not_negative"),
            models.CheckConstraint(condition=Q(month__day=1), name="spend_month_first_day"),
        ]

    def __str__(self) -> str:
        return f"{self.campaign} {self.month:%Y-%m}: {self.amount} {self.currency}"


class AttributionChange(models.Model):
    """Append-only trail of spend and channel-rule edits: who, when, what, from, to."""

    subject = models.CharField(max_length=20)  # "spend" or "channel_rule"
    key = models.CharField(max_length=300)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=200, blank=True)
    occurred_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-occurred_at", "-id"]


class AttributionCredit(models.Model):
    """Summed credit of the conversions of `milestone` on `day` (UTC) under each model,
    per campaign, channel and source of the credited touch, for one attribution window.
    A conversion with no touch in its window credits campaign "" / channel "Direct"."""

    window_days = models.PositiveIntegerField()
    milestone = models.CharField(max_length=10, choices=Milestone.choices)
    day = models.DateField()
    campaign = models.CharField(max_length=200, blank=True)
    channel = models.CharField(max_length=100)
    source = models.CharField(max_length=200, blank=True)
    credit_first_touch = models.FloatField(default=0)
    credit_last_touch = models.FloatField(default=0)
    credit_linear = models.FloatField(default=0)
    credit_time_decay = models.FloatField(default=0)
    credit_u_shaped = models.FloatField(default=0)
    credit_w_shaped = models.FloatField(default=0)
    credit_full_path = models.FloatField(default=0)
    revenue_first_touch = models.FloatField(default=0)
    revenue_last_touch = models.FloatField(default=0)
    revenue_linear = models.FloatField(default=0)
    revenue_time_decay = models.FloatField(default=0)
    revenue_u_shaped = models.FloatField(default=0)
    revenue_w_shaped = models.FloatField(default=0)
    revenue_full_path = models.FloatField(default=0)

    class Meta:
        indexes = [models.Index(fields=["window_days", "milestone", "day"], name="attr_credit_window_day")]


class AttributionRefresh(models.Model):
    """One row: when the credits were last rebuilt, and how far the event log has been read."""

    refreshed_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    last_event_id = models.BigIntegerField(default=0)
