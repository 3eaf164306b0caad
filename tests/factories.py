import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from leads.models import Activity, Deal, Lead, StageTransition
from leads.services import record_leads_created
from leads.stages import MoveKind, Stage

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
    """A lead with its creation transition, so the stage invariant holds from the start."""

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

    @factory.post_generation
    def history(self, create, extracted, **kwargs):
        if create:
            StageTransition.objects.create(
                lead=self,
                cycle=self.cycle,
                from_stage="",
                to_stage=self.stage,
                kind=MoveKind.CREATED,
                actor_kind="system",
                actor_label="factory",
                occurred_at=self.stage_entered_at,
            )
            # Counted in the pipeline summary like every lead the services create.
            record_leads_created(leads=[self])


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
