from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from . import selectors


@login_required
def pipeline(request):
    counts = selectors.stage_counts()
    top = selectors.top_leads_by_stage(per_stage=5)
    columns = [{**row, "leads": top[row["stage"]]} for row in counts]
    total = sum(row["count"] for row in counts)
    return render(request, "leads/pipeline.html", {"columns": columns, "total": total})
