import json
import threading
import urllib.error
import urllib.request

import pytest

from events.services import create_api_key
from leads.models import StageTransition
from leads.stages import Stage
from sales.models import AlertStatus
from tests import factories
from tests.sales.conftest import make_alert
from tests.services import need_postgres

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

REPS = 20


def _accept(url: str, key: str, start: threading.Barrier, results: list, index: int) -> None:
    request = urllib.request.Request(url, data=b"", method="POST", headers={"Authorization": f"Bearer {key}"})
    start.wait()
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            results[index] = (response.status, json.loads(response.read()))
    except urllib.error.HTTPError as failure:
        results[index] = (failure.code, json.loads(failure.read()))


def test_twenty_reps_accepting_one_alert_at_once_make_one_owner_and_nineteen_409s(live_server, settings):
    need_postgres()
    settings.FUNNEL_ROUND_ROBIN = False
    reps = [factories.sales_rep(username=f"racer{n}") for n in range(REPS)]
    keys = [create_api_key(name=f"racer{n}", scopes=["queue:write"], user=rep)[1] for n, rep in enumerate(reps)]
    alert = make_alert()
    url = f"{live_server.url}/api/v1/queue/{alert.pk}/accept"
    start, results = threading.Barrier(REPS), [None] * REPS
    threads = [threading.Thread(target=_accept, args=(url, key, start, results, n)) for n, key in enumerate(keys)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    statuses = sorted(status for status, _ in results)
    assert statuses == [200] + [409] * (REPS - 1)
    winner = next(body for status, body in results if status == 200)["acted_by"]["username"]
    for status, body in results:
        if status == 409:
            assert body["error"]["code"] == "alert_already_taken"
            assert body["error"]["taken_by"] == winner
    alert.refresh_from_db()
    alert.lead.refresh_from_db()
    assert (alert.status, alert.acted_by.username) == (AlertStatus.ACCEPTED, winner)
    assert (alert.lead.stage, alert.lead.owner.username) == (Stage.SAL, winner)
    assert StageTransition.objects.filter(lead=alert.lead, to_stage=Stage.SAL).count() == 1
