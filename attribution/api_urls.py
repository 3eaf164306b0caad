from funnel.routing import api_path

from . import api

urlpatterns = [
    api_path("analytics/attribution", api.AttributionReportView.as_view(), name="api-analytics-attribution"),
    api_path("campaign-spend", api.CampaignSpendView.as_view(), name="api-campaign-spend"),
]
