from django.db import models
from django.utils import timezone


class RescoreMark(models.Model):
    """A lead whose score must be recomputed: one row per lead however many events.

    Ingestion inserts marks in the same transaction as the events; workers claim them
    with a lease (`FOR UPDATE SKIP LOCKED` and `leased_until`), so a worker that dies
    leaves its marks to be swept up when the lease runs out.
    """

    lead = models.OneToOneField("leads.Lead", primary_key=True, on_delete=models.CASCADE, related_name="rescore_mark")
    marked_at = models.DateTimeField(default=timezone.now)
    leased_until = models.DateTimeField(null=True, blank=True)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["leased_until"], name="rescore_mark_lease")]
