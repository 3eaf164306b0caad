"""The likelihood model page (/scoring/model/): the published version, its comparison
with the rules and naive Bayes, reliability and lift charts, weights, and retraining
as a background job with a progress bar."""

import csv

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from leads import access

from .likelihood import report
from .likelihood.jobs import start_training
from .models import LikelihoodModel, LikelihoodTraining


def _require(user, predicate) -> None:
    if not predicate(user):
        raise PermissionDenied("The likelihood model is for marketers, sales managers and admins.")


@login_required
def model_page(request):
    _require(request.user, access.can_read_likelihood_model)
    page = report.model_page()
    shown = page.published or page.latest
    context = {
        "page": page,
        "model": shown,
        "can_train": access.can_train_likelihood_model(request.user),
        "chart": report.CHART,
        "pad": report.PAD,
        "axis_end": report.PAD + report.CHART,
    }
    if shown is not None:
        context.update(
            comparison=report.comparison(shown),
            points=report.reliability_points(shown),
            bars=report.lift_bars(shown),
            weights=report.weights(shown),
        )
    return render(request, "scoring/model.html", context)


@login_required
@require_POST
def model_train(request):
    _require(request.user, access.can_train_likelihood_model)
    training = start_training(cause=f"retrain button ({request.user.get_username()})", user=request.user)
    messages.success(request, "Training started in the background.")
    return redirect(f"{reverse('scoring:model')}?training={training.pk}")


@login_required
def model_progress(request, pk: int):
    _require(request.user, access.can_read_likelihood_model)
    training = get_object_or_404(LikelihoodTraining, pk=pk)
    return JsonResponse(
        {
            "status": training.status,
            "percent": training.percent,
            "step": training.step,
            "finished": training.is_finished,
        }
    )


@login_required
def model_csv(request, version: int):
    _require(request.user, access.can_read_likelihood_model)
    model = LikelihoodModel.objects.filter(version=version).first()
    if model is None:
        raise Http404("No such version.")
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="likelihood-model-v{version}.csv"'
    writer = csv.writer(response)
    for row in report.csv_rows(model):
        writer.writerow(row)
    return response
