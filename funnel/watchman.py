"""The worker's watchman: it collects the work no doorbell delivered, and restarts a
worker whose consumer has gone deaf.

Funnel's queues of record are tables (the intake, the rescore marks); the broker only
rings doorbells. Celery's Redis consumer can stop taking messages after quick broker
restarts (celery#8030, #8091): the worker runs on, connected, and never takes a
message again. A thread in every worker's main process checks every few seconds
whether work has waited longer than a doorbell ever takes; if so, it does that work
itself, so events still become scores and alerts. If it keeps having to, while the
broker answers and the worker's consumer has received nothing, the consumer is deaf:
the watchman asks the worker for a warm shutdown, and what runs the worker (make run's
loop, docker-compose's restart policy) starts a fresh one that listens.
"""

import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from datetime import timedelta

from celery import current_app
from django.conf import settings
from django.db import close_old_connections, connection

from events.overdue import process_overdue_incoming
from scoring.services.overdue import rescore_overdue_marks

logger = logging.getLogger(__name__)

# A warm shutdown that does not end (a task that hangs) must not keep a deaf worker.
HARD_EXIT_AFTER_SECONDS = 60.0
HARD_EXIT_STATUS = 75  # EX_TEMPFAIL: what runs the worker starts it again


def collect_overdue_work() -> int:
    """Everything owed that has waited longer than a doorbell takes: the intake's
    events, then the marked leads (the events just processed marked some)."""
    older_than = timedelta(seconds=settings.FUNNEL_WATCHMAN_OVERDUE_SECONDS)
    return process_overdue_incoming(older_than=older_than) + rescore_overdue_marks(older_than=older_than)


def broker_answers() -> bool:
    try:
        with current_app.connection_for_write() as broker:
            broker.connect()
        return True
    except Exception:  # noqa: BLE001 - any failure means "not now"
        return False


def ask_for_restart() -> None:
    """A warm shutdown (the task in hand finishes; unacknowledged messages go back),
    and a hard exit if that does not end in time."""
    exit_timer = threading.Timer(HARD_EXIT_AFTER_SECONDS, os._exit, args=(HARD_EXIT_STATUS,))
    exit_timer.daemon = True
    exit_timer.start()
    os.kill(os.getpid(), signal.SIGTERM)


class Watchman:
    """The decisions, apart from the thread: `check()` once per interval, `heard()`
    whenever the consumer receives a message. Deaf means: work had to be collected
    here, the first time at least `deaf_after` seconds ago, nothing was received since
    then, and the broker answers now (while it is down, not hearing is no fault)."""

    def __init__(
        self,
        *,
        collect: Callable[[], int] = collect_overdue_work,
        broker_answers: Callable[[], bool] = broker_answers,
        restart: Callable[[], None] = ask_for_restart,
        deaf_after: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.collect = collect
        self.broker_answers = broker_answers
        self.restart = restart
        self.deaf_after = settings.FUNNEL_WATCHMAN_DEAF_SECONDS if deaf_after is None else deaf_after
        self.clock = clock
        self.last_heard = clock()
        self.collecting_since: float | None = None
        self.restarting = False

    def heard(self) -> None:
        self.last_heard = self.clock()

    def check(self) -> int:
        collected = self.collect()
        now = self.clock()
        if self.collecting_since is not None and self.last_heard >= self.collecting_since:
            self.collecting_since = None  # the consumer took a message since: it listens
        if not collected:
            return 0
        logger.warning("Collected %s overdue items that no doorbell delivered.", collected)
        if self.collecting_since is None:
            self.collecting_since = now
        elif now - self.collecting_since >= self.deaf_after and not self.restarting and self.broker_answers():
            logger.error(
                "This worker's consumer has received nothing for %.0f s while work waited and the broker "
                "answers: it has gone deaf (celery#8030). Shutting down so that it is started again.",
                now - self.last_heard,
            )
            self.restarting = True
            self.restart()
        return collected


class WatchmanThread(threading.Thread):
    def __init__(self, watchman: Watchman, *, interval: float):
        super().__init__(name="funnel-watchman", daemon=True)
        self.watchman = watchman
        self.interval = interval
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(self.interval):
            close_old_connections()
            try:
                self.watchman.check()
            except Exception:  # noqa: BLE001 - the database may be away; the next round tries again
                logger.warning("The watchman's round failed; it tries again.", exc_info=True)
                connection.close()
        connection.close()


_thread: WatchmanThread | None = None


def start(**kwargs) -> None:
    """worker_ready: one watchman per worker process (its main process)."""
    global _thread
    if not settings.FUNNEL_WATCHMAN_SECONDS or _thread is not None:
        return
    _thread = WatchmanThread(Watchman(), interval=settings.FUNNEL_WATCHMAN_SECONDS)
    _thread.start()


def heard(**kwargs) -> None:
    """task_received: the consumer took a message."""
    if _thread is not None:
        _thread.watchman.heard()


def stop(**kwargs) -> None:
    """worker_shutting_down."""
    if _thread is not None:
        _thread.stopped.set()
