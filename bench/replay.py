"""Replay of generate_load's history into an empty database → identical scores.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/anything .venv/bin/python bench/replay.py

Builds a source database (`funnel_bench_replay_source`, recreated; only the host and
credentials of DATABASE_URL are used) with `generate_load` (BENCH_REPLAY_LEADS, default
100,000 leads; BENCH_REPLAY_EVENTS, default 1,000,000 events), scores it (`rescore --all`),
changes a rule (a new version) and rescores it again, then runs `manage.py replay --from`
that source into a new database (`funnel_bench_replay_target`) and prints the time of
each part and replay's comparison (`identical R`). The baseline is the time the source
took to score: the replay redoes that scoring and also copies the log.
"""

import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import psycopg2

ROOT = Path(__file__).resolve().parent.parent
LEADS = int(os.environ.get("BENCH_REPLAY_LEADS", "100000"))
EVENTS = int(os.environ.get("BENCH_REPLAY_EVENTS", "1000000"))
SOURCE, TARGET = "funnel_bench_replay_source", "funnel_bench_replay_target"

CHANGE_A_RULE = """
import django; django.setup()
from scoring.models import ScoringRule
from scoring.rules import update_rule
rule = ScoringRule.objects.get(label="Pricing page view")
update_rule(rule=rule, changes={"points": 8}, label="bench/replay.py")
"""


def main() -> int:
    source_url = os.environ.get("DATABASE_URL", "")
    if not source_url.startswith(("postgres://", "postgresql://")):
        sys.exit("Set DATABASE_URL to a PostgreSQL server (its host and credentials are used).")
    parts = urlparse(source_url)
    admin = psycopg2.connect(parts._replace(path="/postgres").geturl())
    admin.autocommit = True
    with admin.cursor() as cursor:
        for name in (SOURCE, TARGET):
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{SOURCE}"')
    source = parts._replace(path=f"/{SOURCE}").geturl()
    target = parts._replace(path=f"/{TARGET}").geturl()
    env = {**os.environ, "DATABASE_URL": source, "DJANGO_SETTINGS_MODULE": "funnel.settings", "LOG_LEVEL": "WARNING"}
    env.pop("REDIS_URL", None)  # no broker needed: every step runs in these processes
    env["FUNNEL_VAR_DIR"] = str(ROOT / "var" / "bench-replay")

    def run(*command, database=source) -> tuple[float, str]:
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, *command], cwd=ROOT, env={**env, "DATABASE_URL": database}, capture_output=True, text=True
        )
        if done.returncode != 0:
            sys.exit(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
        return time.monotonic() - started, done.stdout

    print(f"Building the source: {LEADS:,} leads, {EVENTS:,} events …", flush=True)
    run("manage.py", "migrate", "-v", "0")
    generated, _ = run("manage.py", "generate_load", "--leads", str(LEADS), "--events", str(EVENTS))
    first, _ = run("manage.py", "rescore", "--all")
    run("-c", CHANGE_A_RULE)
    second, _ = run("manage.py", "rescore", "--all")
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{TARGET}"')
    admin.close()
    # Migrated before the clock starts, as the source was: the replay's own migrate is
    # then a no-op, and what is timed is copying and replaying.
    run("manage.py", "migrate", "-v", "0", database=target)
    print("Replaying into an empty database …", flush=True)
    replayed, output = run("manage.py", "replay", "--from", source, database=target)
    lines = output.strip().splitlines()
    print()
    print(f"replay of generate_load's history ({LEADS:,} leads, {EVENTS:,} events, one rule change)")
    print(f"{'generate_load (COPY)':<44} {generated:>8.1f} s")
    print(f"{'source scoring: rescore --all, twice':<44} {first + second:>8.1f} s")
    print(f"{'replay (copy the log, rescore at each moment)':<44} {replayed:>8.1f} s")
    print(f"{'ratio replay / source scoring':<44} {replayed / (first + second):>8.2f}×")
    for line in lines[-6:]:
        print(line)
    return 0 if lines and lines[-1] == "identical 1.000" else 1


if __name__ == "__main__":
    sys.exit(main())
