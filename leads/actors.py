"""Who did something: a person, an API key or the system itself."""

from dataclasses import dataclass

from .models import ActorKind


def person_name(user) -> str:
    """How Funnel names a person on every page, email and trail row: their full name,
    or the user name when they have none (“Ravi Patel”, else “rep1”)."""
    if user is None:
        return ""
    return (user.get_full_name() or "").strip() or user.get_username()


@dataclass(frozen=True)
class Actor:
    kind: str
    user: object | None = None
    label: str = ""
    # An API key's scopes (None for a person or the system): leads.access judges a key's
    # actions by these, intersected with its user's role.
    scopes: tuple | None = None
    api_key_id: int | None = None
    # An API key anyone may read (one in a web page): identify may not rewrite known people.
    public: bool = False

    @classmethod
    def for_user(cls, user) -> "Actor":
        return cls(kind=ActorKind.USER, user=user, label=person_name(user))

    @classmethod
    def for_api_key(cls, api_key) -> "Actor":
        # A key bound to a user acts for that user; its name says which integration.
        user = getattr(api_key, "user", None) if getattr(api_key, "user_id", None) else None
        return cls(
            kind=ActorKind.API_KEY,
            user=user,
            label=f"API key {api_key.name}",
            scopes=tuple(api_key.scopes or ()),
            api_key_id=api_key.pk,
            public=bool(getattr(api_key, "public", False)),
        )

    @classmethod
    def system(cls, label: str = "system") -> "Actor":
        return cls(kind=ActorKind.SYSTEM, user=None, label=label)

    def change_fields(self) -> dict:
        """The actor columns of a leads.models.LeadChange row."""
        return {**self.transition_fields(), "actor_api_key_id": self.api_key_id}

    def transition_fields(self) -> dict:
        return {"actor_kind": self.kind, "actor_user": self.user, "actor_label": self.label[:200]}
