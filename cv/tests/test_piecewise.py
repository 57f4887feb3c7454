# ruff: noqa: RUF001 (the CV texts have the en dashes real CVs have)
"""The CV rewritten part by part (OPENAI_REWRITE=sections), for small models: the outline it is cut into, each
part's answer checked, and whole analyses through a real Celery worker with the fake model answering as a
real 1.5B model answered these requests.
"""

import os
import time
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from core.models import QuotaUsage
from cv import services
from cv.llm import client as llm
from cv.llm import gates, outline, piecewise, verification
from cv.llm.errors import LLMPermanentError
from cv.scoring import claims
from cv.scoring.job import Job
from cv.tests.factories import AIResponseFactory, QuestionnaireFactory
from testing.fake_openai import FakeOpenAI, RewritesParts
from testing.workers import llm_worker_fixtures

FIXTURES = Path(__file__).parent / "fixtures"
QUEUE = f"cv-test-piecewise-{os.getpid()}"
WAIT_SECONDS = 60

NURSE_CV = """Maria Okafor
maria@example.net · (617) 555-0142 · Worcester, MA

PROFILE
Registered nurse with six years on adult medical/surgical floors. I precept new graduates.

EXPERIENCE
Staff Nurse, Medical/Surgical Unit 5West
St. Vincent Regional Hospital, Worcester, MA | June 2021 – Present
- Care for 5 to 6 adult patients per shift on a 32-bed med/surg unit: post-operative, pneumonia
  and sepsis step-down patients.
- Helped with the falls committee; our unit went from 11 falls in 2022 to 4 in 2023.

Registered Nurse, Progressive Care Unit
Mercy Hills Medical Center, Springfield, MA | August 2018 – May 2021
- Responsible for 3 to 4 telemetry patients per shift.
- Titrated heparin and insulin drips under protocol.

EDUCATION
Bachelor of Science in Nursing, University of Massachusetts Amherst, 2018
"""

PLAIN_CV = """John Smith
john@example.org · Berlin
PROFILE
Marketing coordinator who has done social media and some email campaigns.
WORK HISTORY
Marketing Coordinator, Brightside GmbH (2020–2024)
Did social media posts for Instagram and LinkedIn.
Sent the monthly newsletter.
Intern, Medialab Berlin (2019–2020)
Helped the team with research and reports.
EDUCATION
BA Communication Studies, Freie Universität Berlin (2016–2019)
"""

NURSE_JOB = {
    "position": "Registered Nurse, Medical-Surgical",
    "industry": "Healthcare",
    "job_description": "We need a registered nurse for our med/surg unit. Telemetry experience preferred. "
    "You will precept new graduate nurses and take charge nurse shifts.",
}


def test_a_role_named_on_two_lines_keeps_both_and_its_points_are_apart():
    cv = outline.outline(NURSE_CV)

    assert cv.header[0] == "Maria Okafor"
    first, second = cv.roles
    assert first.header == (
        "Staff Nurse, Medical/Surgical Unit 5West",
        "St. Vincent Regional Hospital, Worcester, MA | June 2021 - Present",
    )
    # The PDF's wrapped line is joined to its point.
    assert first.points[0].endswith("post-operative, pneumonia and sepsis step-down patients.")
    assert len(first.points) == 2 and len(second.points) == 2


def test_a_cv_without_bullets_has_one_line_roles_and_each_line_after_them_is_a_point():
    cv = outline.outline(PLAIN_CV)

    assert [role.header for role in cv.roles] == [
        ("Marketing Coordinator, Brightside GmbH (2020-2024)",),
        ("Intern, Medialab Berlin (2019-2020)",),
    ]
    assert cv.roles[0].points == ("Did social media posts for Instagram and LinkedIn.", "Sent the monthly newsletter.")


def test_the_outline_as_markdown_keeps_every_line_of_the_cv():
    text = outline.markdown(outline.outline(NURSE_CV))

    assert text.startswith("# Maria Okafor")
    assert "### Staff Nurse, Medical/Surgical Unit 5West · St. Vincent Regional Hospital" in text
    assert "- Titrated heparin and insulin drips under protocol." in text
    assert "Bachelor of Science in Nursing, University of Massachusetts Amherst, 2018" in text


@pytest.fixture
def model(settings):
    with FakeOpenAI(default=RewritesParts()) as fake:
        settings.OPENAI_API_KEY = "sk-test-not-a-real-key"
        settings.OPENAI_BASE_URL = fake.base_url
        settings.OPENAI_REWRITE = "sections"
        settings.OPENAI_MAX_ATTEMPTS = 1
        yield fake


def _parts(fake: FakeOpenAI) -> list[str]:
    return [request.prompt_text for request in fake.requests]


def test_each_part_is_asked_for_alone_and_the_cv_is_put_together_around_the_answers(model):
    result = piecewise.analyse(job=Job.from_fields(NURSE_JOB), cv_text=NURSE_CV, prompt="Tailor my CV.")

    # One request for the summary and one per role; none carries the whole CV or the job description.
    assert len(model.requests) == 3
    assert all("BEGIN CV" not in text and "charge nurse shifts" not in text for text in _parts(model))
    text = result.improved_cv_markdown
    assert "- Supported the falls committee; our unit went from 11 falls in 2022 to 4 in 2023." in text
    assert "I precept" not in text
    assert "St. Vincent Regional Hospital, Worcester, MA | June 2021 - Present" in text
    assert result.changes[0] == "Rewrote the summary for this job."
    assert result.prompt_tokens == 3 * 120


@pytest.mark.parametrize(
    ("flaw", "told"),
    [
        ({"drops_point": True}, "Your answer left out this point"),
        ({"adds_point": "Worked as a nurse in a hospital."}, "more points than"),
        ({"invents_number": True}, "numbers the candidate's text does not have (37)"),
        ({"adds_claim": ", charted in Kubernetes"}, 'says what the candidate\'s text does not: "Kubernetes"'),
        ({"echoes_job": "- You will precept new graduate nurses and take charge nurse shifts."}, "repeats the"),
    ],
)
def test_a_part_answer_with_a_real_models_flaw_is_asked_again_then_kept_as_written(model, flaw, told):
    # The summary and the second role are answered well; the first role's answer has the flaw, twice.
    model.queue(RewritesParts(), RewritesParts(**flaw), RewritesParts(**flaw), RewritesParts())

    result = piecewise.analyse(job=Job.from_fields(NURSE_JOB), cv_text=NURSE_CV, prompt="")

    first_role = [text for text in _parts(model) if "The points to rewrite:" in text and "falls committee" in text]
    assert len(first_role) == 2
    assert told in first_role[1]
    text = result.improved_cv_markdown
    assert "- Helped with the falls committee; our unit went from 11 falls in 2022 to 4 in 2023." in text
    for flawed in ("37 hours", "Worked as a nurse", "take charge nurse shifts", "Kubernetes"):
        assert flawed not in text
    assert [change for change in result.changes if "points of" in change] == [
        "Rewrote the points of “Registered Nurse, Progressive Care Unit”: action verbs, the most relevant first."
    ]


def test_when_no_role_could_be_rewritten_the_answer_is_the_cv_unchanged(model):
    model.default = RewritesParts(drops_point=True)

    with pytest.raises(LLMPermanentError) as caught:
        piecewise.analyse(job=Job.from_fields(NURSE_JOB), cv_text=NURSE_CV, prompt="")

    assert caught.value.code == "answer_unchanged"
    assert caught.value.refund


def test_a_cv_whose_roles_cannot_be_found_is_rewritten_whole(model):
    result = piecewise.analyse(job=Job.from_fields(NURSE_JOB), cv_text="Maria Okafor\nNurse who cares.\n", prompt="")

    assert len(model.requests) == 1
    assert "BEGIN CV" in model.requests[0].prompt_text
    assert result.improved_cv_markdown.startswith("# Jane Doe")  # the fake's whole-CV answer


# Through a real worker


server, worker, fake = llm_worker_fixtures(
    name="cv-piecewise",
    queue=QUEUE,
    default=RewritesParts,
    CV_TEST_OPENAI_TIMEOUT="10",
    CV_TEST_OPENAI_REWRITE="sections",
)


@pytest.fixture
def jane(api_client) -> int:
    response = api_client.post(
        "/cv/questionnaire/",
        {
            "position": "Senior Backend Engineer",
            "job_description": (FIXTURES / "senior_backend_engineer.txt").read_text(),
            "resume": SimpleUploadedFile(
                "cv.pdf", (FIXTURES / "jane_doe_backend.pdf").read_bytes(), content_type="application/pdf"
            ),
        },
        format="multipart",
    )
    assert response.status_code == 201, response.content
    return response.json()["id"]


def _analysis(api_client, questionnaire_id: int) -> dict:
    response = api_client.post(
        "/cv/ai-responses/", {"questionnaire": questionnaire_id, "prompt": "Tailor my CV to this job."}, format="json"
    )
    assert response.status_code == 202, response.content
    url = f"/cv/ai-responses/{response.json()['id']}/"
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        body = api_client.get(url).json()
        if body["status"] in ("succeeded", "failed"):
            return body
        time.sleep(0.1)
    raise AssertionError(f"{url} did not finish within {WAIT_SECONDS}s")


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_an_analysis_written_part_by_part_keeps_every_fact_and_is_verified(api_client, fake, jane):
    body = _analysis(api_client, jane)

    assert body["status"] == "succeeded", body
    assert body["verification"]["status"] == "verified", body["verification"]
    improved = body["improved_cv"]
    assert "### Senior Software Engineer, Ledgerly Ltd - London (2021-present)" in improved
    assert "- Delivered the payments API written in Django and Django REST Framework." in improved
    assert "BSc Computer Science, University of Leeds (2014-2018)" in improved
    assert any("points of" in change for change in body["changes"])
    # Docker and the CI pipeline on GitHub Actions are in the job; internal tools in Flask are not.
    assert improved.index("Docker images and the CI pipeline") < improved.index("internal tools in Flask")
    assert body["match_report"]["score_after"] >= body["match_report"]["score_before"]
    # The summary and the two roles: three short requests, no whole-CV answer asked for.
    assert len(fake.requests) == 3


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_when_no_part_could_be_rewritten_the_analysis_fails_as_unchanged_and_the_unit_goes_back(
    api_client, user, fake, jane
):
    # Every role's points come back with an invented number, twice: only the summary was rewritten.
    fake.default = RewritesParts(invents_number=True)

    body = _analysis(api_client, jane)

    assert body["status"] == "failed", body
    assert body["error_code"] == "answer_unchanged", body
    assert "returned your CV without improving it" in body["error"]
    # The summary once, each of the two roles twice; no whole-CV answer is asked for.
    assert len(fake.requests) == 5
    assert QuotaUsage.objects.get(user=user, scope="ai_responses").used == 0


def test_a_rewritten_part_the_whole_cv_check_flags_goes_back_to_what_the_person_wrote():
    cv = outline.outline(NURSE_CV)
    first, second = cv.roles
    points = {0: ("Cared for adult patients on Kubernetes.", *first.points[1:]), 1: second.points[::-1]}
    context = gates.Context(kind=gates.PART, source_text=NURSE_CV, job_text=NURSE_JOB["job_description"])

    summary, undone = piecewise._undo_flagged(cv, "Registered nurse with six years.", points, context)

    assert undone == ["Staff Nurse, Medical/Surgical Unit 5West"]
    assert list(points) == [1]
    assert summary == "Registered nurse with six years."


TEACHER_CV = """Tom Brennan
tom@example.com · York

EXPERIENCE
Teacher of Mathematics and KS5 Coordinator
Fulford Park Academy, York - September 2019 to present
- Responsible for the KS5 maths curriculum for about 90 students.

Teacher of Mathematics
Harrogate High School, Harrogate - September 2016 to August 2019
- Helped with the school maths club.

EDUCATION
BSc Mathematics, University of Leeds, 2011-2014
"""


def test_the_check_judges_what_the_model_wrote_not_the_persons_lines_around_it(model):
    result = piecewise.analyse(job=Job.from_fields(NURSE_JOB), cv_text=TEACHER_CV, prompt="")

    assert result.model_text == (
        "- Owned the KS5 maths curriculum for about 90 students.\n\n- Supported the school maths club."
    )
    assert not claims.verify_rewrite(source_text=TEACHER_CV, improved_text=result.model_text).unsupported
    # The whole CV, its role headers joined into headings, reads a title with an employer the upload keeps on
    # another line: the person's own lines would be flagged.
    assert claims.verify_rewrite(source_text=TEACHER_CV, improved_text=result.improved_cv_markdown).unsupported


@pytest.mark.django_db
def test_a_repair_the_model_wrote_whole_is_judged_whole(model, user):
    questionnaire = QuestionnaireFactory.create(user=user, resume_text=TEACHER_CV, position="Maths teacher")
    response = AIResponseFactory.create(questionnaire=questionnaire)
    parts = piecewise.analyse(job=Job.of(questionnaire), cv_text=TEACHER_CV, prompt="")

    repaired = verification._repair(response=response, result=parts, claims=())

    assert parts.model_text is not None
    # The model wrote all of the repaired CV (the fake's whole-CV answer): nothing of it is the person's.
    assert repaired.improved_cv_markdown.startswith("# Jane Doe")
    assert repaired.model_text is None


@pytest.mark.django_db
def test_a_part_by_part_answer_that_fails_a_gate_fails_without_asking_for_the_whole_cv(model, user):
    questionnaire = QuestionnaireFactory.create(user=user, resume_text=TEACHER_CV, position="Maths teacher")
    response = AIResponseFactory.create(questionnaire=questionnaire)
    barely = llm.AnalysisResult(
        improved_cv_markdown=outline.markdown(outline.outline(TEACHER_CV)),
        changes=[],
        model="fake-model",
        prompt_tokens=1,
        completion_tokens=1,
        model_text="- Supported the school maths club.",
        messages=({"role": "user", "content": "BEGIN CV (data)"},),
    )

    with pytest.raises(LLMPermanentError) as caught:
        services._pass_gates(response=response, job=Job.of(response.questionnaire), result=barely)

    assert caught.value.code == "answer_unchanged"
    assert model.requests == []


@pytest.mark.django_db
def test_a_flagged_part_by_part_answer_is_reported_not_sent_to_a_whole_cv_repair(model, user):
    questionnaire = QuestionnaireFactory.create(user=user, resume_text=TEACHER_CV, position="Maths teacher")
    response = AIResponseFactory.create(questionnaire=questionnaire, prompt="")
    flagged = llm.AnalysisResult(
        improved_cv_markdown=outline.markdown(outline.outline(TEACHER_CV)) + "\n- Led the Kubernetes club.",
        changes=[],
        model="fake-model",
        prompt_tokens=1,
        completion_tokens=1,
        model_text="- Led the Kubernetes club.",
        messages=({"role": "user", "content": "BEGIN CV (data)"},),
    )

    stored, checked = verification.verify_and_repair(response=response, result=flagged)

    assert stored.improved_cv_markdown == flagged.improved_cv_markdown
    assert checked["status"] == "flagged"
    assert {"kind": "keyword", "text": "Kubernetes"} in checked["unsupported"]
    assert model.requests == []
