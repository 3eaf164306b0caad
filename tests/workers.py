"""A real Celery worker process against the test database and the configured broker."""

import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


def test_database_url() -> str:
    """The URL of the database the tests run on (pytest-django's test_* database)."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{user}{password}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"


def worker_env(**overrides) -> dict:
    env = {**os.environ, "DATABASE_URL": test_database_url(), "FUNNEL_VAR_DIR": str(settings.VAR_DIR)}
    if settings.REDIS_URL:
        env["REDIS_URL"] = settings.REDIS_URL
    env.update({key: value for key, value in overrides.items() if value is not None})
    return env


def start_worker(*, queues: str | None = "celery,ingest", concurrency: int = 1, log_path: Path | None = None, **env):
    log = open(log_path or (Path(settings.VAR_DIR) / f"worker-{os.getpid()}-{time.time_ns()}.log"), "wb")
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "funnel",
        "worker",
        "--loglevel=INFO",
        f"--concurrency={concurrency}",
        "--pool=prefork",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
    ]
    if queues:
        command.append(f"--queues={queues}")
    # The child keeps its own copy of the file descriptor; the test's copy is closed at once.
    with log:
        return subprocess.Popen(
            command, cwd=ROOT, env=worker_env(**env), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )


def stop_worker(process, *, kill: bool = False) -> None:
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGKILL if kill else signal.SIGTERM)
        process.wait(timeout=15)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)


@contextmanager
def running_worker(**kwargs):
    process = start_worker(**kwargs)
    try:
        yield process
    finally:
        stop_worker(process)


def wait_for(predicate, *, timeout: float = 30.0, interval: float = 0.1):
    """Poll until `predicate()` is truthy; the test's failure says what never happened."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()
