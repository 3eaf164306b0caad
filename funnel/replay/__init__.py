"""Replay: the event log is the truth (`manage.py replay --from <database URL>`).

The database of DATABASE_URL (empty or new) is rebuilt from a source database's
recorded events and people's decisions, in time order, with the rules and thresholds
in force at each moment, and the outcome is compared with the source lead by lead.

What is copied and what is recomputed:
- copied, set-based (COPY from the source into this database): users and their roles,
  each lead as it was created (identity, profile, first stage, no score) with its
  creation transition, and the events, each stored at the moment it was received and on
  the lead it arrived for (a merge records which events it moved);
- replayed at their moments through the real services: the rule and threshold versions;
  every decision of a person or API key (accept and reject through the queue's
  `accept_alert`/`reject_alert`, every other move through the lifecycle's
  `transition_lead` with the deal the source recorded: qualify, win, lose, manual moves);
  the moves written by the system but not by the scorer (an import, a loaded history);
  every merge (`merge_leads`);
- recomputed: every score, every MQL crossing and new cycle and every alert, by the real
  batch scorer (`scoring.services.rescore_leads`) run at the moments the source's scorer
  ran, on the leads it changed there: the moments of its score changes and of its
  re-armings (a rescore that re-arms without changing the score leaves a trail row).

An erased lead's events are gone from the log, so it is compared as erased; it is
erased from the start of the replay.
"""

from collections.abc import Callable

import psycopg2

from events.models import EngagementEvent
from leads.models import Lead
from leads.services import rebuild_pipeline_counts

from .comparison import Comparison, compare
from .copying import copy_leads, copy_people, load_events, reset_sequences
from .timeline import clear_configuration, replay_timeline

__all__ = ["Comparison", "ReplayRefused", "replay"]


class ReplayRefused(Exception):
    """The target is not empty, or the source is not a Funnel database."""


def replay(*, source_url: str, say: Callable[[str], None] = print) -> Comparison:
    source = psycopg2.connect(source_url)
    source.set_session(readonly=True)
    try:
        if Lead.objects.exists() or EngagementEvent.objects.exists():
            raise ReplayRefused("The database of DATABASE_URL must be empty or new: it already holds leads or events.")
        say("copying people, leads and their creation, and the event log …")
        copy_people(source)
        copy_leads(source)
        load_events(source)
        clear_configuration(source)
        say("replaying events, decisions and rescores in time order …")
        steps = replay_timeline(source, say=say)
        reset_sequences()
        rebuild_pipeline_counts()
        say(f"replayed {steps:,} steps; comparing …")
        return compare(source)
    finally:
        source.close()
