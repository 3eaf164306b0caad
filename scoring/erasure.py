"""Erasing a person, in scoring: rule previews list the leads a draft would make MQL,
by name."""

from .models import RulePreview


def _renamed(value, names: dict[int, str]):
    if isinstance(value, dict):
        if value.get("id") in names and "name" in value:
            return {**value, "name": names[value["id"]]}
        return {key: _renamed(item, names) for key, item in value.items()}
    if isinstance(value, list):
        return [_renamed(item, names) for item in value]
    return value


def erase_scoring_copies(*, lead_ids: list[int]) -> None:
    names = {lead_id: f"Erased lead #{lead_id}" for lead_id in lead_ids}
    for preview in RulePreview.objects.only("pk", "results").iterator():
        renamed = _renamed(preview.results, names)
        if renamed != preview.results:
            RulePreview.objects.filter(pk=preview.pk).update(results=renamed)
