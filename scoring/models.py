from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone


class RescoreMark(models.Model):
    """Whether a lead's score must be recomputed: one row per lead however many events.

    Ingestion marks leads in the same transaction as the events; workers claim marks
    with a lease (`FOR UPDATE SKIP LOCKED` and `leased_until`), so a worker that dies
    leaves its marks to be swept up when the lease runs out.

    A mark bumps `generation` unless the lead is already waiting unclaimed (then the
    waiting mark covers the new events too); a rescore settles the generation it claimed. The lead
    is due (`pending`) while `generation > settled_generation`, so events that arrive
    during a rescore are scored by the next one. A settled row stays a little while:
    `rescored_at` is what tells a burst (a lead rescored moments ago) apart.
    """

    lead = models.OneToOneField("leads.Lead", primary_key=True, on_delete=models.CASCADE, related_name="rescore_mark")
    # The first mark since the lead was last settled: its place in line.
    marked_at = models.DateTimeField(default=timezone.now)
    leased_until = models.DateTimeField(null=True, blank=True)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    generation = models.PositiveIntegerField(default=1)
    settled_generation = models.PositiveIntegerField(default=0)
    last_marked_at = models.DateTimeField(null=True, blank=True)
    rescored_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["leased_until"], name="rescore_mark_lease"),
            models.Index(
                fields=["marked_at"],
                name="rescore_mark_pending",
                condition=models.Q(generation__gt=models.F("settled_generation")),
            ),
        ]

    @classmethod
    def pending(cls):
        return cls.objects.filter(generation__gt=models.F("settled_generation"))


class RuleKind(models.TextChoices):
    BEHAVIOUR = "behaviour", "Behaviour (per matching event)"
    FIT = "fit", "Fit (once, from the lead's fields)"


class ConditionOp(models.TextChoices):
    EQUALS = "equals", "equals"
    CONTAINS = "contains", "contains"
    IN = "in", "is one of"
    GTE = "gte", "is at least"


class ScoringRule(models.Model):
    """The current definition of a rule; each edit also appends a `RuleVersion`, so a
    score explained with version 3 of a rule still reads true after version 4."""

    label = models.CharField(max_length=120)
    kind = models.CharField(max_length=10, choices=RuleKind.choices)
    # Behaviour rules: the event type, and conditions on the event's properties.
    # Fit rules: conditions on lead fields ("job_title") or attributes ("attributes.plan").
    event_type = models.CharField(max_length=100, blank=True)
    conditions = models.JSONField(default=list, blank=True)
    points = models.IntegerField()
    # At most this many matching events per UTC day count (behaviour rules only).
    daily_cap = models.PositiveIntegerField(null=True, blank=True)
    # Days for a behaviour event's points to halve; empty: the global default.
    half_life_days = models.FloatField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)
    active = models.BooleanField(default=True)
    # Where the marketer put the rule in the list: the editor, the API list and score
    # explanations follow it (ties, e.g. two rules created at once, fall back to the id).
    # The score itself does not depend on it: contributions are summed exactly (fsum).
    position = models.PositiveIntegerField(default=0)
    # Deleting a rule archives it: its versions stay, so old explanations keep their words.
    archived_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(half_life_days__gt=0), name="rule_half_life_positive"),
            models.CheckConstraint(
                condition=models.Q(kind="fit") | ~models.Q(event_type=""), name="rule_behaviour_has_event_type"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.label} (v{self.version})"


class RuleVersion(models.Model):
    """Append-only snapshot of every version of a rule, the first one included."""

    rule = models.ForeignKey(ScoringRule, on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveIntegerField()
    label = models.CharField(max_length=120)
    kind = models.CharField(max_length=10, choices=RuleKind.choices)
    event_type = models.CharField(max_length=100, blank=True)
    conditions = models.JSONField(default=list, blank=True)
    points = models.IntegerField()
    daily_cap = models.PositiveIntegerField(null=True, blank=True)
    half_life_days = models.FloatField(null=True, blank=True)
    active = models.BooleanField(default=True)
    position = models.PositiveIntegerField(default=0)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    changed_by_label = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["rule_id", "version"]
        constraints = [models.UniqueConstraint(fields=["rule", "version"], name="rule_version_unique")]


class ScoringSettings(models.Model):
    """The one row of thresholds and the default half-life (pk=1).

    `version` counts threshold changes; each one also appends a `ThresholdVersion`, so a
    crossing explained as "score 48 crossed the MQL threshold 45" can be checked
    against the thresholds in force at the time, after they changed again."""

    mql_threshold = models.PositiveIntegerField(default=50)
    recycle_threshold = models.PositiveIntegerField(default=25)
    default_half_life_days = models.FloatField(default=30.0)
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "scoring settings"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(recycle_threshold__lt=models.F("mql_threshold")), name="recycle_below_mql"
            ),
            models.CheckConstraint(condition=models.Q(default_half_life_days__gt=0), name="default_half_life_positive"),
        ]


class ThresholdVersion(models.Model):
    """Append-only snapshot of the thresholds: the values in force from `created_at` on.
    The first change also records the version it replaced."""

    version = models.PositiveIntegerField(unique=True)
    mql_threshold = models.PositiveIntegerField()
    recycle_threshold = models.PositiveIntegerField()
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    changed_by_label = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["version"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(recycle_threshold__lt=models.F("mql_threshold")),
                name="threshold_version_recycle_below_mql",
            ),
        ]

    def __str__(self) -> str:
        return f"Thresholds v{self.version}: MQL {self.mql_threshold}, recycle {self.recycle_threshold}"


class ScoreChange(models.Model):
    """Append-only: every change of a lead's score, with the contributions that made it."""

    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="score_changes")
    old_score = models.IntegerField()
    new_score = models.IntegerField()
    contributions = models.JSONField(default=list)
    cause = models.CharField(max_length=60)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["lead", "-at", "-id"], name="score_change_lead_time")]


class RescoreJobStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    SUPERSEDED = "superseded", "Superseded by a newer job"


class RescoreJob(models.Model):
    """A full rescore (after a rule change, or `rescore --all`) walking the leads by id
    in batches; `cursor` is the last lead id done, so a killed job resumes where it was."""

    cause = models.CharField(max_length=200)
    status = models.CharField(max_length=12, choices=RescoreJobStatus.choices, default=RescoreJobStatus.PENDING)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    cursor = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]

    @property
    def percent(self) -> int:
        return 100 if not self.total else min(100, round(100 * self.done / self.total))


class PreviewStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class RulePreview(models.Model):
    """A background preview of a draft rule set: who would cross MQL now, and the last
    90 days replayed. The rule editor polls it for its progress bar."""

    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    # The draft: {"rules": [...], "thresholds": {...}} as the editor's form produced it.
    draft = models.JSONField(default=dict)
    status = models.CharField(max_length=10, choices=PreviewStatus.choices, default=PreviewStatus.QUEUED)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    results = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # The lease: the worker running the preview writes `updated_at` with every batch, so
    # a preview "running" with an old heartbeat lost its worker (`LEASE` below)
    # and may be restarted. Each run takes the next `attempt`; a run's
    # writes name its attempt, so a slow worker coming back cannot overwrite a restart.
    updated_at = models.DateTimeField(default=timezone.now)
    attempt = models.PositiveIntegerField(default=0)
    # Publishing applies the draft once: the row lock and this stamp stop a second click.
    published_at = models.DateTimeField(null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    # A batch of 200 leads takes well under a second to a few seconds; a heartbeat this
    # old means the worker died (or the queued message was lost with the broker).
    LEASE = timedelta(minutes=2)

    class Meta:
        # Moved here from the analytics app (the preview is the rule editor's); the table keeps its name.
        db_table = "analytics_rulepreview"

    @property
    def percent(self) -> int:
        if self.status == PreviewStatus.DONE:
            return 100
        return int(100 * self.done / self.total) if self.total else 0

    def lost_its_worker(self, now: datetime | None = None) -> bool:
        """Queued or running, with no heartbeat for longer than the lease."""
        unfinished = self.status in (PreviewStatus.QUEUED, PreviewStatus.RUNNING)
        return unfinished and self.updated_at < (now or timezone.now()) - self.LEASE
