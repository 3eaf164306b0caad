from funnel.routing import api_path

from . import api

urlpatterns = [
    api_path("scoring-rules", api.ScoringRuleListView.as_view(), name="api-scoring-rules"),
    api_path("scoring-rules/<int:rule_id>", api.ScoringRuleDetailView.as_view(), name="api-scoring-rule"),
]
