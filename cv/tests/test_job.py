"""The job as every step reads it (cv.scoring.job.Job): built from the questionnaire, nothing of it lost."""

import pytest

from cv.models import JOB_FIELDS
from cv.scoring.job import Job
from cv.tests.factories import QuestionnaireFactory


@pytest.mark.django_db
def test_every_job_field_of_the_questionnaire_reaches_the_job():
    questionnaire = QuestionnaireFactory.create(
        position="Staff Nurse",
        industry="Healthcare",
        location="Leeds",
        job_description="Band 5 staff nurse for a surgical ward.",
    )

    job = Job.of(questionnaire)

    assert list(job.fields()) == list(JOB_FIELDS)
    assert job.fields() == {name: getattr(questionnaire, name) for name in JOB_FIELDS}
    assert job.text == "Staff Nurse\nHealthcare\nBand 5 staff nurse for a surgical ward."
    assert job.requirements is None


def test_the_model_reads_the_filled_fields_with_their_labels_and_the_description_apart():
    job = Job(position="Data Analyst", company_size="small", description="SQL and Power BI.")

    assert job.prompt_lines() == ["Position: Data Analyst", "Company size: small"]
    assert job.values() == ["Data Analyst", "small", "SQL and Power BI."]
    assert job.text == "Data Analyst\nSQL and Power BI."
