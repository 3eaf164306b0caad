"""`python manage.py train_likelihood`: train the likelihood-to-buy model now, with a
progress bar, and print the holdout comparison (or why there is no model)."""

import time

from django.core.management.base import BaseCommand

from scoring.likelihood.dataset import MINIMUM_TEXT
from scoring.likelihood.jobs import run_training
from scoring.models import LikelihoodTrainingStatus

WIDTH = 40


class Command(BaseCommand):
    help = "Train the likelihood-to-buy model on the history; publish it if it is not worse than the current one."

    def handle(self, *args, **options):
        started = time.monotonic()
        training = run_training(cause="train_likelihood command", on_progress=self._draw)
        self.stdout.write("")
        if training.status == LikelihoodTrainingStatus.NOT_ENOUGH_HISTORY:
            self.stdout.write(self.style.WARNING(f"No model trained. {training.message}"))
            self.stdout.write(f"Minimum: {MINIMUM_TEXT}.")
            return
        model = training.model
        self.stdout.write(
            f"Version {model.version}: {model.train_snapshots:,} training snapshots "
            f"({model.train_positives:,} buyers), "
            f"{model.holdout_snapshots:,} holdout snapshots ({model.holdout_positives:,} buyers)."
        )
        self.stdout.write(f"{'method':<14}{'AUC':>8}{'log loss':>10}{'ECE':>8}{'prec@k':>9}")
        for key, label in (("model", "model"), ("rules", "rule score"), ("naive_bayes", "naive Bayes")):
            row = model.metrics[key]
            self.stdout.write(
                f"{label:<14}{row['auc']:>8.3f}{row['log_loss']:>10.4f}{row['ece']:>8.4f}{row['precision_at_k']:>9.3f}"
            )
        style = self.style.SUCCESS if model.published else self.style.WARNING
        self.stdout.write(style(f"{model.decision} ({time.monotonic() - started:.1f} s)"))

    def _draw(self, percent: int, step: str) -> None:
        filled = round(WIDTH * percent / 100)
        self.stdout.write(f"\r[{'#' * filled}{'.' * (WIDTH - filled)}] {percent:3d}% {step[:50]:<50}", ending="")
        self.stdout.flush()
