"""What the lifecycle announces, and who listens.

`leads` is the bottom layer: it imports no other app. When an app above must react to a
change of a lead (sales closes an alert and sends webhooks, scoring marks a lead for
rescoring, events moves or erases a person's events), it subscribes here, from its
AppConfig.ready(), and the lifecycle announces each change once.

Every announcement but `evidence_stored` runs inside the transaction of the change,
with the lead's row locked. That is deliberate: what must be atomic with the change
(the MQL crossing's SalesAlert under its unique constraint, a rescore mark, the webhook
outbox rows) is written by the listener in that same transaction, and rolls back with it. What reaches
the outside world (e-mails, webhook deliveries, the rescore doorbell) is only sent
after commit: listeners hand it to `transaction.on_commit` (sales' Doorbell, scoring's
doorbell), so a rolled-back change sends nothing.

A listener that raises aborts the change; `CrossingAlreadyRecorded` is the one refusal
the lifecycle expects (a crossing whose alert exists already: the move rolls back).
"""

from collections.abc import Callable, Iterable

# (lead, transition) for every stage move, including a lead's creation one by one.
_stage_changed: list[Callable] = []
# (lead, transition, crossing, score, contributions) when a lead crosses into MQL.
_mql_crossed: list[Callable] = []
# (lead, deal, transition) when a deal closes won or lost.
_deal_closed: list[Callable] = []
# (lead_ids) when what a lead's score is computed from changed (new, moved events).
_evidence_changed: list[Callable] = []
# (lead_ids) after a worker committed new events of these leads (see evidence_stored).
_evidence_stored: list[Callable] = []
# (lead_ids) when a score fell below the recycle threshold (the lead is re-armed).
_fell_below_recycle: list[Callable] = []
# (survivor_id, merged_id) -> rows moved, when one lead is folded into another.
_leads_merged: list[Callable] = []
# (lead_ids) when people are erased: each app erases its copies of their data.
_lead_erased: list[Callable] = []


class CrossingAlreadyRecorded(Exception):
    """Raised by an MQL-crossing listener when this crossing was recorded before (its
    alert exists): the lifecycle rolls the crossing back instead of moving twice."""


def _subscribe(listeners: list[Callable], listener: Callable) -> Callable:
    if listener not in listeners:
        listeners.append(listener)
    return listener


def on_stage_change(listener: Callable) -> Callable:
    return _subscribe(_stage_changed, listener)


def on_mql_crossed(listener: Callable) -> Callable:
    return _subscribe(_mql_crossed, listener)


def on_deal_closed(listener: Callable) -> Callable:
    return _subscribe(_deal_closed, listener)


def on_evidence_changed(listener: Callable) -> Callable:
    return _subscribe(_evidence_changed, listener)


def on_evidence_stored(listener: Callable) -> Callable:
    return _subscribe(_evidence_stored, listener)


def on_fell_below_recycle(listener: Callable) -> Callable:
    return _subscribe(_fell_below_recycle, listener)


def on_leads_merged(listener: Callable) -> Callable:
    return _subscribe(_leads_merged, listener)


def on_lead_erased(listener: Callable) -> Callable:
    return _subscribe(_lead_erased, listener)


def stage_changed(lead, transition) -> None:
    for listener in _stage_changed:
        listener(lead, transition)


def mql_crossed(*, lead, transition, crossing: int, score: int, contributions: list) -> None:
    for listener in _mql_crossed:
        listener(lead=lead, transition=transition, crossing=crossing, score=score, contributions=contributions)


def deal_closed(*, lead, deal, transition) -> None:
    for listener in _deal_closed:
        listener(lead=lead, deal=deal, transition=transition)


def evidence_changed(*, lead_ids: Iterable[int]) -> None:
    ids = sorted(set(lead_ids))
    if ids:
        for listener in _evidence_changed:
            listener(lead_ids=ids)


def evidence_stored(*, lead_ids: Iterable[int]) -> None:
    """The one announcement made after a commit, outside any transaction: a worker that
    just stored events (and, through evidence_changed, marked their leads) says so, and
    a listener may act on them in this process now rather than in a worker of its own
    (scoring rescores them: the MQL alert does not wait for another task). What the
    listeners must guarantee was written in the transaction (the marks); this is only a
    shortcut, so a listener must not raise for what a later worker can do."""
    ids = sorted(set(lead_ids))
    if ids:
        for listener in _evidence_stored:
            listener(lead_ids=ids)


def fell_below_recycle(*, lead_ids: Iterable[int]) -> None:
    ids = sorted(set(lead_ids))
    if ids:
        for listener in _fell_below_recycle:
            listener(lead_ids=ids)


def leads_merged(*, survivor_id: int, merged_id: int) -> list[int]:
    """Returns the ids of the events the listeners moved to the survivor (the merge
    records them, so a replay of the log gives each event to the lead it arrived for)."""
    return [
        moved for listener in _leads_merged for moved in listener(survivor_id=survivor_id, merged_id=merged_id) or ()
    ]


def lead_erased(*, lead_ids: list[int]) -> None:
    for listener in _lead_erased:
        listener(lead_ids=lead_ids)
