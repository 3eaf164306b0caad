"""Likelihood to buy: training and scoring cost, and the three-way holdout comparison
on `generate_load`'s data (funnel/buyers.py decides who buys).

A database of its own (dropped and created) gets `generate_load --leads N --events M`
(default 100,000 / 1,000,000), the default rules and every lead's rule score. Then:

- training: `run_training` (snapshots, fit, baselines, storing), wall time, and the
  process's peak RSS;
- scoring: `refresh_all_likelihoods` over every lead;
- rescore cost: a full rescore of every lead by the real job code without a published
  model, then with one (likelihoods recomputed in the same transactions), ratio;
- accuracy: AUC, log loss, ECE and precision@k of the model, the rule score and naive
  Bayes on the same time-ordered holdout.

Usage: python bench/likelihood.py [--leads 100000] [--events 1000000] [--reuse]
"""

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TRAIN_AND_REPORT_PEAK = """
import io, os, sys
sys.path.insert(0, os.path.dirname(sys.argv[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "funnel.settings")
import django
django.setup()
from django.core.management import call_command
call_command("train_likelihood", stdout=io.StringIO())
print(next(line.split()[1] for line in open("/proc/self/status") if line.startswith("VmHWM:")))
"""
BENCH_DB = os.environ.get("FUNNEL_BENCH_DB", "funnel_bench_likelihood")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--reuse", action="store_true", help="Keep the database a previous run loaded.")
    args = parser.parse_args()

    import psycopg2

    url = os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/postgres"
    parts = urlparse(url)
    admin = psycopg2.connect(urlunparse(parts._replace(path="/postgres")))
    admin.autocommit = True
    if not args.reuse:
        with admin.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
            cursor.execute(f"CREATE DATABASE {BENCH_DB}")
    admin.close()
    os.environ["DATABASE_URL"] = urlunparse(parts._replace(path=f"/{BENCH_DB}"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "funnel.settings")

    import django

    django.setup()
    from django.core.management import call_command

    from funnel.load import generate_load
    from scoring.likelihood.refresh import refresh_all_likelihoods
    from scoring.models import LikelihoodModel, LikelihoodTraining
    from scoring.services import run_rescore_job, start_full_rescore

    call_command("migrate", verbosity=0)
    if args.reuse:
        # The previous run's models are left unpublished; its leads keep their likelihoods.
        LikelihoodModel.objects.update(published=False)
        print("reusing the loaded database", flush=True)
    else:
        started = time.monotonic()
        generate_load(leads=args.leads, events=args.events, seed=1)
        print(f"loaded {args.leads:,} leads / {args.events:,} events in {time.monotonic() - started:.1f} s", flush=True)

    def full_rescore() -> float:
        job = start_full_rescore(cause="bench", enqueue=False)
        began = time.monotonic()
        while run_rescore_job(job_id=job.pk, budget_seconds=3600):
            pass
        return time.monotonic() - began

    full_rescore()  # steady state: every lead scored once
    without = full_rescore()

    # Training runs as the command in a process of its own, so its peak RSS is the
    # training's alone (as in a worker), not this script's loading. The child reports
    # its own VmHWM: a child's ru_maxrss also counts this process's peak, which it
    # inherits through fork/exec (it read 539 MB for a 370 MB run).
    began = time.monotonic()
    child = subprocess.run(
        [sys.executable, "-c", TRAIN_AND_REPORT_PEAK, str(ROOT / "manage.py")],
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    )
    train_seconds = time.monotonic() - began
    rss_mb = int(child.stdout.strip().splitlines()[-1]) / 1024
    model = LikelihoodModel.objects.order_by("-version").first()
    if model is None:
        print(f"no model: {LikelihoodTraining.objects.order_by('-id').first().message}")
        return
    began = time.monotonic()
    scored = refresh_all_likelihoods()
    scoring_seconds = time.monotonic() - began
    with_likelihood = full_rescore()
    LikelihoodModel.objects.update(published=False)
    without_again = full_rescore()
    baseline = min(without, without_again)

    print(f"\nLikelihood bench, {args.leads:,} leads / {args.events:,} events, {os.cpu_count()} cores")
    print(f"{'what':<44}{'measured':>14}{'goal':>14}")
    print(f"{'training (command, incl. scoring all leads)':<44}{train_seconds:>12.1f} s{'≤ 120 s':>14}")
    print(f"{'scoring all leads (refresh_all)':<44}{scoring_seconds:>12.1f} s{'≤ 30 s':>14}  ({scored:,} scored)")
    print(f"{'peak RSS of the training process':<44}{rss_mb:>11.0f} MB{'≤ 500 MB':>14}")
    ratio = with_likelihood / baseline
    print(f"{'full rescore with / without likelihoods':<44}{ratio:>13.2f}×{'≤ 1.2×':>14}", end="")
    print(f"  ({with_likelihood:.1f} s / {baseline:.1f} s)")
    print(
        f"\nholdout: {model.holdout_snapshots:,} snapshots, {model.holdout_positives:,} buyers; "
        f"training: {model.train_snapshots:,} snapshots, {model.train_positives:,} buyers"
    )
    print(f"{'method':<14}{'AUC':>8}{'log loss':>10}{'ECE':>8}{'prec@k':>9}")
    for key in ("model", "rules", "naive_bayes"):
        row = model.metrics[key]
        print(f"{key:<14}{row['auc']:>8.3f}{row['log_loss']:>10.4f}{row['ece']:>8.4f}{row['precision_at_k']:>9.3f}")
    m, r, nb = (model.metrics[key]["auc"] for key in ("model", "rules", "naive_bayes"))
    print(f"model AUC − rules AUC = {m - r:+.3f} (goal ≥ +0.05); model − naive Bayes = {m - nb:+.3f} (goal ≥ 0)")


if __name__ == "__main__":
    main()
