"""What erasing a person removes inside the leads app besides the lead row itself:
merge reasons, and the uploaded CSV text of imports (kept only while a job waits or
runs; a finished job keeps its counts and an error report without personal columns).
Registered in LeadsConfig.ready through the same `on_lead_erased` hook the apps
above use, so erase_lead stays one short list of what it owns."""

from django.db.models import Q

from .models import ImportJob, Lead, LeadMerge


def identifying_values(lead: Lead) -> list[str]:
    """The strings that name this person exactly enough to search other text for them."""
    values = [lead.email, lead.phone, lead.full_name, lead.external_id]
    return [value.strip() for value in values if value and len(value.strip()) >= 4]


def without_lines_naming(text: str, values: list[str]) -> str:
    lowered = [value.lower() for value in values]
    return "".join(
        line for line in text.splitlines(keepends=True) if not any(value in line.lower() for value in lowered)
    )


def erase_leads_copies(*, lead_ids: list[int]) -> None:
    # Announced before the lead rows are blanked: their values say what to look for.
    leads = list(Lead.objects.filter(pk__in=lead_ids))
    ids = list(lead_ids)
    LeadMerge.objects.filter(Q(survivor_id__in=ids) | Q(merged_id__in=ids)).update(reason="")
    values = [value for lead in leads for value in identifying_values(lead)]
    if not values:
        return
    naming = Q()
    for value in values:
        naming |= Q(text__icontains=value) | Q(filename__icontains=value) | Q(failure__icontains=value)
    for job in ImportJob.objects.filter(naming).only("pk", "text", "filename", "failure"):
        ImportJob.objects.filter(pk=job.pk).update(
            text=without_lines_naming(job.text, values),
            filename=without_lines_naming(job.filename, values) or "erased.csv",
            failure="" if any(value.lower() in job.failure.lower() for value in values) else job.failure,
        )
