"""The worker's watchman: it does the work no doorbell delivered, and restarts its
worker only when the consumer has gone deaf (work kept waiting, nothing received,
the broker answering)."""

import pytest

from funnel.watchman import Watchman


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Scene:
    """A watchman with its world in the test's hands: overdue work, the broker, time."""

    def __init__(self, *, broker_up: bool = True):
        self.clock = Clock()
        self.overdue = 0
        self.broker_up = broker_up
        self.restarts = 0
        self.watchman = Watchman(
            collect=lambda: self.overdue,
            broker_answers=lambda: self.broker_up,
            restart=self.restart,
            deaf_after=30,
            clock=self.clock,
        )

    def restart(self):
        self.restarts += 1

    def rounds(self, seconds: int, *, every: int = 2, overdue: int = 0, heard: bool = False):
        self.overdue = overdue
        for _ in range(0, seconds, every):
            self.clock.now += every
            if heard:
                self.watchman.heard()
            self.watchman.check()


@pytest.fixture
def scene():
    return Scene()


def test_a_worker_with_nothing_overdue_is_left_alone(scene):
    scene.rounds(600)
    assert scene.restarts == 0


def test_overdue_work_is_collected_and_returned_as_counted(scene):
    scene.overdue = 7
    assert scene.watchman.check() == 7


def test_a_consumer_that_hears_nothing_while_work_waits_is_restarted(scene):
    scene.rounds(40, overdue=5)
    assert scene.restarts == 1


def test_a_deaf_consumer_is_restarted_once_not_every_round(scene):
    scene.rounds(120, overdue=5)
    assert scene.restarts == 1


def test_overdue_work_for_less_than_the_deaf_time_restarts_nothing(scene):
    scene.rounds(20, overdue=5)
    assert scene.restarts == 0


def test_a_busy_worker_that_keeps_receiving_messages_is_not_restarted(scene):
    scene.rounds(120, overdue=5, heard=True)
    assert scene.restarts == 0


def test_a_message_received_starts_the_count_again(scene):
    scene.rounds(20, overdue=5)
    scene.watchman.heard()
    scene.rounds(20, overdue=5)
    assert scene.restarts == 0


def test_nothing_is_restarted_while_the_broker_is_down():
    scene = Scene(broker_up=False)
    scene.rounds(120, overdue=5)
    assert scene.restarts == 0


def test_a_deaf_consumer_is_restarted_once_the_broker_answers_again():
    scene = Scene(broker_up=False)
    scene.rounds(60, overdue=5)
    scene.broker_up = True
    scene.rounds(2, overdue=5)
    assert scene.restarts == 1
