import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from leads import imports
from leads.models import ImportJob, ImportStatus, Lead
from tests.workers import running_worker, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_a_real_worker_imports_the_file_once_the_request_commits(marketer):
    job = imports.create_import_job(
        upload=SimpleUploadedFile("leads.csv", b"email,company\nada@example.com,Engines\nbad,Nowhere\n"), user=marketer
    )
    with running_worker():
        imports.start_import(job=job, mapping={"email": "email", "company": "company"}, on_duplicate="skip")
        done = wait_for(
            lambda: ImportJob.objects.filter(
                pk=job.pk, status__in=[ImportStatus.SUCCEEDED, ImportStatus.FAILED]
            ).first(),
            timeout=60,
        )
    assert done is not None and done.status == ImportStatus.SUCCEEDED
    assert list(Lead.objects.values_list("email", "company")) == [("ada@example.com", "Engines")]
    assert done.error_count == 1
