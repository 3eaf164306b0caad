"""Reads behind the model page: the published and latest versions, the last training
run, and the chart coordinates (numbers only; the SVG is drawn by the template)."""

from dataclasses import dataclass

from ..models import LikelihoodModel, LikelihoodTraining
from .dataset import MINIMUM_TEXT

CHART = 240  # plot area, in SVG units
PAD = 30
METHODS = [("model", "Learned model"), ("rules", "Rule score"), ("naive_bayes", "Naive Bayes (fit fields, Odoo-style)")]


@dataclass
class ModelPage:
    published: LikelihoodModel | None
    latest: LikelihoodModel | None
    training: LikelihoodTraining | None
    minimum: str = MINIMUM_TEXT


def model_page() -> ModelPage:
    return ModelPage(
        published=LikelihoodModel.objects.filter(published=True).order_by("-published_at", "-version").first(),
        latest=LikelihoodModel.objects.order_by("-version").first(),
        training=LikelihoodTraining.objects.select_related("model").order_by("-id").first(),
    )


def comparison(model: LikelihoodModel) -> list[dict]:
    return [{"key": key, "label": label, **model.metrics.get(key, {})} for key, label in METHODS]


def reliability_points(model: LikelihoodModel) -> list[dict]:
    points = []
    for row in model.reliability:
        if not row["n"]:
            continue
        points.append(
            {
                **row,
                "x": round(PAD + row["predicted"] * CHART, 1),
                "y": round(PAD + (1 - row["observed"]) * CHART, 1),
            }
        )
    return points


def lift_bars(model: LikelihoodModel) -> list[dict]:
    top = max([row["lift"] or 0 for row in model.lift] or [1]) or 1
    width = CHART / max(1, len(model.lift))
    bars = []
    for index, row in enumerate(model.lift):
        height = round(CHART * (row["lift"] or 0) / top, 1)
        bars.append(
            {
                **row,
                "x": round(PAD + index * width + 2, 1),
                "width": round(width - 4, 1),
                "y": round(PAD + CHART - height, 1),
                "height": height,
                "label_x": round(PAD + index * width + width / 2, 1),
            }
        )
    return bars


def weights(model: LikelihoodModel) -> list[dict]:
    rows = [
        {"feature": name, "label": label, "weight": weight}
        for name, label, weight in zip(model.feature_names, model.feature_labels, model.coefficients, strict=True)
    ]
    rows.sort(key=lambda row: -abs(row["weight"]))
    return rows


def csv_rows(model: LikelihoodModel) -> list[list]:
    rows = [["section", "method or bin", "auc", "log_loss", "ece", "precision_at_k"]]
    for row in comparison(model):
        rows.append(
            ["comparison", row["label"], row.get("auc"), row.get("log_loss"), row.get("ece"), row.get("precision_at_k")]
        )
    rows.append(["section", "bin", "low", "high", "n", "predicted", "observed"])
    for row in model.reliability:
        rows.append(["reliability", "", row["low"], row["high"], row["n"], row["predicted"], row["observed"]])
    rows.append(["section", "decile", "n", "buyers", "rate", "lift"])
    for row in model.lift:
        rows.append(["lift", row["decile"], row["n"], row["buyers"], row["rate"], row["lift"]])
    rows.append(["section", "feature", "label", "weight"])
    for row in weights(model):
        rows.append(["weight", row["feature"], row["label"], row["weight"]])
    return rows
