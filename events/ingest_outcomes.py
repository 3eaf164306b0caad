"""What both ingest paths (ingest.py, the reference; ingest_pg.py, the set-based one)
answer for an event, who they act as, and the refusal that makes a batch start over."""

from leads.actors import Actor

from .models import ApiKey

ACCEPTED = "accepted"
DUPLICATE = "duplicate"


class LeadsMoved(Exception):
    """A lead the set-based path is about to write to was merged away (or removed)
    between its unlocked lookup and its lock: the batch is retried from the start."""


def actor_for(api_key: ApiKey | None) -> Actor:
    return Actor.for_api_key(api_key) if api_key is not None else Actor.system("ingest")
