"""Who may do what: the one rulebook (CONTRACT.md "Roles" and "Authentication").

Pages, the API, the admin and the services all ask these predicates; none writes a
role set or a role check of its own. The rulebook lives in `leads`, the bottom layer,
because lead services ask it too; it imports no other project app. Alerts belong to
the sales app above: predicates about an alert read its attributes (`status`,
`assignee_id`), and the queries that need alerts go through the small hook the sales
app registers at start-up (`register_alert_lookups`).

Who is asking is a *principal*: a person (a session: their role alone decides), an API
key (its scopes decide, intersected with the role of the user it is bound to, if any),
or the system itself (scoring, replays: the lifecycle's rules only). Every predicate
takes a principal or anything that names one (a user, an `Actor`, a request's
`ApiKeyPrincipal`), so a door passes what it has.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import models
from django.db.models import Q, QuerySet

from funnel.scopes import Scope

from .actors import person_name
from .models import Lead
from .stages import Stage


class Role(models.TextChoices):
    MARKETER = "marketer", "Marketer"
    SALES_REP = "sales_rep", "Sales rep"
    SALES_MANAGER = "sales_manager", "Sales manager"
    ADMIN = "admin", "Admin"


# Most privileged first: a user in several groups gets the widest role.
ROLE_PRECEDENCE = [Role.ADMIN, Role.SALES_MANAGER, Role.SALES_REP, Role.MARKETER]

ALL_ROLES = frozenset(Role)
# Read every lead, edit any lead, create, erase, merge, bulk-assign.
LEAD_EDITORS = frozenset({Role.MARKETER, Role.SALES_MANAGER, Role.ADMIN})
# The board, the funnel report, imports and exports: the roles that steer.
MARKETING_ROLES = frozenset({Role.MARKETER, Role.SALES_MANAGER, Role.ADMIN})
# Act on the queue and move leads through MQL, SAL and SQL.
QUEUE_ROLES = frozenset({Role.SALES_REP, Role.SALES_MANAGER, Role.ADMIN})
# Every queue action on every alert, reassigning, every rep's leads.
MANAGER_ROLES = frozenset({Role.SALES_MANAGER, Role.ADMIN})
RULE_EDITORS = frozenset({Role.MARKETER, Role.ADMIN})
RULE_READERS = frozenset({Role.MARKETER, Role.SALES_MANAGER, Role.ADMIN})
# Campaign spend and channel rules are marketing's to enter (and an admin's).
SPEND_EDITORS = frozenset({Role.MARKETER, Role.ADMIN})
# Who may own a lead or hold an alert.
OWNER_ROLES = frozenset({Role.SALES_REP, Role.SALES_MANAGER})

# The stages a rep works in; moving into or out of them is a queue action.
SALES_STAGES = frozenset({Stage.MQL, Stage.SAL, Stage.SQL})
# A lead is created here; every later stage is reached by moves, each with its transition.
FIRST_STAGES = frozenset({Stage.DEMAND_GEN, Stage.LEAD_GEN})


# Which roles may use each scope: a key bound to a user gets scopes ∩ these.
SCOPE_ROLES: dict[str, frozenset] = {
    Scope.EVENTS_WRITE: frozenset({Role.MARKETER, Role.SALES_MANAGER, Role.ADMIN}),
    Scope.LEADS_READ: ALL_ROLES,
    Scope.LEADS_WRITE: ALL_ROLES,
    Scope.QUEUE_WRITE: QUEUE_ROLES,
    Scope.RULES_WRITE: RULE_EDITORS,
    Scope.ADMIN: frozenset({Role.ADMIN}),
}


def role_of(user) -> Role | None:
    if user is None or not getattr(user, "is_authenticated", False) or not getattr(user, "is_active", True):
        return None
    if getattr(user, "is_superuser", False):
        return Role.ADMIN
    cached = getattr(user, "_funnel_role", False)
    if cached is not False:
        return cached
    names = set(user.groups.values_list("name", flat=True))
    role = next((r for r in ROLE_PRECEDENCE if r.value in names), None)
    user._funnel_role = role
    return role


def has_role(user, *roles: Role) -> bool:
    return role_of(user) in roles


def role_allows(role, scope: str) -> bool:
    return role is not None and role in SCOPE_ROLES.get(scope, frozenset())


def key_has_scope(scopes, scope: str) -> bool:
    scopes = scopes or ()
    return scope in scopes or Scope.ADMIN in scopes


# --- Principals ------------------------------------------------------------------


@dataclass(frozen=True)
class Principal:
    """Who is asking. `user` is the person (None for a key bound to nobody, and for
    the system); `scopes` the API key's scopes (None for a session or the system)."""

    user: object | None = None
    scopes: frozenset | None = None
    system: bool = False

    @property
    def person(self):
        return self.user if getattr(self.user, "pk", None) else None

    @property
    def role(self) -> Role | None:
        return role_of(self.person)

    @property
    def is_key_only(self) -> bool:
        """An API key bound to nobody: its scopes alone decide, over every lead."""
        return self.scopes is not None and self.person is None

    def allows(self, scope: str) -> bool:
        """The key's scopes ∩ the person's role (CONTRACT.md: the intersection)."""
        if self.system:
            return True
        if self.scopes is not None and not key_has_scope(self.scopes, scope):
            return False
        if self.person is None:
            return self.scopes is not None
        return role_allows(self.role, scope)

    def has_role(self, roles) -> bool:
        """A person with one of `roles`, or a key bound to nobody (scopes decide), or the system."""
        return self.system or self.is_key_only or self.role in roles


SYSTEM = Principal(system=True)


def principal_for_key(api_key) -> Principal:
    user = getattr(api_key, "user", None) if getattr(api_key, "user_id", None) else None
    return Principal(user=user, scopes=frozenset(api_key.scopes or ()))


def principal_for_request(request) -> Principal:
    """A request's principal: its API key (request.auth) if it came with one, else the session's user."""
    api_key = getattr(request, "auth", None)
    if api_key is not None and hasattr(api_key, "scopes") and hasattr(api_key, "prefix"):
        return principal_for_key(api_key)
    return Principal(user=getattr(request, "user", None))


def as_principal(who) -> Principal:
    """Whatever a caller has in hand, as a principal: a Principal, an Actor (leads.actors),
    a request's ApiKeyPrincipal (a key bound to nobody), a user, or None (nobody)."""
    if isinstance(who, Principal):
        return who
    if who is None:
        return Principal()
    if hasattr(who, "kind") and hasattr(who, "label"):  # leads.actors.Actor
        if who.kind == "system":
            return SYSTEM
        scopes = getattr(who, "scopes", None)
        return Principal(user=who.user, scopes=frozenset(scopes) if scopes is not None else None)
    if hasattr(who, "api_key") and not getattr(who, "pk", None):  # events.auth.ApiKeyPrincipal
        return principal_for_key(who.api_key)
    return Principal(user=who)


# --- Alerts: the sales app's lookups ------------------------------------------------


@dataclass
class _AlertLookups:
    open_alert_for: Callable[[int], object | None] = lambda lead_id: None
    # Lead ids (a values() queryset) whose open alert a rep may see: unassigned or theirs.
    claimable_lead_ids: Callable[[object], QuerySet] | None = None


_alerts = _AlertLookups()


def register_alert_lookups(*, open_alert_for, claimable_lead_ids) -> None:
    """Called by the sales app at start-up (sales.apps.ready)."""
    _alerts.open_alert_for = open_alert_for
    _alerts.claimable_lead_ids = claimable_lead_ids


# --- Leads -------------------------------------------------------------------------


def live_leads() -> QuerySet[Lead]:
    """Leads that are people in the funnel: not merged away, not erased."""
    return Lead.objects.filter(merged_into__isnull=True, erased_at__isnull=True)


def _rep_sees(user) -> Q:
    """A rep's leads: their own in SAL/SQL, and MQLs whose open alert is unassigned or theirs."""
    own = Q(owner=user, stage__in=[Stage.SAL, Stage.SQL])
    if _alerts.claimable_lead_ids is None:
        return own
    return own | Q(stage=Stage.MQL, pk__in=_alerts.claimable_lead_ids(user))


def visible_leads(who) -> QuerySet[Lead]:
    """The live leads `who` may open: the query form of can_view_lead."""
    principal = as_principal(who)
    if principal.system or principal.is_key_only:
        return live_leads()
    role = principal.role
    if role is None:
        return Lead.objects.none()
    if role == Role.SALES_REP:
        return live_leads().filter(_rep_sees(principal.person))
    return live_leads()


def can_read_leads(who) -> bool:
    principal = as_principal(who)
    return principal.has_role(ALL_ROLES)


def can_alert_be_seen_by_rep(user, alert) -> bool:
    return alert is not None and alert.status == "open" and alert.assignee_id in (None, user.pk)


def can_view_lead(who, lead: Lead, alert=None) -> bool:
    """The Python form of visible_leads, for one lead (and its open alert, if the caller has it)."""
    principal = as_principal(who)
    if lead.merged_into_id is not None or lead.erased_at is not None:
        return False
    if principal.system or principal.is_key_only:
        return True
    role = principal.role
    if role is None:
        return False
    if role != Role.SALES_REP:
        return True
    user = principal.person
    if lead.stage in (Stage.SAL, Stage.SQL):
        return lead.owner_id == user.pk
    if lead.stage == Stage.MQL:
        alert = alert if alert is not None else _alerts.open_alert_for(lead.pk)
        return can_alert_be_seen_by_rep(user, alert)
    return False


def can_edit_leads(who) -> bool:
    """Create leads and edit any lead (the marketing pages' editors)."""
    return as_principal(who).has_role(LEAD_EDITORS)


def can_edit_lead(who, lead: Lead) -> bool:
    """Editors edit every lead; a rep only the lead they work (their own SAL/SQL lead)."""
    principal = as_principal(who)
    if principal.has_role(LEAD_EDITORS):
        return True
    return (
        principal.role == Role.SALES_REP
        and lead.owner_id == principal.person.pk
        and lead.stage in (Stage.SAL, Stage.SQL)
    )


def can_erase_lead(who) -> bool:
    return as_principal(who).has_role(LEAD_EDITORS)


def can_merge_leads(who) -> bool:
    return as_principal(who).has_role(LEAD_EDITORS)


def is_valid_owner(owner) -> bool:
    """An owner (of a lead, an alert or a deal) is an active sales rep or sales manager."""
    return owner is not None and getattr(owner, "is_active", False) and role_of(owner) in OWNER_ROLES


def can_set_owner(who, owner) -> bool:
    """Assigning leads is for editors; the owner must be nobody or an active rep or manager."""
    return as_principal(who).has_role(LEAD_EDITORS) and (owner is None or is_valid_owner(owner))


def active_with_role(role: Role) -> QuerySet:
    """The active people who hold `role` (admins are superusers, the others groups)."""
    users = get_user_model().objects.filter(is_active=True)
    if role == Role.ADMIN:
        return users.filter(is_superuser=True)
    return users.filter(groups__name=role)


def owner_choices(users: QuerySet) -> QuerySet:
    """The people among `users` a lead may be assigned to (the query form of is_valid_owner)."""
    return users.filter(is_active=True, groups__name__in=list(OWNER_ROLES)).distinct()


def can_create_at_stage(stage: str | None) -> bool:
    """A lead starts at demand or lead generation; later stages are reached by moves."""
    return stage in (None, "") or stage in FIRST_STAGES


# --- Alerts and the queue ------------------------------------------------------------


def can_use_queue(who) -> bool:
    """Act on the queue at all (reps, managers, admins; a key with queue:write)."""
    return as_principal(who).allows(Scope.QUEUE_WRITE)


def sees_every_alert(who) -> bool:
    """Managers, marketers, admins and unbound keys read every alert; a rep the unassigned and their own."""
    principal = as_principal(who)
    return principal.has_role(ALL_ROLES) and principal.role != Role.SALES_REP


def can_view_alert(who, alert) -> bool:
    principal = as_principal(who)
    if sees_every_alert(principal):
        return True
    return principal.role == Role.SALES_REP and alert.assignee_id in (None, principal.person.pk)


def can_work_alert(who, alert) -> bool:
    """Accept or reject: reps the unassigned alerts and their own, managers and admins every one."""
    principal = as_principal(who)
    if not principal.allows(Scope.QUEUE_WRITE):
        return False
    if principal.system or principal.is_key_only or principal.role in MANAGER_ROLES:
        return True
    return principal.role == Role.SALES_REP and alert.assignee_id in (None, principal.person.pk)


def alert_refusal(who, alert) -> str | None:
    """Why `who` may not act on `alert`, or None."""
    principal = as_principal(who)
    if not principal.allows(Scope.QUEUE_WRITE):
        return "Only sales reps and managers act on the queue."
    if not can_work_alert(principal, alert):
        assignee = getattr(alert, "assignee", None) if alert.assignee_id else None
        who_holds = person_name(assignee) if assignee is not None else "another rep"
        return f"This alert is assigned to {who_holds}; a manager can reassign it."
    return None


def sees_every_reps_leads(who) -> bool:
    """My leads for a manager: every rep's (a rep sees their own)."""
    return as_principal(who).role in MANAGER_ROLES


def can_reassign(who) -> bool:
    return as_principal(who).has_role(MANAGER_ROLES) and not as_principal(who).is_key_only


def can_work_lead(who, lead: Lead) -> bool:
    """Deals, proposals, activities and notes on a lead: the queue's people, on a live lead
    they may see; a rep only on their own SAL/SQL lead (or an MQL whose alert they may take)."""
    principal = as_principal(who)
    if lead.erased_at is not None or lead.merged_into_id is not None:
        return False
    if not principal.allows(Scope.QUEUE_WRITE):
        return False
    return can_view_lead(principal, lead)


# --- Stage moves -------------------------------------------------------------------------


@dataclass(frozen=True)
class Refusal:
    code: str
    message: str


def is_sales_move(from_stage: str, to_stage: str) -> bool:
    return from_stage in SALES_STAGES or to_stage in SALES_STAGES


def may_take_lead(person) -> bool:
    """Taking an MQL (accepting it, by the queue or a move) makes the taker its owner:
    the queue's people (an admin may do everything, this too)."""
    return person is not None and role_of(person) in QUEUE_ROLES


def owner_after_move(who, lead: Lead, to_stage: str):
    """Who owns the lead after the move: taking an MQL (or an unowned lead) into SAL/SQL
    makes the person who takes it the owner, as accepting from the queue does; otherwise
    the owner stays."""
    person = as_principal(who).person
    taking = lead.stage == Stage.MQL or lead.owner_id is None
    if to_stage in (Stage.SAL, Stage.SQL) and taking and may_take_lead(person):
        return person
    return lead.owner


def move_refusal(who, lead: Lead, to_stage: str, alert=None) -> Refusal | None:
    """Why `who` may not move `lead` to `to_stage`, or None. The stage rules themselves
    (leads.stages) are judged after this, by move_lead."""
    principal = as_principal(who)
    if principal.system:
        return None
    if is_sales_move(lead.stage, to_stage):
        if not principal.allows(Scope.QUEUE_WRITE):
            if principal.scopes is not None and not key_has_scope(principal.scopes, Scope.QUEUE_WRITE):
                return Refusal(
                    "missing_scope", "Moving a lead into or out of MQL, SAL or SQL needs the “queue:write” scope."
                )
            return Refusal("role_not_allowed", "Leads move through the sales stages by sales reps and managers.")
        if principal.role == Role.SALES_REP:
            user = principal.person
            if lead.stage == Stage.MQL:
                alert = alert if alert is not None else _alerts.open_alert_for(lead.pk)
                if alert is None:
                    return Refusal("not_your_lead", "A sales rep takes an MQL only through its alert in the queue.")
                if alert.assignee_id not in (None, user.pk):
                    return Refusal("not_your_lead", alert_refusal(principal, alert))
            elif lead.stage in (Stage.SAL, Stage.SQL) and lead.owner_id != user.pk:
                return Refusal("not_your_lead", "This lead belongs to another rep.")
            elif lead.stage not in SALES_STAGES:
                return Refusal("not_your_lead", "A sales rep moves leads only out of the queue and their own SAL/SQL.")
        if to_stage in (Stage.SAL, Stage.SQL) and owner_after_move(principal, lead, to_stage) is None:
            return Refusal(
                "owner_required",
                "A lead in SAL or SQL needs an owner: move it as (or with a key bound to) a sales rep or manager.",
            )
        return None
    if not principal.has_role(LEAD_EDITORS):
        if principal.role == Role.SALES_REP:
            return Refusal("not_your_lead", "A sales rep moves leads only out of the queue and their own SAL/SQL.")
        return Refusal("role_not_allowed", "Your role does not move leads.")
    if not principal.allows(Scope.LEADS_WRITE):
        return Refusal("missing_scope", "Moving a lead needs the “leads:write” scope.")
    return None


def can_move(who, lead: Lead, to_stage: str, alert=None) -> bool:
    return move_refusal(who, lead, to_stage, alert=alert) is None


# --- Everything else --------------------------------------------------------------------


def can_view_board(who) -> bool:
    """The pipeline board and the funnel and attribution reports."""
    return as_principal(who).has_role(MARKETING_ROLES)


def can_view_reports(who) -> bool:
    return as_principal(who).has_role(MARKETING_ROLES)


def can_import(who) -> bool:
    return as_principal(who).has_role(MARKETING_ROLES)


def can_export(who) -> bool:
    return as_principal(who).has_role(MARKETING_ROLES)


def can_see_every_import(who) -> bool:
    return as_principal(who).role == Role.ADMIN


def can_read_rules(who) -> bool:
    return as_principal(who).has_role(RULE_READERS)


def can_edit_rules(who) -> bool:
    return as_principal(who).has_role(RULE_EDITORS)


def can_read_attribution(who) -> bool:
    """Attribution and campaign return are for the roles that steer: marketers, managers, admins."""
    return as_principal(who).has_role(MARKETING_ROLES)


def can_edit_marketing_spend(who) -> bool:
    """Campaign spend and channel rules are marketing's to enter (and an admin's)."""
    return as_principal(who).has_role(SPEND_EDITORS)


def can_read_likelihood_model(who) -> bool:
    """The likelihood model's page: the roles that read scoring rules."""
    return as_principal(who).has_role(RULE_READERS)


def can_train_likelihood_model(who) -> bool:
    """Training or publishing a likelihood model: the roles that edit scoring rules."""
    return as_principal(who).has_role(RULE_EDITORS)


def can_manage_keys(who) -> bool:
    """API keys, webhooks, users: admins."""
    return as_principal(who).role == Role.ADMIN


def can_view_queue(who) -> bool:
    return as_principal(who).has_role(ALL_ROLES)


def can_see_my_leads(who) -> bool:
    return as_principal(who).role in QUEUE_ROLES


def works_the_queue(who) -> bool:
    """Navigation: the sales pages are this person's home."""
    return as_principal(who).role in (Role.SALES_REP, Role.SALES_MANAGER)


def gets_sales_notifications(who) -> bool:
    return as_principal(who).role in OWNER_ROLES


def home_url_name(user) -> str:
    """`/` sends each role to the page it works from."""
    return "sales:queue" if works_the_queue(user) else "pipeline"
