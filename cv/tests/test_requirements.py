"""The model reads the job's requirements (cv.llm.requirements): nothing it says reaches the match report unless the
job and the CV hold it, it reads once per job text, and an unusable answer leaves the deterministic extractor
to serve. The analyses here run through the service the task calls, against the local fake model; the
real-worker test is in test_worker_integration."""

import logging

import pytest

from cv import services
from cv.llm import proposals, requirements
from cv.models import CVQuestionnaire
from cv.scoring import matching
from cv.scoring.job import Job, JobRequirement
from cv.tests.factories import QuestionnaireFactory
from testing.fake_openai import Answer, CutOff, ReadsRequirements, Status, UnusableRequirements

NURSE_JOB = """ICU Staff Nurse, Northgate Hospital

Requirements:
- Critical care experience with ventilated patients
- Medication administration and arterial lines
- Knowledge of Epic charting
- ACLS certification is a plus
"""
NURSE_CV = """Sam Example
sam@example.com

EXPERIENCE
Staff Nurse, ICU, Riverside General (2019-present)
- Cared for ventilated patients on a 12-bed unit.
- Gave medication and IV fluids to post-operative patients.

SKILLS
Epic, BLS
"""

# A faithful rewrite of NURSE_CV: nothing for the truthfulness check to flag, so one model call per rewrite.
NURSE_IMPROVED = """# Sam Example

sam@example.com

## Summary

Staff nurse in an ICU, caring for ventilated patients on a 12-bed unit.

## Experience

### Staff Nurse, ICU, Riverside General (2019-present)

- Cared for ventilated patients on a 12-bed unit.
- Gave medication and IV fluids to post-operative patients.

## Skills

Epic, BLS"""


def _item(term, quote, evidence, kind="skill", importance="required"):
    return {"term": term, "kind": kind, "importance": importance, "job_quote": quote, "cv_evidence": evidence}


def _checked(*items):
    return proposals.checked(items, job_text=NURSE_JOB, cv_text=NURSE_CV)


def test_a_term_the_job_does_not_have_is_dropped():
    kept = _checked(
        _item("Quantum annealing", "Quantum annealing", None),
        _item("ventilated patients", "Critical care experience with ventilated patients", "ventilated patients"),
    )

    assert [item.term for item in kept] == ["ventilated patients"]


def test_a_term_copied_in_another_case_is_kept_as_the_job_writes_it():
    [kept] = _checked(_item("epic", "knowledge of   EPIC charting", "epic", kind="tool"))

    assert kept.term == "Epic"
    # The quotes are the texts' own words, whatever the model's spacing and case.
    assert kept.job_quote == "Knowledge of Epic charting"
    assert kept.cv_evidence == "Epic"


def test_quotation_marks_around_a_quote_are_not_part_of_it_and_a_leading_dot_is():
    [dotnet, epic] = proposals.checked(
        [_item(".NET", '"C# and .NET."', None, kind="tool"), _item('"Epic"', "…Knowledge of Epic…", '"Epic."')],
        job_text="Requirements:\n- C# and .NET\n- Knowledge of Epic\n",
        cv_text=NURSE_CV,
    )

    assert (dotnet.term, dotnet.job_quote) == (".NET", "C# and .NET")
    assert (epic.term, epic.job_quote, epic.cv_evidence) == ("Epic", "Knowledge of Epic", "Epic")


def test_a_quote_the_job_does_not_have_becomes_the_jobs_own_words():
    [kept] = _checked(_item("arterial lines", "Must have placed 500 arterial lines", None))

    assert kept.job_quote == "Medication administration and arterial lines"


def test_evidence_the_cv_does_not_have_is_dropped_and_a_synonym_quote_holds():
    kept = _checked(
        _item("Medication administration", "Medication administration and arterial lines", "gave medication"),
        _item("critical care", "Critical care experience", "ran a critical care unit for ten years"),
    )

    assert [(item.term, item.cv_evidence) for item in kept] == [
        ("Medication administration", "Gave medication"),
        ("Critical care", None),
    ]


def test_the_answer_is_bounded_and_generic_words_or_sentences_are_not_terms():
    too_many = [_item("Epic", "Epic", None)] * 3 + [
        _item("experience", "Critical care experience", None),
        _item("Critical care experience with ventilated patients", "Critical care", None),
        _item("ACLS", "ACLS certification is a plus", None, kind="badge", importance="nice"),
    ]

    kept = _checked(*too_many)

    assert [item.term for item in kept] == ["Epic", "ACLS"]
    # A kind or importance outside the closed lists falls back to the plain ones.
    assert (kept[1].kind, kept[1].importance) == ("skill", "required")
    many_words = "\n".join(f"- Skill{n}" for n in range(60))
    assert len(
        proposals.checked([_item(f"Skill{n}", "", None) for n in range(60)], job_text=many_words, cv_text="")
    ) == (proposals.MAX_REQUIREMENTS)


def test_the_report_scores_against_the_merged_requirements():
    read = _checked(
        _item("Medication administration", "Medication administration and arterial lines", "gave medication"),
        _item("epic", "Knowledge of Epic charting", None, kind="tool"),
        _item("ventilated patients", "Critical care experience with ventilated patients", None, importance="preferred"),
    )
    offline = matching.match_report(job_text=NURSE_JOB, cv_text=NURSE_CV, improved_text=None)

    report = matching.match_report(job_text=NURSE_JOB, cv_text=NURSE_CV, improved_text=None, read=read)

    keywords = report["keywords"]
    details = {detail["term"]: detail for detail in keywords["details"]}
    # Found through the model's checked quote (a synonym), or the CV's own words for the term.
    assert details["Medication administration"]["cv_evidence"] == "Gave medication"
    assert "Medication administration" in keywords["found"]
    assert details["ventilated patients"]["cv_evidence"] == "ventilated patients"
    # The model's kind and importance win; the same term is listed once.
    assert details["ventilated patients"]["importance"] == "preferred"
    assert [term.casefold() for term in keywords["found"] + keywords["missing"]].count("epic") == 1
    # The deterministic extractor's terms are merged in.
    assert set(offline["keywords"]["found"] + offline["keywords"]["missing"]) <= set(details)
    assert set(keywords["found"]) | set(keywords["missing"]) == set(details)
    assert all(detail["cv_evidence"] is None or detail["term"] in keywords["found"] for detail in details.values())


def test_the_improved_cv_keeps_a_requirement_it_shows_in_the_cvs_words():
    read = _checked(_item("Medication administration", "Medication administration", "gave medication"))

    report = matching.match_report(job_text=NURSE_JOB, cv_text=NURSE_CV, improved_text=NURSE_CV, read=read)

    assert report["score_after"] == report["score_before"]


def test_the_rewrite_is_told_which_requirements_the_cv_shows_without_naming_them():
    read = _checked(
        _item("Medication administration", "Medication administration", "gave medication"),
        _item("Epic", "Knowledge of Epic charting", "Epic", kind="tool"),
        _item("arterial lines", "arterial lines", None),
    )

    surfaced = requirements.to_surface(read, NURSE_CV)

    assert [(item.term, item.cv_evidence) for item in surfaced] == [("Medication administration", "Gave medication")]


@pytest.fixture
def nurse(user):
    return QuestionnaireFactory.create(
        user=user, position="ICU Staff Nurse", industry="Healthcare", job_description=NURSE_JOB, resume_text=NURSE_CV
    )


@pytest.fixture
def nurse_model(llm_settings, fake_openai):
    fake_openai.default = Answer(improved_cv=NURSE_IMPROVED, changes=["Added a summary."])
    return fake_openai


def _analyse(questionnaire, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = services.ai_response_create(user=questionnaire.user, questionnaire=questionnaire, prompt="")
    services.ai_response_run(response_id=response.pk)
    response.refresh_from_db()
    assert response.status == "succeeded", response.error
    return response


def _readings(fake_openai):
    """The calls that read a job's terms (each reading may add one call for the CV's evidence)."""
    opening = requirements.TERMS_PROMPT.split(",")[0]
    return [request for request in fake_openai.requirement_requests if request.system_prompt.startswith(opening)]


@pytest.mark.django_db
def test_the_job_is_read_once_per_job_text(
    nurse, nurse_model, fake_openai, enqueued, django_capture_on_commit_callbacks
):
    first = _analyse(nurse, django_capture_on_commit_callbacks)
    second = _analyse(CVQuestionnaire.objects.get(pk=nurse.pk), django_capture_on_commit_callbacks)

    assert len(_readings(fake_openai)) == 1
    assert len(fake_openai.requests) == 2  # the two rewrites
    assert first.match_report["keywords"] == second.match_report["keywords"]
    stored = CVQuestionnaire.objects.get(pk=nurse.pk).job_requirements
    assert stored["job_sha256"] == requirements.digest(Job.of(nurse).text)
    assert {item["term"] for item in stored["requirements"]} >= {"Epic charting", "ACLS certification"}

    questionnaire = CVQuestionnaire.objects.get(pk=nurse.pk)
    services.questionnaire_update(questionnaire=questionnaire, data={"job_description": NURSE_JOB + "- Wound care\n"})
    third = _analyse(CVQuestionnaire.objects.get(pk=nurse.pk), django_capture_on_commit_callbacks)

    assert len(_readings(fake_openai)) == 2
    assert "Wound care" in third.match_report["keywords"]["missing"]
    # Only the job went to the terms call and only the CV and the terms to the evidence call, in data blocks;
    # nothing about the person.
    terms, evidence = fake_openai.requirement_requests[-2:]
    assert "BEGIN JOB (data)" in terms.prompt_text and "BEGIN CV (data)" not in terms.prompt_text
    assert "BEGIN CV (data)" in evidence.prompt_text and "BEGIN REQUIREMENTS (data)" in evidence.prompt_text
    for request in (terms, evidence):
        assert "sam@example.com" not in request.prompt_text and nurse.user.email not in request.prompt_text


@pytest.mark.django_db
@pytest.mark.parametrize(
    "answer",
    [UnusableRequirements(), Status(500), Answer(content="- Zumba\n- Northgate Hospital\n- Requirements")],
    ids=["prose", "server-error", "nothing-of-the-job"],
)
def test_an_unusable_reading_falls_back_to_the_extractor(
    nurse, nurse_model, fake_openai, enqueued, django_capture_on_commit_callbacks, caplog, answer
):
    fake_openai.queue_requirements(answer)

    with caplog.at_level(logging.WARNING, logger="cv.llm.requirements"):
        response = _analyse(nurse, django_capture_on_commit_callbacks)

    offline = matching.match_report(job_text=Job.of(nurse).text, cv_text=NURSE_CV, improved_text=None)
    assert response.match_report["keywords"]["details"] == offline["keywords"]["details"]
    assert response.match_report["score_before"] == offline["score_before"]
    assert CVQuestionnaire.objects.get(pk=nurse.pk).job_requirements is None
    assert "job requirements not read" in caplog.text and "deterministic extractor alone" in caplog.text
    # Nothing was charged for it beyond the analysis's own unit; the next analysis reads again.
    _analyse(CVQuestionnaire.objects.get(pk=nurse.pk), django_capture_on_commit_callbacks)
    assert len(_readings(fake_openai)) == 2


@pytest.mark.django_db
def test_the_rewrite_prompt_names_the_requirements_the_cv_shows(
    nurse, nurse_model, fake_openai, enqueued, django_capture_on_commit_callbacks
):
    fake_openai.queue_requirements(
        Answer(content="Medication administration\narterial lines\nEpic"),
        Answer(content="Medication administration => gave medication\narterial lines => NONE"),
    )

    _analyse(nurse, django_capture_on_commit_callbacks)

    # Epic is in the CV as it is: only the other two of the model's terms were asked about, and after them the
    # extractor's terms that the CV does not name either.
    evidence = fake_openai.requirement_requests[1].prompt_text
    asked = evidence.split("BEGIN REQUIREMENTS (data)\n", 1)[1].split("\nEND REQUIREMENTS (data)", 1)[0]
    assert asked.splitlines()[:2] == ["Medication administration", "arterial lines"]
    assert "Epic" not in asked.splitlines()
    assert len(asked.splitlines()) > 2
    prompt = fake_openai.requests[0].prompt_text
    block = prompt.split("BEGIN SHOWN REQUIREMENTS (data)\n", 1)[1].split("\nEND SHOWN REQUIREMENTS (data)", 1)[0]
    assert block == '- Medication administration: the CV says "Gave medication"'
    assert "name no other requirement of the job that the CV does not show" in prompt


def test_what_the_job_says_of_a_term_is_read_from_the_job_not_the_model():
    job = """Ward Nurse
Northgate Hospital

Requirements:
- Medication administration and arterial lines
- Care for ventilated patients
- BLS certification; ACLS is a plus

Preferred:
- Epic charting

What we offer:
- Free parking and a pension scheme
"""
    items = {
        item["term"]: item
        for item in (
            proposals.proposed(term, proposals.JobText.of(job))
            for term in [
                "arterial lines",
                "ACLS",
                "Epic charting",
                "BLS certification",
                "Care for ventilated patients",  # a duty: it opens with a verb
                "Northgate Hospital",  # the employer
                "Requirements",  # a heading
                "pension scheme",  # what the job offers
                "it",
            ]
        )
        if item is not None
    }

    assert set(items) == {"arterial lines", "ACLS", "Epic charting", "BLS certification"}
    assert items["arterial lines"]["job_quote"] == "Medication administration and arterial lines"
    assert [items[term]["importance"] for term in ("arterial lines", "ACLS", "Epic charting")] == [
        "required",
        "preferred",
        "preferred",
    ]
    assert items["BLS certification"]["kind"] == "credential"


def test_a_line_copied_whole_from_the_job_is_read_as_its_list_of_terms():
    line = "Working knowledge of Epic charting, arterial lines and ACLS certification preferred."

    assert proposals.terms_of(line) == ["Epic charting", "arterial lines", "ACLS certification"]
    assert proposals.terms_of("Medication administration") == ["Medication administration"]
    assert proposals.terms_of("C++.") == ["C++"]


def test_an_answer_cut_off_by_the_output_bound_keeps_the_lines_it_finished(llm_settings, fake_openai):
    text = "- Epic\n- arterial lines\n- ACLS certification"
    fake_openai.queue_requirements(CutOff(content=text, keep=(text.index("ACLS") + 7) / len(text)))

    reading = requirements.read_with_model(job_text=NURSE_JOB, cv_text=NURSE_CV)

    # The model's finished lines come first; the extractor's terms follow; nothing of the cut line is kept.
    terms = [item.term for item in reading.requirements]
    assert terms[:2] == ["Epic", "arterial lines"]
    assert not any(term.startswith("ACLS c") for term in terms)


def test_the_reading_has_its_own_bound_and_asks_for_plain_lines_whatever_the_server_supports(llm_settings, fake_openai):
    llm_settings.LLM_REQUIREMENTS_MAX_TOKENS = 700

    reading = requirements.read_with_model(job_text=NURSE_JOB, cv_text=NURSE_CV)

    terms, evidence = fake_openai.requirement_requests
    for request in (terms, evidence):
        assert request.max_tokens == 700
        assert request.response_format_type is None
        assert "<" not in request.system_prompt
    # The fake answers some terms in lower case: read all the same, as the job writes them.
    assert {"Epic charting", "ACLS certification"} <= {item.term for item in reading.requirements}


@pytest.mark.django_db
def test_without_a_model_nothing_is_read(nurse, enqueued, django_capture_on_commit_callbacks):
    response = _analyse(nurse, django_capture_on_commit_callbacks)

    assert response.model == "offline"
    assert CVQuestionnaire.objects.get(pk=nurse.pk).job_requirements is None


def _body(system, user):
    return {"messages": [{"role": "system", "content": system}, {"role": "user", "content": user}]}


def test_the_fake_answers_like_a_small_model():
    """Plain lines, some terms in another case, the job's first line and a duty among them, and with
    ``invent`` a term and a quote that are in neither text: the checks have something real to refuse."""
    model = ReadsRequirements(invent=True)
    job_text = NURSE_JOB + "- 3+ years on an adult ICU; pay from $38,000\n"
    lines = model.body_for(_body(requirements.TERMS_PROMPT, requirements.terms_message(job_text))).splitlines()

    assert all(line.startswith("- ") for line in lines)
    terms = [line[2:] for line in lines]
    assert "Quantum annealing" in terms and "ICU Staff Nurse, Northgate Hospital" in terms
    assert "3+ years" in terms and "$38,000" in terms
    assert any(term == term.lower() and term.upper() in NURSE_JOB.upper() for term in terms)
    job = proposals.JobText.of(job_text)
    kept = [term for term in terms if proposals.proposed(term, job) is not None]
    assert "Quantum annealing" not in kept and "ICU Staff Nurse, Northgate Hospital" not in kept
    assert "3+ years" not in kept and "$38,000" not in kept
    assert {"medication administration", "arterial lines", "acls certification"} <= {term.casefold() for term in kept}

    answer = model.body_for(
        _body(requirements.EVIDENCE_PROMPT, requirements.evidence_message(NURSE_CV, ["arterial lines", "Epic"]))
    )
    assert answer.splitlines() == ["arterial lines => Ran it in production at Google for five years", "Epic => epic"]
    assert proposals.quotes_of(answer, ["arterial lines", "Epic"]) == {
        "arterial lines": "Ran it in production at Google for five years",
        "Epic": "epic",
    }
    [arterial] = proposals.checked(
        [_item("arterial lines", "", "Ran it in production at Google for five years")],
        job_text=NURSE_JOB,
        cv_text=NURSE_CV,
    )
    assert arterial.cv_evidence is None


def test_a_quote_is_the_cvs_own_characters_and_a_job_quote_the_jobs(llm_settings, fake_openai):
    cv = NURSE_CV.replace("(2019-present)", "(2019 \u2013 present)")
    fake_openai.queue_requirements(
        Answer(content="arterial lines\ncritical care"),
        Answer(content="arterial lines => NONE\ncritical care => Staff Nurse, ICU, Riverside General (2019 - present)"),
    )

    reading = requirements.read_with_model(job_text=NURSE_JOB.replace("-", "\u2022", 1), cv_text=cv)

    quotes = {item.term.casefold(): item.cv_evidence for item in reading.requirements}
    assert quotes["critical care"] == "Staff Nurse, ICU, Riverside General (2019 \u2013 present)"
    assert all(item.cv_evidence is None or item.cv_evidence in cv for item in reading.requirements)


def test_only_the_models_own_terms_are_offered_to_the_rewrite():
    model_term = JobRequirement("arterial lines", "skill", "required", "arterial lines", "ran arterial lines")
    extracted = JobRequirement("critical care", "domain", "required", "Critical care", "Staff Nurse, ICU", False)

    surfaced = requirements.to_surface([model_term, extracted], NURSE_CV.replace("ICU", "ICU; ran arterial lines"))

    # A term the CV names itself needs no surfacing either: "arterial lines" is in this CV as it stands.
    assert surfaced == []
    assert requirements.to_surface([model_term, extracted], NURSE_CV) == [model_term]
