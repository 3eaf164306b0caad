"""Funnel's canonical event types, and the conventional names tools send for them.

Segment's specs and most tracking plans name events in Title Case ("Form Submitted",
"Email Opened"); Funnel's rules use snake_case types ("form_submitted"). An event
whose name is a conventional name of a canonical type is stored as that type, so a
rule written for `form_submitted` scores it; any other name is stored as given.
"""

CANONICAL_TYPES = (
    "page_view",
    "form_submitted",
    "email_sent",
    "email_opened",
    "email_clicked",
    "content_downloaded",
    "webinar_registered",
    "webinar_attended",
    "ad_clicked",
    "nps_submitted",
    "unsubscribed",
)

# Conventional names that are not simply the canonical type in words, and the
# properties they imply (kept only where the event does not say otherwise).
ALIASES: dict[str, tuple[str, dict]] = {
    "page viewed": ("page_view", {}),
    "demo requested": ("form_submitted", {"form": "demo-request"}),
    "email delivered": ("email_sent", {}),
    "email link clicked": ("email_clicked", {}),
    "asset downloaded": ("content_downloaded", {}),
    "webinar registration": ("webinar_registered", {}),
    "ad click": ("ad_clicked", {}),
    "nps survey submitted": ("nps_submitted", {}),
    "unsubscribe": ("unsubscribed", {}),
}


def _words(name: str) -> str:
    return " ".join(name.replace("_", " ").replace("-", " ").lower().split())


def canonical_event(name: str, properties):
    """(type, properties) to store for an event sent as `name`: "Form Submitted" and
    "form submitted" become `form_submitted`; "Demo Requested" becomes `form_submitted`
    with form "demo-request" unless the event names its form. Unknown names pass."""
    if name in CANONICAL_TYPES:
        return name, properties
    words = _words(name)
    snake = words.replace(" ", "_")
    if snake in CANONICAL_TYPES:
        return snake, properties
    alias = ALIASES.get(words)
    if alias is None:
        return name, properties
    event_type, implied = alias
    if implied and isinstance(properties, dict):
        properties = {**implied, **properties}
    return event_type, properties


def conventional_names() -> list[tuple[str, str]]:
    """(name as sent, stored type) pairs for the docs and the event types page."""
    names = [(t.replace("_", " ").title(), t) for t in CANONICAL_TYPES]
    names += [(alias.title(), event_type) for alias, (event_type, _) in ALIASES.items()]
    return sorted(names, key=lambda pair: (pair[1], pair[0]))
