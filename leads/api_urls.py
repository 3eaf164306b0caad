from funnel.routing import api_path

from . import api

urlpatterns = [
    api_path("leads", api.LeadListView.as_view(), name="api-leads"),
    api_path("leads/<int:lead_id>", api.LeadDetailView.as_view(), name="api-lead"),
    api_path("leads/<int:lead_id>/transitions", api.LeadTransitionView.as_view(), name="api-lead-transitions"),
]
