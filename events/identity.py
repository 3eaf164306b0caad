"""Which lead an event belongs to: the plain, one-event-at-a-time rules.

The set-based ingest path sends every event whose identity needs a decision (a new
identity meeting a known one, traits, a possible merge) through `resolve_lead`, so
these rules live in one place.

- Identities are email (case-insensitive), external_id (a tool's user id) and
  anonymous_id (a browser's id). A tombstone (a lead merged away) keeps its
  identities and sends its events on to the survivor.
- The survivor is the lead with the event's email, else the one with its external_id,
  else the one with its anonymous_id; none → a new lead (identified → lead_gen,
  anonymous → demand_gen).
- Any other matched lead with no email of its own (and no conflicting external_id)
  is merged into the survivor. Two leads with different emails are never merged.
- Identities the survivor lacks are attached; an email arriving for a lead still in
  demand generation captures it (→ lead_gen through move_lead).
- Through a public key (one that ships in a web page, so anyone may hold it) a known
  lead (one with an email) is never rewritten: traits only fill its blank fields, no
  external id is attached to it and no lead found by external id is merged into it.
  Anonymous visitors are created and captured as usual.
"""

from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.db.models.functions import Lower

from leads.actors import Actor
from leads.models import Lead
from leads.services import create_lead, merge_leads, move_lead, update_lead
from leads.stages import Stage


class IdentityConflict(Exception):
    pass


def _find(*, email: str | None, external_id: str | None, anonymous_id: str | None) -> tuple:
    """The leads (tombstones followed to their survivor) holding each identity, in one
    query: (by_email, by_external, by_anonymous)."""
    condition = Q()
    if email:
        condition |= Q(email__isnull=False, email_lower=email)
    if external_id:
        condition |= Q(external_id=external_id)
    if anonymous_id:
        condition |= Q(anonymous_id=anonymous_id)
    if not condition:
        return None, None, None
    by_email = by_external = by_anonymous = None
    # The database's lower(), as the unique index has it (not Python's str.lower()).
    for lead in Lead.objects.select_related("merged_into").annotate(email_lower=Lower("email")).filter(condition):
        live = lead.merged_into if lead.merged_into_id is not None else lead
        if email and lead.email and lead.email_lower == email:
            by_email = live
        if external_id and lead.external_id == external_id:
            by_external = live
        if anonymous_id and lead.anonymous_id == anonymous_id:
            by_anonymous = live
    return by_email, by_external, by_anonymous


def resolve_lead(
    *,
    email: str | None,
    external_id: str | None,
    anonymous_id: str | None,
    traits: dict,
    actor: Actor,
    at: datetime | None = None,
) -> Lead:
    """The lead (never a tombstone) for this identity, created, captured or merged as
    the rules above say. Safe under concurrency: every identity is unique in the
    database, and a writer that loses a race (IntegrityError) looks again."""
    for _attempt in range(4):
        try:
            with transaction.atomic():
                return _resolve_once(
                    email=email, external_id=external_id, anonymous_id=anonymous_id, traits=traits, actor=actor
                )
        except IntegrityError:
            continue
    raise IdentityConflict("Could not settle this identity; another writer kept changing it.")


def _resolve_once(*, email, external_id, anonymous_id, traits, actor) -> Lead:
    by_email, by_external, by_anonymous = _find(email=email, external_id=external_id, anonymous_id=anonymous_id)
    survivor = by_email or by_external or by_anonymous
    if survivor is None:
        fields = {key: value for key, value in traits.items() if value not in (None, "")}
        return create_lead(actor=actor, email=email, external_id=external_id, anonymous_id=anonymous_id, **fields)
    # A known person, as a public key must leave them (see the rules above).
    guarded = actor.public and bool(survivor.email)
    merged: set[int] = set()
    for other in (by_anonymous,) if guarded else (by_external, by_anonymous):
        if (
            other is not None
            and other.pk != survivor.pk
            and other.pk not in merged
            and other.merged_into_id is None
            and not other.email
            and (not other.external_id or other.external_id == external_id)
            and other.erased_at is None
        ):
            merge_leads(survivor=survivor, merged=other, actor=actor, reason="Same person: identified by an event")
            merged.add(other.pk)
    changes: dict = {}
    captured = False
    if email and not survivor.email and by_email is None:
        changes["email"] = email
        captured = survivor.stage == Stage.DEMAND_GEN
    if external_id and not survivor.external_id and by_external is None and not guarded:
        changes["external_id"] = external_id
    if anonymous_id and not survivor.anonymous_id and by_anonymous is None:
        changes["anonymous_id"] = anonymous_id
    for name, value in traits.items():
        if value in (None, "") or getattr(survivor, name) == value:
            continue
        if actor.public and getattr(survivor, name) not in (None, ""):
            continue  # a public key fills blanks only
        changes[name] = value
    if changes and survivor.erased_at is None:
        update_lead(lead=survivor, actor=actor, **changes)
    if captured:
        move_lead(lead=survivor, to=Stage.LEAD_GEN, actor=actor, reason="Identified: an email arrived for this visitor")
    return survivor
