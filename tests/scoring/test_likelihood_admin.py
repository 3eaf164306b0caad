import pytest

from scoring.likelihood.jobs import start_training
from tests.scoring.likelihood_helpers import publish_small_model

pytestmark = pytest.mark.django_db


def test_an_admin_reads_the_likelihood_versions_and_their_trainings_but_cannot_edit_them(client, admin):
    model, _regression, _x = publish_small_model()
    training = start_training(cause="button", enqueue=False)
    client.force_login(admin)

    versions = client.get("/admin/scoring/likelihoodmodel/")
    assert versions.status_code == 200
    assert client.get(f"/admin/scoring/likelihoodmodel/{model.pk}/change/").status_code == 200
    runs = client.get("/admin/scoring/likelihoodtraining/")
    assert runs.status_code == 200 and "button" in runs.content.decode()
    assert client.get(f"/admin/scoring/likelihoodtraining/{training.pk}/change/").status_code == 200

    assert client.get("/admin/scoring/likelihoodmodel/add/").status_code == 403
    assert client.post(f"/admin/scoring/likelihoodmodel/{model.pk}/change/", {"version": 9}).status_code == 403
    assert client.post(f"/admin/scoring/likelihoodtraining/{training.pk}/delete/", {"post": "yes"}).status_code == 403
