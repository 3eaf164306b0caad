import itertools

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from events.models import EngagementEvent
from leads.actors import Actor
from leads.lifecycle import FIRST_STAGES, create_leads
from leads.lifecycle.creation import IDENTITY_AND_PROFILE_FIELDS, ROW_EXTRAS
from leads.lifecycle.history import PastMove, record_past_moves
from leads.models import Activity, Deal, Lead
from leads.stages import STAGE_ORDER, Stage
from scoring.models import RulePreview

# What `create_leads` takes; the rest of a factory's fields are written after creation.
CREATED_WITH = {*IDENTITY_AND_PROFILE_FIELDS, *ROW_EXTRAS}

User = get_user_model()


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password("s3cret-pass")

    @factory.post_generation
    def role(self, create, extracted, **kwargs):
        if create and extracted:
            # Transactional tests flush the tables, groups from the data migration included.
            self.groups.add(Group.objects.get_or_create(name=extracted)[0])


def marketer(**kwargs):
    return UserFactory(role="marketer", **kwargs)


def sales_rep(**kwargs):
    return UserFactory(role="sales_rep", **kwargs)


def sales_manager(**kwargs):
    return UserFactory(role="sales_manager", **kwargs)


def admin_user(**kwargs):
    return UserFactory(is_superuser=True, is_staff=True, **kwargs)


class LeadFactory(factory.django.DjangoModelFactory):
    """A lead as the services make one: created by the lifecycle's `create_leads` at its
    first stage (its `created` transition, its board count), then moved forward one stage
    at a time through the stage rules up to `stage` (the moves a person could make: no
    crossing, so no alert). Fields the lifecycle does not set at creation (the score,
    counters a test arranges) are written after, as the service that owns them would."""

    class Meta:
        model = Lead
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"lead{n}@example.com")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    company = factory.Faker("company")
    job_title = "Marketing Manager"
    country = "Germany"
    source = "website"
    stage = Stage.LEAD_GEN

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        target = kwargs.pop("stage")
        moved_at = kwargs.pop("stage_entered_at", None)
        created = {name: kwargs.pop(name) for name in list(kwargs) if name in CREATED_WITH}
        if moved_at is not None and (created.get("created_at") is None or created["created_at"] > moved_at):
            created["created_at"] = moved_at
        first = target if target in FIRST_STAGES else None
        (lead,) = create_leads([{**created, "stage": first}], actor=Actor.system("factory"))
        if target not in FIRST_STAGES:
            when = moved_at or lead.created_at
            path = STAGE_ORDER[STAGE_ORDER.index(lead.stage) + 1 : STAGE_ORDER.index(target) + 1]
            actor = Actor.system("factory")
            record_past_moves(moves={lead: [PastMove(to_stage=step, occurred_at=when, actor=actor) for step in path]})
        if kwargs:
            # What other services own (the score, crossing counters, merges, erasure).
            Lead.objects.filter(pk=lead.pk).update(**kwargs)
            for name, value in kwargs.items():
                setattr(lead, name, value)
        lead.refresh_from_db()
        return lead


class AnonymousLeadFactory(LeadFactory):
    email = None
    first_name = ""
    last_name = ""
    company = ""
    anonymous_id = factory.Sequence(lambda n: f"anon-{n}")
    stage = Stage.DEMAND_GEN


class DealFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Deal

    lead = factory.SubFactory(LeadFactory, stage=Stage.SQL)
    cycle = factory.LazyAttribute(lambda d: d.lead.cycle)
    value = 12000
    currency = "EUR"


class ActivityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Activity

    lead = factory.SubFactory(LeadFactory)
    kind = "call"
    occurred_at = factory.LazyFunction(timezone.now)
    outcome = "Talked about pricing"


_message_ids = itertools.count()


class EngagementEventFactory(factory.django.DjangoModelFactory):
    """An event as ingestion stores it: a unique message id, on a lead."""

    class Meta:
        model = EngagementEvent

    message_id = factory.LazyFunction(lambda: f"test-{next(_message_ids)}-{timezone.now().timestamp()}")
    lead = factory.SubFactory(LeadFactory)
    type = "page_view"
    occurred_at = factory.LazyFunction(timezone.now)
    properties = factory.LazyFunction(dict)


class RulePreviewFactory(factory.django.DjangoModelFactory):
    """A preview as the rule editor queues one (scoring.previews.start_rule_preview,
    without ringing a worker): queued, with its draft."""

    class Meta:
        model = RulePreview

    draft = factory.LazyFunction(lambda: {"action": "thresholds", "mql_threshold": 45, "recycle_threshold": 20})
