"""The real processes of a fault drill: a Redis server of the drill's own (stopped and
started at will, never the shared one), gunicorn, Celery workers, and clients that post
batches the way a careful sender does (the same message ids again after any failure).
Not a test module."""

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import orjson
import requests
from django.conf import settings
from django.db import connection

from tests.workers import ROOT, worker_env

# Ports of this drill set (9500-9599 belong to it on the shared machine).
DRILL_PORTS = range(int(os.environ.get("FUNNEL_DRILL_PORT_FROM", "9560")), 9600)


def free_port() -> int:
    for port in DRILL_PORTS:
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in the drill range")


def log_path(name: str) -> Path:
    path = Path(settings.VAR_DIR) / "drills" / f"{name}-{os.getpid()}-{time.time_ns()}.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


class OwnRedis:
    """A throwaway redis-server (no persistence) on a drill port: stop() and start()
    are the outage."""

    def __init__(self):
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


def stack_env(redis_url: str, **overrides) -> dict:
    env = worker_env(REDIS_URL=redis_url, **overrides)
    env.update(DEBUG="0", SECRET_KEY="drill-secret-key-" + "x" * 40, SECURE_SSL_REDIRECT="0", LOG_LEVEL="WARNING")
    return env


def start_gunicorn(*, env: dict, workers: int = 2, name: str = "gunicorn") -> tuple[subprocess.Popen, str]:
    port = free_port()
    command = [sys.executable, "-m", "gunicorn", "funnel.wsgi", "--bind", f"127.0.0.1:{port}"]
    command += ["--workers", str(workers), "--log-level", "warning", "--graceful-timeout", "5"]
    with open(log_path(name), "wb") as log:
        server = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and server.poll() is None:
        try:
            if requests.get(f"{base}/healthz", timeout=1).status_code == 200:
                return server, base
        except requests.RequestException:
            time.sleep(0.1)
    stop_process(server)
    raise RuntimeError("gunicorn did not come up")


# What runs a worker under make run (Procfile) starts it again when it exits.
RESTART_LOOP = 'while :; do "$@"; echo "worker exited ($?); starting it again" >&2; sleep 1; done'
RESTARTED = b"worker exited ("


def start_celery_worker(
    *,
    env: dict,
    name: str = "worker",
    concurrency: int = 1,
    beat: bool = False,
    restarted: bool = False,
    queues: str = "celery,ingest",
) -> subprocess.Popen:
    """A worker; with `beat`, beat runs inside it (its sweeps ring for what a dead worker
    left); with `restarted`, in make run's loop that starts it again when it exits (the
    process returned is the loop's; `restarts(worker)` counts)."""
    command = [sys.executable, "-m", "celery", "-A", "funnel", "worker", "--loglevel=INFO"]
    command += [f"--concurrency={concurrency}", "--pool=prefork", f"--queues={queues}"]
    if beat:
        command += ["--beat", f"--schedule={log_path(name + '-beat').with_suffix('.schedule')}"]
    command += ["--without-gossip", "--without-mingle", "--without-heartbeat"]
    if restarted:
        command = ["sh", "-c", RESTART_LOOP, "sh", *command]
    path = log_path(name)
    with open(path, "wb") as log:
        worker = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    worker.log_path = path
    return worker


def worker_log_count(worker: subprocess.Popen, needle: bytes) -> int:
    return worker.log_path.read_bytes().count(needle)


def stop_process(process: subprocess.Popen, *, kill: bool = False) -> None:
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGKILL if kill else signal.SIGTERM)
        process.wait(timeout=15)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)


@contextmanager
def running(*processes):
    try:
        yield processes
    finally:
        for process in processes:
            stop_process(process)


@dataclass
class Tally:
    """What the clients saw: HTTP answers by status, events by per-event status."""

    answers: Counter = field(default_factory=Counter)
    events: Counter = field(default_factory=Counter)
    retries: int = 0
    refused: int = 0
    missing_retry_after: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, other_answers: Counter, other_events: Counter, retries: int, refused: int, bare: int):
        with self.lock:
            self.answers.update(other_answers)
            self.events.update(other_events)
            self.retries += retries
            self.refused += refused
            self.missing_retry_after += bare


def post_until_stored(base: str, key: str, batch: list[dict], tally: Tally, *, deadline: float) -> None:
    """Post one batch; on a 5xx or a refused connection, post the same batch again
    (same message ids) until it is answered 202 or the deadline passes."""
    answers, events = Counter(), Counter()
    retries = refused = bare = 0
    body = orjson.dumps({"events": batch})
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    while time.monotonic() < deadline:
        try:
            response = requests.post(f"{base}/api/v1/events", data=body, headers=headers, timeout=20)
        except requests.RequestException:
            refused += 1
            retries += 1
            time.sleep(0.2)
            continue
        answers[response.status_code] += 1
        if response.status_code == 202:
            for result in response.json()["results"]:
                events[result["status"]] += 1
            break
        if response.status_code == 503 and "Retry-After" not in response.headers:
            bare += 1
        retries += 1
        time.sleep(0.2)
    tally.add(answers, events, retries, refused, bare)


def send_in_parallel(
    base: str, key: str, batches_per_client: list[list[list[dict]]], *, budget: float, pause: float = 0.0
) -> Tally:
    tally = Tally()
    deadline = time.monotonic() + budget

    def client(batches):
        for batch in batches:
            post_until_stored(base, key, batch, tally, deadline=deadline)
            time.sleep(pause)

    threads = [threading.Thread(target=client, args=(batches,)) for batches in batches_per_client]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return tally


def terminate_backends(*, where: str = "", params: tuple = ()) -> int:
    """pg_terminate_backend on the drill database's other connections (never this
    test's own, never another database's): the fault of a dropped connection."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            f"WHERE datname = current_database() AND pid <> pg_backend_pid() {where}",
            params,
        )
        return cursor.fetchone()[0]


def report(name: str, **counts) -> None:
    """Each drill prints what it did and its counts (pytest -s shows them; `make drills` does)."""
    line = ", ".join(f"{key}={value}" for key, value in counts.items())
    print(f"\n[drill] {name}: {line}", flush=True)


def drill_events(*, leads: int, hot_every: int, prefix: str) -> tuple[list[dict], set[str]]:
    """Events for `leads` identified leads: every `hot_every`-th gets a demo request and
    two pricing views (52 points: one crossing), the others a blog view or two. Returns
    the events, shuffled the same way every run, and the emails of the hot leads."""
    import random

    events, hot = [], set()
    for n in range(leads):
        email = f"{prefix}-{n}@drill.example"
        if n % hot_every == 0:
            hot.add(email)
            kinds = [("form_submitted", {"form": "demo-request"}), ("page_view", {"url": "/pricing"})]
            kinds.append(("page_view", {"url": "/pricing?plan=team"}))
        else:
            kinds = [("page_view", {"url": f"/blog/{index}"}) for index in range(1 + n % 2)]
        for index, (event_type, properties) in enumerate(kinds):
            events.append(
                {"message_id": f"{prefix}-{n}-{index}", "type": event_type, "email": email, "properties": properties}
            )
    random.Random(14).shuffle(events)
    return events, hot


def split(events: list[dict], *, clients: int, batch: int) -> list[list[list[dict]]]:
    batches = [events[start : start + batch] for start in range(0, len(events), batch)]
    return [batches[index::clients] for index in range(clients)]
