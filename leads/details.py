"""What the apps above know about a lead, asked for by the lead's page and API.

A lead's page shows its recent events (the events app) and the explanation and history
of its score (the scoring app), yet `leads` imports neither: each app registers what it
can tell in its AppConfig.ready(), and the page asks here by name. With no app to
answer (a page rendered without that app), the page gets the empty default.
"""

from collections.abc import Callable

# (lead_ids, limit) -> the leads' engagement events, newest first.
RECENT_EVENTS = "recent_events"
# (lead) -> {"score", "text", "contributions", "computed_at"} or None.
SCORE_EXPLANATION = "score_explanation"
# (lead) -> [{"at", "score"}, …], oldest first.
SCORE_HISTORY = "score_history"
# (lead) -> (SCORE_EXPLANATION's answer, SCORE_HISTORY's answer), in one read.
SCORE_EXPLANATION_AND_HISTORY = "score_explanation_and_history"

_providers: dict[str, Callable] = {}


def provide(name: str, provider: Callable) -> Callable:
    _providers[name] = provider
    return provider


def ask(name: str, *, default=None, **kwargs):
    provider = _providers.get(name)
    return default if provider is None else provider(**kwargs)
