"""For `seed_demo`: build the funnel report's summaries once the demo history is loaded,
so the report has something to say the moment `make run` opens it.

What each chart reads, so the demo data can give every one of them something:
- Stage conversion, time in stage, weekly cohorts, sales cycle: `StageTransition` rows
  (a lead's path through the stages, with realistic gaps between moves, some leads
  rejected or lost back to nurture, some won), `Lead.created_at/source/utm_campaign/owner`.
- Hand-off: `SalesAlert` rows with `raised_at`, `status` accepted/rejected/open,
  `reject_reason` codes, `due_at` and `acted_at` (some after `due_at`), and `Activity`
  rows after `raised_at` for the time to first touch.
- Close: `Deal` rows with `created_at`, `proposal_sent_at`, `proposal_accepted_at`,
  `status` won/lost/open, `closed_at`, `value`, `owner`; `Activity` calls and meetings
  with `user` set to the reps.
- Engagement: `EngagementEvent` of the canonical types (page_view, form_submitted,
  email_sent/opened/clicked, content_downloaded, ad_clicked, webinar_registered/attended),
  `properties.campaign` on email and ad events; `ad_impression` events if the demo wants
  an ad click-through rate.
- Delight: `new_cycle` transitions (customers coming back) and won deals in cycle 2+,
  `nps_submitted` events with `properties.score` 0–10.
- Scoring accuracy: `SalesAlert.score` spread over several 10-point bands and
  `contributions` lists of {"rule_id", "label", "points"}.
"""

from .models import AnalyticsRefresh
from .services import refresh_analytics


def build_demo_summaries() -> AnalyticsRefresh:
    """Rebuild every summary table from what the demo seed has just written."""
    return refresh_analytics()
