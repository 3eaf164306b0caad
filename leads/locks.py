"""Row locks on leads, taken in one fixed order by every writer."""

from .models import Lead


def lock_leads(*, lead_ids) -> dict[int, Lead]:
    """Lock leads FOR UPDATE in id order: every writer locks through here, so two
    writers that need the same leads cannot deadlock by taking them in other orders."""
    ids = sorted(set(lead_ids))
    return {lead.pk: lead for lead in Lead.objects.select_for_update().filter(pk__in=ids).order_by("pk")}


def lock_lead(*, lead_id: int) -> Lead:
    locked = lock_leads(lead_ids=[lead_id])
    if lead_id not in locked:
        raise Lead.DoesNotExist(f"Lead {lead_id} does not exist.")
    return locked[lead_id]
