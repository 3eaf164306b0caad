from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from .stages import MoveKind, Stage

# Likelihood bands (lower bounds) a rep reads at a glance; with buyers a minority,
# 30% is already several times the base rate.
LIKELIHOOD_HIGH = 0.30
LIKELIHOOD_MEDIUM = 0.10

# A person's own fields and where they came from: what forms, the API and imports edit.
PROFILE_FIELDS = [
    "email",
    "external_id",
    "first_name",
    "last_name",
    "company",
    "job_title",
    "phone",
    "country",
    "company_size",
    "source",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
]


class Lead(models.Model):
    """A person (or, before capture, an anonymous visitor) moving through the funnel."""

    email = models.EmailField(max_length=254, null=True, blank=True)
    anonymous_id = models.CharField(max_length=200, null=True, blank=True)
    external_id = models.CharField(max_length=200, null=True, blank=True)

    first_name = models.CharField(max_length=150, blank=True)
    last_name = models.CharField(max_length=150, blank=True)
    company = models.CharField(max_length=200, blank=True)
    job_title = models.CharField(max_length=200, blank=True)
    phone = models.CharField(max_length=50, blank=True)
    country = models.CharField(max_length=100, blank=True)
    company_size = models.PositiveIntegerField(null=True, blank=True)

    source = models.CharField(max_length=100, blank=True)
    utm_source = models.CharField(max_length=200, blank=True)
    utm_medium = models.CharField(max_length=200, blank=True)
    utm_campaign = models.CharField(max_length=200, blank=True)
    utm_term = models.CharField(max_length=200, blank=True)
    utm_content = models.CharField(max_length=200, blank=True)
    attributes = models.JSONField(default=dict, blank=True)

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="owned_leads"
    )
    # Written only by leads.services.move_lead (and lead creation).
    stage = models.CharField(max_length=20, choices=Stage.choices, default=Stage.DEMAND_GEN)
    stage_entered_at = models.DateTimeField(default=timezone.now)
    score = models.IntegerField(default=0)
    cycle = models.PositiveIntegerField(default=1)
    recycle_count = models.PositiveIntegerField(default=0)
    # Hysteresis: a lead sent back to nurture is re-armed for MQL only once its score
    # has dropped below the recycle threshold (scoring owns this flag).
    mql_armed = models.BooleanField(default=True)
    # How many MQL crossings this cycle has had: the alert's idempotency key.
    mql_crossings = models.PositiveIntegerField(default=0)
    last_engaged_at = models.DateTimeField(null=True, blank=True)
    # Likelihood to buy within 90 days (0–1) and its reasons ([{"feature", "label",
    # "contribution"}], strongest first), written by scoring's learned model when the
    # lead is rescored; null while no model is published.
    likelihood = models.FloatField(null=True, blank=True)
    likelihood_reasons = models.JSONField(default=list, blank=True)

    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="merged_leads"
    )
    erased_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("email"), name="lead_email_unique_ci", condition=Q(email__isnull=False)),
            models.UniqueConstraint(
                fields=["anonymous_id"], name="lead_anonymous_id_unique", condition=Q(anonymous_id__isnull=False)
            ),
            models.UniqueConstraint(
                fields=["external_id"], name="lead_external_id_unique", condition=Q(external_id__isnull=False)
            ),
            models.CheckConstraint(condition=Q(score__gte=0), name="lead_score_not_negative"),
            models.CheckConstraint(condition=Q(stage__in=Stage.values), name="lead_stage_known"),
            models.CheckConstraint(
                condition=Q(likelihood__isnull=True) | Q(likelihood__gte=0, likelihood__lte=1),
                name="lead_likelihood_is_probability",
            ),
        ]
        indexes = [
            models.Index(fields=["stage", "-score", "id"], name="lead_stage_score"),
            models.Index(fields=["owner", "stage"], name="lead_owner_stage"),
            models.Index(fields=["-created_at", "-id"], name="lead_created_desc"),
            models.Index(fields=["-score", "-id"], name="lead_score_desc"),
            # `ordering=-likelihood` (leads without one last) has a PostgreSQL-only index,
            # lead_likelihood_desc, made in migration 0005: SQLite cannot index NULLS LAST.
            models.Index(fields=["source"], name="lead_source"),
            models.Index(fields=["utm_campaign"], name="lead_campaign"),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def full_name(self) -> str:
        return " ".join(part for part in (self.first_name, self.last_name) if part)

    @property
    def display_name(self) -> str:
        if self.erased_at:
            return f"Erased lead #{self.pk}"
        return self.full_name or self.email or f"Anonymous visitor #{self.pk}"

    @property
    def is_identified(self) -> bool:
        return bool(self.email)

    @property
    def stage_label(self) -> str:
        return Stage(self.stage).label

    @property
    def likelihood_band(self) -> str | None:
        if self.likelihood is None:
            return None
        if self.likelihood >= LIKELIHOOD_HIGH:
            return "high"
        return "medium" if self.likelihood >= LIKELIHOOD_MEDIUM else "low"

    @property
    def likelihood_reasons_up(self) -> list:
        return [item for item in self.likelihood_reasons or [] if item["contribution"] > 0]

    @property
    def likelihood_reasons_down(self) -> list:
        return [item for item in self.likelihood_reasons or [] if item["contribution"] < 0]


class ActorKind(models.TextChoices):
    USER = "user", "User"
    API_KEY = "api_key", "API key"
    SYSTEM = "system", "System"


class StageTransition(models.Model):
    """Append-only: every stage a lead has entered, with who, when and why."""

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="transitions")
    cycle = models.PositiveIntegerField()
    from_stage = models.CharField(max_length=20, choices=Stage.choices, blank=True)
    to_stage = models.CharField(max_length=20, choices=Stage.choices)
    kind = models.CharField(max_length=20, choices=MoveKind.choices)
    actor_kind = models.CharField(max_length=10, choices=ActorKind.choices)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # What the actor was called at the time (a key's name, "system: score 62"), kept
    # even when the user or key is deleted later.
    actor_label = models.CharField(max_length=200, blank=True)
    reason = models.TextField(blank=True)
    reason_code = models.CharField(max_length=50, blank=True)
    occurred_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["lead", "occurred_at", "id"], name="transition_lead_time"),
            models.Index(fields=["to_stage", "occurred_at"], name="transition_stage_time"),
        ]
        ordering = ["occurred_at", "id"]

    def __str__(self) -> str:
        return f"{self.lead_id}: {self.from_stage or '∅'} → {self.to_stage}"


class LeadMerge(models.Model):
    """The record, kept on the survivor, that another lead was folded into it."""

    survivor = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="merges")
    merged = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="merged_by")
    actor_kind = models.CharField(max_length=10, choices=ActorKind.choices)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=200, blank=True)
    reason = models.TextField(blank=True)
    events_moved = models.PositiveIntegerField(default=0)
    # Which events it moved: a replay of the log (funnel/replay.py) gives each event to the
    # lead it arrived for until the merge's moment.
    moved_event_ids = models.JSONField(default=list, blank=True)
    merged_at = models.DateTimeField(default=timezone.now)


class DealStatus(models.TextChoices):
    OPEN = "open", "Open"
    WON = "won", "Won"
    LOST = "lost", "Lost"


class Deal(models.Model):
    """At most one per lead and cycle: opened at SQL, closed won or lost."""

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="deals")
    cycle = models.PositiveIntegerField()
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="deals"
    )
    value = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    currency = models.CharField(max_length=3, default="USD")
    expected_close_date = models.DateField(null=True, blank=True)
    next_step = models.CharField(max_length=300, blank=True)
    proposal_sent_at = models.DateTimeField(null=True, blank=True)
    proposal_accepted_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=DealStatus.choices, default=DealStatus.OPEN)
    lost_reason = models.CharField(max_length=300, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["lead", "cycle"], name="deal_one_per_cycle"),
            models.CheckConstraint(condition=Q(value__gte=0), name="deal_value_not_negative"),
        ]
        indexes = [models.Index(fields=["status", "closed_at"], name="deal_status_closed")]

    def __str__(self) -> str:
        return f"Deal for lead {self.lead_id}, cycle {self.cycle}"

    @property
    def lost_reason_text(self) -> str:
        """Why it was lost, to show after the word “Lost”: the lose action stores the move's
        reason (“Lost: Bad timing”), which would otherwise read “Lost: Lost: Bad timing”."""
        reason = self.lost_reason.strip()
        return reason[len("Lost:") :].strip() if reason.lower().startswith("lost:") else reason


class ActivityKind(models.TextChoices):
    CALL = "call", "Call"
    MEETING = "meeting", "Meeting"
    EMAIL = "email", "Email"
    NOTE = "note", "Note"


class Activity(models.Model):
    """A rep's touch on a lead: a call, a meeting, an email or a note."""

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="activities")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="activities"
    )
    kind = models.CharField(max_length=10, choices=ActivityKind.choices)
    occurred_at = models.DateTimeField(default=timezone.now)
    outcome = models.CharField(max_length=300, blank=True)
    note = models.TextField(blank=True)
    next_step = models.CharField(max_length=300, blank=True)
    next_step_due = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["lead", "-occurred_at"], name="activity_lead_time"),
            models.Index(fields=["user", "occurred_at"], name="activity_user_time"),
        ]
        verbose_name_plural = "activities"

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on lead {self.lead_id}"


class PipelineCount(models.Model):
    """How many live leads sit in each stage, per owner, source, campaign and day of
    creation: the board's counts, so no page view counts the leads table.

    Append-only between compactions: every change adds a +1/−1 row in the same
    transaction as the change itself, so concurrent moves never wait on a shared
    counter row (an upserted counter would be a hot row locked until each commit,
    and transactions touching several counters in different orders would deadlock).
    `compact_pipeline_counts` folds the rows into one per key now and then; readers
    always SUM, so they see the same totals before and after.
    """

    stage = models.CharField(max_length=20, choices=Stage.choices)
    # Mirrors Lead.owner's SET_NULL, so deleting a user moves both to "unassigned".
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    source = models.CharField(max_length=100, blank=True)
    campaign = models.CharField(max_length=200, blank=True)
    day = models.DateField()
    n = models.IntegerField()

    class Meta:
        indexes = [
            models.Index(fields=["day", "stage"], name="pipeline_count_day_stage"),
            models.Index(fields=["stage", "owner", "source", "campaign", "day"], name="pipeline_count_key"),
        ]

    def __str__(self) -> str:
        return f"{self.stage} {self.day} {self.source}/{self.campaign} owner={self.owner_id}: {self.n:+d}"


class ImportStatus(models.TextChoices):
    MAPPING = "mapping", "Waiting for column mapping"
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Importing"
    SUCCEEDED = "succeeded", "Finished"
    FAILED = "failed", "Failed"


class DuplicatePolicy(models.TextChoices):
    UPDATE = "update", "Update the existing lead"
    SKIP = "skip", "Skip the row"


class ImportJob(models.Model):
    """One CSV upload: the decoded text, how its columns map to lead fields, and the
    outcome. The rows are written in a single transaction, so a failed job leaves
    nothing behind; progress is kept in the cache while that transaction runs."""

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="lead_imports"
    )
    filename = models.CharField(max_length=255)
    encoding = models.CharField(max_length=20)
    encoding_warning = models.CharField(max_length=300, blank=True)
    text = models.TextField()
    columns = models.JSONField(default=list)
    mapping = models.JSONField(default=dict, blank=True)
    on_duplicate = models.CharField(max_length=10, choices=DuplicatePolicy.choices, default=DuplicatePolicy.SKIP)
    status = models.CharField(max_length=10, choices=ImportStatus.choices, default=ImportStatus.MAPPING)
    total_rows = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    skipped_count = models.PositiveIntegerField(default=0)
    # [{"row": 7, "field": "email", "message": "..."}]: what the user downloads as CSV.
    errors = models.JSONField(default=list, blank=True)
    failure = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["created_by", "-created_at"], name="import_job_user_time")]

    def __str__(self) -> str:
        return f"Import {self.pk} of {self.filename} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in (ImportStatus.SUCCEEDED, ImportStatus.FAILED)

    @property
    def error_count(self) -> int:
        return len({error["row"] for error in self.errors})


class ChangeKind(models.TextChoices):
    FIELD_EDIT = "field_edit", "Field edited"
    OWNER_CHANGE = "owner_change", "Owner changed"
    REASSIGNMENT = "reassignment", "Alert reassigned"
    DEAL_EDIT = "deal_edit", "Deal edited"
    MERGE = "merge", "Merged"
    ERASURE = "erasure", "Erased"
    MQL_REARMED = "mql_rearmed", "Armed for MQL again"


class LeadChange(models.Model):
    """Append-only: every change of a lead other than a stage move (those are
    StageTransition rows), with who, when, what from what to what and why. Written by the
    service that makes the change (leads.trail.record_lead_change), in its transaction.
    Erasing a lead blanks the values of its rows and adds an erasure row without them."""

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="changes")
    kind = models.CharField(max_length=20, choices=ChangeKind.choices)
    field = models.CharField(max_length=100, blank=True)
    old_value = models.TextField(blank=True)
    new_value = models.TextField(blank=True)
    reason = models.TextField(blank=True)
    actor_kind = models.CharField(max_length=10, choices=ActorKind.choices)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The API key's id (events.ApiKey; an id, not a foreign key, as leads sits below events).
    actor_api_key_id = models.BigIntegerField(null=True, blank=True)
    actor_label = models.CharField(max_length=200, blank=True)
    occurred_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["lead", "occurred_at", "id"], name="lead_change_lead_time")]
        ordering = ["occurred_at", "id"]

    def __str__(self) -> str:
        return f"{self.lead_id}: {self.get_kind_display()} {self.field}".strip()
