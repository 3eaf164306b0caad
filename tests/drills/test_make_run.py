"""Drill: under `make run` (honcho and the Procfile), a worker that dies is started
again and the web server keeps answering; honcho stops everything only on Ctrl-C."""

import os
import signal
import subprocess

import pytest
import requests

from tests.drills.stack import OwnRedis, free_port, log_path, report, stack_env, stop_process
from tests.workers import ROOT, wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.worker]


def celery_worker_pids(root_pid: int) -> set[int]:
    """The `celery … worker` main processes under honcho (not their pool children)."""
    table = subprocess.run(["ps", "-eo", "pid=,ppid=,args="], capture_output=True, text=True).stdout
    rows = [line.split(None, 2) for line in table.splitlines() if line.strip()]
    parents = {int(pid): int(ppid) for pid, ppid, *_ in rows}
    args = {int(row[0]): row[2] if len(row) > 2 else "" for row in rows}

    def under(pid):
        while pid in parents and pid != root_pid:
            pid = parents[pid]
        return pid == root_pid

    def is_shell(line: str) -> bool:
        return line.split(" ", 1)[0] in {"sh", "/bin/sh", "bash", "/bin/bash"}

    # The Procfile's restart loop is a shell; the worker's main process is its child.
    return {
        pid
        for pid, line in args.items()
        if " worker " in line
        and "celery" in line
        and not is_shell(line)
        and is_shell(args.get(parents[pid], ""))
        and under(pid)
    }


def test_a_worker_killed_under_make_run_comes_back_and_the_web_server_keeps_answering(drill_key):
    redis = OwnRedis()
    redis.start()
    port = free_port()
    # The Procfile's web binds FUNNEL_WEB_PORT (which `make` exports from PORT), so both.
    env = {**stack_env(redis.url), "PORT": str(port), "FUNNEL_WEB_PORT": str(port), "DEBUG": "1"}
    with open(log_path("honcho"), "wb") as log:
        honcho = subprocess.Popen(
            [str(ROOT / ".venv" / "bin" / "honcho"), "start", "-f", "Procfile"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"

    def web_up():
        try:
            return requests.get(f"{base}/healthz", timeout=1).status_code == 200
        except requests.RequestException:
            return False

    try:
        assert wait_for(web_up, timeout=40), "the web server did not start"
        first = wait_for(lambda: celery_worker_pids(honcho.pid), timeout=40)
        assert first, "no worker under honcho"
        for pid in first:
            os.kill(pid, signal.SIGKILL)
        # Every worker killed comes back (each loop sleeps before starting its worker again).
        wait_for(lambda: len(celery_worker_pids(honcho.pid) - first) >= len(first), timeout=40)
        replaced = celery_worker_pids(honcho.pid) - first
        answering = web_up()
        alive = honcho.poll() is None
    finally:
        stop_process(honcho)
        redis.stop()
    report("worker killed under make run", killed=len(first), restarted=len(replaced), web_answering=answering)
    assert alive and answering
    assert len(replaced) >= len(first)
