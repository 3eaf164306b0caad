from funnel.routing import api_path

from . import api

urlpatterns = [
    api_path("analytics/funnel", api.FunnelReportView.as_view(), name="api-analytics-funnel"),
]
