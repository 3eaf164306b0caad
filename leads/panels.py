"""Panels that apps above `leads` add to the lead detail page.

`leads` imports no app above it, so an app that has something to show about a lead
(attribution's touch path, for one) registers a panel function in its AppConfig.ready.
A panel takes the request and the lead and returns (template name, context) or None
when it has nothing to show; the page includes each template with `panel` as its context.
"""

from collections.abc import Callable

LeadPanel = Callable[..., tuple[str, dict] | None]
_panels: list[LeadPanel] = []


def register_lead_panel(panel: LeadPanel) -> LeadPanel:
    if panel not in _panels:
        _panels.append(panel)
    return panel


def lead_panels(*, request, lead) -> list[dict]:
    shown = []
    for panel in _panels:
        result = panel(request=request, lead=lead)
        if result is not None:
            template, context = result
            shown.append({"template": template, "context": context})
    return shown
