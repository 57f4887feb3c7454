"""The bounds on a CV's text (cv.intake.limits): pinned at their limits, enforced where a CV text enters (an uploaded
CV, the model's answer for an analysis or a letter), and the work on a text within them stays proportional to
it (the Word export of a large table, the diff of many repeated lines, control characters in an export)."""

import difflib
import io
import json
import os
import time

import docx
import docx.table
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from core.models import QuotaUsage
from cv.intake import limits
from cv.intake.limits import CVTextOutOfBounds
from cv.models import AIResponse, CoverLetter, CVQuestionnaire
from cv.scoring.job import Job
from cv.tests.factories import AIResponseFactory, QuestionnaireFactory
from testing.fake_openai import DEFAULT_IMPROVED_CV, Answer, MarkdownCV
from testing.workers import llm_worker_fixtures

DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
BOUNDS_QUEUE = f"cv-test-bounds-{os.getpid()}"
WAIT_SECONDS = 45


def _table(rows: int, columns: int) -> str:
    """A Markdown table of ``rows`` rows (the header counted) and ``columns`` columns; cell r{row}c{column}."""
    header = "| " + " | ".join(f"Skill {column}" for column in range(columns)) + " |"
    delimiter = "|" + "---|" * columns
    body = ["| " + " | ".join(f"r{row}c{column}" for column in range(columns)) + " |" for row in range(1, rows)]
    return "\n".join([header, delimiter, *body])


def _refused(text: str) -> CVTextOutOfBounds:
    with pytest.raises(CVTextOutOfBounds) as refused:
        limits.check_cv_text(text)
    return refused.value


def _lines_of(length: int, count: int = 3) -> str:
    line = ("word " * (length // 5 + 1))[:length]
    return "\n".join([line] * count)


# (the largest text a bound accepts, the smallest it refuses, the code, the message of the refusal)
BOUNDS = {
    "word": ("x" * 200, "x" * 201, "cv_word_too_long", "A word in the CV is 201 characters long; the limit is 200."),
    "line": (
        _lines_of(2000),
        _lines_of(2001),
        "cv_line_too_long",
        "A line in the CV is 2,001 characters long; the limit is 2,000.",
    ),
    "text": (
        _lines_of(1999, 30) + "\n",
        _lines_of(1999, 30) + "\ny",
        "cv_text_too_long",
        "The CV is 60,001 characters long; the limit is 60,000.",
    ),
    "table_rows": (
        _table(200, 12),
        _table(201, 12),
        "cv_table_too_many_rows",
        "A table in the CV has 201 rows; the limit is 200.",
    ),
    "table_columns": (
        _table(3, 12),
        _table(3, 13),
        "cv_table_too_many_columns",
        "A table in the CV has 13 columns; the limit is 12.",
    ),
}


@pytest.mark.parametrize("bound", sorted(BOUNDS))
def test_each_bound_accepts_its_limit_and_refuses_one_more(bound):
    largest, refused, code, message = BOUNDS[bound]

    limits.check_cv_text(largest)
    error = _refused(refused)

    assert error.code == code
    assert error.detail == message
    assert error.status_code == 400
    assert error.as_dict() == {"detail": message, "code": code, "limit": error.limit, "actual": error.actual}


def test_bounds_are_read_from_settings_when_checked(settings):
    settings.CV_MAX_WORD_CHARS = 20

    assert _refused("a" * 21).detail == "A word in the CV is 21 characters long; the limit is 20."


def test_the_most_specific_bound_is_named_and_table_cells_and_link_targets_are_words_of_their_own():
    # One 94,000-character word is also a long line and a long text: the word is what the person must fix.
    assert _refused("Jane Doe\n" + "x" * 94_000).code == "cv_word_too_long"
    compact_row = "|" + "|".join("Python,Django,PostgreSQL" for _ in range(12)) + "|"
    limits.check_cv_text("\n".join([compact_row, "|" + "---|" * 12, compact_row]))
    url = "https://www.linkedin.com/in/jane-doe-backend-engineer-1234567890/?originalSubdomain=uk&trk=profile"
    limits.check_cv_text(f"[{url}]({url})")


def _word_cv(long_word: str) -> bytes:
    document = docx.Document()
    document.add_heading("Jane Doe", level=1)
    document.add_paragraph("Backend engineer with six years of experience in Python and Django.")
    document.add_paragraph(long_word)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _used(user, scope: str) -> int:
    row = QuotaUsage.objects.filter(user=user, scope=scope).first()
    return row.used if row else 0


def _stored_files(media) -> list:
    return [p for p in media.rglob("*") if p.is_file()] if media.exists() else []


@pytest.mark.django_db
def test_a_word_cv_holding_one_huge_word_is_refused_at_upload_and_nothing_is_stored(api_client, user, tmp_media):
    upload = SimpleUploadedFile("cv.docx", _word_cv("x" * 94_000), content_type=DOCX_TYPE)

    response = api_client.post(
        "/cv/questionnaire/", {"position": "Backend Engineer", "resume": upload}, format="multipart"
    )

    assert response.status_code == 400, response.content
    assert response.json() == {
        "detail": "A word in the CV is 94,000 characters long; the limit is 200.",
        "code": "cv_word_too_long",
        "limit": 200,
        "actual": 94_000,
    }
    assert not CVQuestionnaire.objects.exists()
    assert _stored_files(tmp_media) == []
    # As for any file that was parsed and refused: the upload unit counts the attempt, the questionnaire's does not.
    assert _used(user, "uploads") == 1
    assert _used(user, "questionnaires") == 0


@pytest.mark.django_db
def test_a_new_cv_past_the_bounds_leaves_the_questionnaire_and_its_cv_as_they_were(api_client, user, tmp_media):
    good = SimpleUploadedFile("cv.docx", _word_cv("Python, Django and PostgreSQL."), content_type=DOCX_TYPE)
    created = api_client.post(
        "/cv/questionnaire/", {"position": "Backend Engineer", "resume": good}, format="multipart"
    )
    assert created.status_code == 201, created.content
    before = CVQuestionnaire.objects.get(pk=created.json()["id"])

    bad = SimpleUploadedFile("cv.docx", _word_cv("y" * 5_000), content_type=DOCX_TYPE)
    response = api_client.patch(f"/cv/questionnaire/{before.pk}/", {"resume": bad}, format="multipart")

    assert response.status_code == 400, response.content
    assert response.json()["code"] == "cv_word_too_long"
    after = CVQuestionnaire.objects.get(pk=before.pk)
    assert (after.resume.name, after.resume_text) == (before.resume.name, before.resume_text)
    assert len(_stored_files(tmp_media)) == 1


@pytest.mark.django_db
def test_a_pdf_cv_with_a_line_past_the_bound_is_refused_at_upload(api_client, user, tmp_media):
    import weasyprint

    skills = " ".join(f"skill{number}" for number in range(400))
    pdf = weasyprint.HTML(
        string="<h1>Jane Doe</h1><p>Backend engineer with six years of experience in Python and Django.</p>"
        f'<p style="white-space: nowrap; font-size: 1pt">{skills}</p>'
    ).write_pdf()
    upload = SimpleUploadedFile("cv.pdf", pdf, content_type="application/pdf")

    response = api_client.post(
        "/cv/questionnaire/", {"position": "Backend Engineer", "resume": upload}, format="multipart"
    )

    assert response.status_code == 400, response.content
    body = response.json()
    assert (body["code"], body["limit"]) == ("cv_line_too_long", 2000)
    assert body["detail"] == f"A line in the CV is {body['actual']:,} characters long; the limit is 2,000."
    assert not CVQuestionnaire.objects.exists()
    assert _stored_files(tmp_media) == []
    assert _used(user, "uploads") == 1


@pytest.mark.django_db
def test_a_cv_whose_text_was_cut_where_it_was_read_is_refused_as_more_than_that(api_client, user, tmp_media, settings):
    import weasyprint

    # Reading 100,000 characters of PDF takes seconds on a busy machine: the test is about the answer, not the
    # time limit.
    settings.CV_EXTRACT_TIMEOUT = 60

    skills = " ".join(f"skill{number}" for number in range(14_000))
    pdf = weasyprint.HTML(string=f'<h1>Jane Doe</h1><p style="font-size: 2pt">{skills}</p>').write_pdf()
    upload = SimpleUploadedFile("cv.pdf", pdf, content_type="application/pdf")

    response = api_client.post(
        "/cv/questionnaire/", {"position": "Backend Engineer", "resume": upload}, format="multipart"
    )

    assert response.status_code == 400, response.content
    assert response.json() == {
        "detail": "The CV is more than 100,000 characters long; the limit is 60,000.",
        "code": "cv_text_too_long",
        "limit": 60_000,
        "actual": 100_000,
    }
    assert not CVQuestionnaire.objects.exists()


def test_an_answer_past_a_bound_cannot_be_read_as_an_improved_cv():
    from cv.llm.answers import read_cv_answer
    from cv.llm.errors import LLMPermanentError

    improved = "# Jane Doe\n\n## Skills\n\n" + _table(201, 3)
    with pytest.raises(LLMPermanentError) as refused:
        read_cv_answer(json.dumps({"improved_cv": improved, "changes": []}))

    assert refused.value.code == "answer_table_too_many_rows"
    assert "A table in the AI's answer has 201 rows; the limit is 200." in refused.value.message
    assert refused.value.refund is True


@pytest.mark.django_db
def test_a_repair_past_the_bounds_is_not_stored_and_the_first_answer_stays(
    questionnaire_with_cv, llm_settings, fake_openai, enqueued, django_capture_on_commit_callbacks
):
    from cv import services

    # A complete rewrite with one invented line, then a repair that is complete too but holds a word past the
    # bounds: only the bound refuses the repair (no gate or completeness check does).
    invented = DEFAULT_IMPROVED_CV.replace(
        "- Mentored two junior developers.",
        "- Mentored two junior developers.\n- Built the payments API on Kubernetes at Monzo.",
    )
    fake_openai.queue(Answer(improved_cv=invented), Answer(improved_cv=f"{DEFAULT_IMPROVED_CV}\n\n{'z' * 1_000}"))
    with django_capture_on_commit_callbacks(execute=True):
        response = services.ai_response_create(
            user=questionnaire_with_cv.user, questionnaire=questionnaire_with_cv, prompt=""
        )

    services.ai_response_run(response_id=response.pk)

    response.refresh_from_db()
    assert len(fake_openai.requests) == 2
    assert response.status == "succeeded"
    assert response.improved_cv == invented
    assert response.verification["status"] == "flagged"


@pytest.fixture
def succeeded(user):
    def make(improved_cv: str) -> AIResponse:
        return AIResponseFactory.create(
            questionnaire=QuestionnaireFactory.create(user=user, position="Senior Backend Engineer"),
            status="succeeded",
            improved_cv=improved_cv,
            model="fake-model",
        )

    return make


@pytest.mark.django_db
def test_word_export_of_the_largest_table_has_every_cell_and_builds_the_cell_list_once(
    api_client, succeeded, monkeypatch
):
    response = succeeded("# Jane Doe\n\n## Skills\n\n" + _table(150, 12) + "\n")
    builds = []
    cells = docx.table.Table.__dict__["_cells"]

    def counted(table):
        builds.append(table)
        return cells.__get__(table)

    # python-docx builds the list of every cell of a table on each Table.cell(): asked once per cell, the export
    # was quadratic (a minute for this table). The list is built at most once per table.
    monkeypatch.setattr(docx.table.Table, "_cells", property(counted))

    answer = api_client.get(f"/cv/ai-responses/{response.pk}/export/?format=docx")

    assert answer.status_code == 200
    assert len(builds) <= 1
    monkeypatch.undo()
    [table] = docx.Document(io.BytesIO(answer.content)).tables
    texts = [[cell.text for cell in row.cells] for row in table.rows]
    assert texts[0] == [f"Skill {column}" for column in range(12)]
    assert texts[1:] == [[f"r{row}c{column}" for column in range(12)] for row in range(1, 150)]
    assert all(run.bold for cell in table.rows[0].cells for run in cell.paragraphs[0].runs)
    for fmt in ("md", "txt", "json"):
        assert api_client.get(f"/cv/ai-responses/{response.pk}/export/?format={fmt}").status_code == 200


@pytest.mark.django_db
def test_word_export_of_thousands_of_bullets_and_links_adds_each_block_and_link_without_a_search(
    api_client, succeeded, monkeypatch
):
    from docx.opc.rel import Relationships
    from docx.oxml.document import CT_Body

    bullets = [f"- [Project {n}](https://example.com/p/{n % 500}) in Python" for n in range(1000)]
    response = succeeded("# Jane Doe\n\n## Projects\n\n" + "\n".join(bullets) + "\n")
    searches = []
    insert_p, next_rid = CT_Body._insert_p, Relationships.__dict__["_next_rId"]

    def counted_insert(body, p):
        searches.append("block")
        return insert_p(body, p)

    def counted_rid(rels):
        searches.append("relationship")
        return next_rid.__get__(rels)

    # python-docx's add_paragraph looks through every block of the body for the end of the document, and
    # relate_to through every relationship for a free id: once per bullet and link, a long CV took seconds.
    monkeypatch.setattr(CT_Body, "_insert_p", counted_insert)
    monkeypatch.setattr(Relationships, "_next_rId", property(counted_rid))

    answer = api_client.get(f"/cv/ai-responses/{response.pk}/export/?format=docx")

    assert answer.status_code == 200
    assert searches == []
    monkeypatch.undo()
    document = docx.Document(io.BytesIO(answer.content))
    items = [p for p in document.paragraphs if p.style.name == "List Bullet"]
    assert [p.text for p in items] == [f"Project {n} in Python" for n in range(1000)]
    # Each link points at its own URL; a URL used twice is one relationship.
    targets = {rel.rId: rel.target_ref for rel in document.part.rels.values() if rel.is_external}
    assert sorted(set(targets.values())) == sorted(f"https://example.com/p/{n}" for n in range(500))
    ids = [link.get(docx.oxml.ns.qn("r:id")) for p in items for link in p._p.findall(docx.oxml.ns.qn("w:hyperlink"))]
    assert [targets[rid] for rid in ids] == [f"https://example.com/p/{n % 500}" for n in range(1000)]


@pytest.mark.django_db
def test_an_export_is_built_once_for_the_same_content(api_client, succeeded, monkeypatch):
    from cv.outputs import exports

    builds = []
    build = exports.docx_from_blocks

    def counted(*args, **kwargs):
        builds.append(args)
        return build(*args, **kwargs)

    monkeypatch.setattr(exports, "docx_from_blocks", counted)
    first = succeeded("# Jane Doe\n\n## Skills\n\n- Python\n")
    same = succeeded("# Jane Doe\n\n## Skills\n\n- Python\n")
    other = succeeded("# Jane Doe\n\n## Skills\n\n- Python and Django\n")

    answers = [
        api_client.get(f"/cv/ai-responses/{response.pk}/export/?format=docx")
        for response in (first, first, same, other)
    ]

    assert [answer.status_code for answer in answers] == [200] * 4
    assert answers[0].content == answers[1].content == answers[2].content != answers[3].content
    assert len(builds) == 2


@pytest.mark.django_db
@pytest.mark.parametrize("fmt", ["docx", "md", "txt", "json"])
def test_export_drops_characters_a_file_format_cannot_hold(api_client, succeeded, fmt):
    response = succeeded(
        "# Jane\x01 Doe\n\n## Skills\n\n- Python\x0b and Django\n\n| Tool | Years |\n|---|---|\n| Redis\x1f | 4 |\n"
    )

    answer = api_client.get(f"/cv/ai-responses/{response.pk}/export/?format={fmt}")

    assert answer.status_code == 200, answer.content
    if fmt == "docx":
        document = docx.Document(io.BytesIO(answer.content))
        text = "\n".join(p.text for p in document.paragraphs)
        assert "Jane Doe" in text and "Python and Django" in text
        assert document.tables[0].rows[1].cells[0].text == "Redis"
    else:
        text = answer.content.decode()
        assert "Jane Doe" in text and "Python and Django" in text
    assert not any(ch in text for ch in "\x01\x0b\x1f")


@pytest.mark.django_db
def test_diff_of_a_cv_of_1000_repeated_lines_is_whole_and_difflib_only_sees_small_stretches(
    api_client, user, monkeypatch
):
    questionnaire = QuestionnaireFactory.create(user=user, resume_text="\n".join(["Built APIs in Python"] * 1000))
    improved = "\n".join(["- Built APIs in Python", "- Wrote tests for them"] * 500)
    response = AIResponseFactory.create(questionnaire=questionnaire, status="succeeded", improved_cv=improved)
    sizes = []

    class Measured(difflib.SequenceMatcher):
        def __init__(self, isjunk=None, a="", b="", autojunk=True):
            sizes.append(len(a) * len(b))
            super().__init__(isjunk, a, b, autojunk)

    # difflib's cost grows with the product of the two sides (1,000 x 1,000 lines took seconds); the diff hands
    # it only stretches of at most 10,000 line pairs.
    monkeypatch.setattr(difflib, "SequenceMatcher", Measured)

    answer = api_client.get(f"/cv/ai-responses/{response.pk}/diff/")

    assert answer.status_code == 200
    assert sizes and max(sizes) <= 10_000
    body = answer.json()
    assert [line["text"] for line in body["lines"] if line["op"] != "insert"] == ["Built APIs in Python"] * 1000
    assert [line["text"] for line in body["lines"] if line["op"] != "delete"] == [
        "Built APIs in Python",
        "Wrote tests for them",
    ] * 500
    assert body["stats"] == {
        "unchanged": 500,
        "inserted": 500,
        "deleted": 500,
        "lines_before": 1000,
        "lines_after": 1000,
        "similarity": 0.5,
    }


bounds_fake, bounds_worker, fake = llm_worker_fixtures(
    name="cv-bounds",
    queue=BOUNDS_QUEUE,
    server="bounds_fake",
    worker="bounds_worker",
    CV_TEST_OPENAI_TIMEOUT="2",
    CV_TEST_OPENAI_MAX_ATTEMPTS="3",
    CV_TEST_RETRY_BASE_SECONDS="0.2",
)


def _wait(client, url: str) -> dict:
    deadline = time.monotonic() + WAIT_SECONDS
    body: dict = {}
    while time.monotonic() < deadline:
        body = client.get(url).json()
        if body.get("status") in ("succeeded", "failed"):
            return body
        # Slow enough to stay inside the Free plan's API calls per hour.
        time.sleep(0.5)
    raise AssertionError(f"{url} still {body.get('status')} after {WAIT_SECONDS} s")


ANSWERS = {
    "json_with_a_huge_word": (
        Answer(improved_cv="# Jane Doe\n\n## Summary\n\n" + "A" * 5_000 + "\n\n## Skills\n\nPython"),
        "answer_word_too_long",
        "A word in the AI's answer is 5,000 characters long; the limit is 200.",
    ),
    "markdown_with_a_huge_table": (
        MarkdownCV(improved_cv="# Jane Doe\n\n## Summary\n\nBackend engineer.\n\n## Skills\n\n" + _table(250, 2)),
        "answer_table_too_many_rows",
        "A table in the AI's answer has 250 rows; the limit is 200.",
    ),
}


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("case", sorted(ANSWERS))
def test_an_answer_past_the_bounds_is_never_stored_and_the_unit_goes_back(
    fake, api_client, user, questionnaire_with_cv, case
):
    answer, code, words = ANSWERS[case]
    fake.queue(answer)

    accepted = api_client.post("/cv/ai-responses/", {"questionnaire": questionnaire_with_cv.pk}, format="json")
    assert accepted.status_code == 202, accepted.content
    body = _wait(api_client, f"/cv/ai-responses/{accepted.json()['id']}/")

    assert body["status"] == "failed"
    assert words in body["error"]
    assert body["improved_cv"] == "" and body["match_report"] is None
    assert AIResponse.objects.get(pk=body["id"]).error_code == code
    assert _used(user, "ai_responses") == 0
    # A permanent failure: the model was asked once, not again and again.
    assert len([request for request in fake.requests if not request.refused]) == 1


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_letter_past_the_bounds_is_never_stored_and_the_unit_goes_back(fake, api_client, user, questionnaire_with_cv):
    analysis = AIResponseFactory.create(
        questionnaire=questionnaire_with_cv,
        status="succeeded",
        improved_cv="# Jane Doe\n\n## Experience\n\n- Built APIs in Python.",
    )
    fake.queue(Answer(content=json.dumps({"letter": "Dear Hiring Manager,\n\n" + "b" * 3_000})))

    accepted = api_client.post(f"/cv/ai-responses/{analysis.pk}/cover-letter/", {}, format="json")
    assert accepted.status_code == 202, accepted.content
    body = _wait(api_client, f"/cv/cover-letters/{accepted.json()['id']}/")

    assert body["status"] == "failed"
    assert "A word in the letter is 3,000 characters long; the limit is 200." in body["error"]
    assert body["letter"] == ""
    assert CoverLetter.objects.get(pk=body["id"]).error_code == "answer_word_too_long"
    assert _used(user, "ai_responses") == 0


def test_tables_are_counted_as_markdown_reads_them():
    text = "\n".join(
        [
            "| Skill | Years | Notes \\| more |",
            "|---|:---:|---|",
            "| Python | 6 | daily |",
            "| SQL | 5 |",
            "",
            "Not a table | even with a pipe",
            "Skill | Years",
            "--- | ---",
            "Django | 4",
            "## Next section",
            "| a |",
        ]
    )

    assert limits.markdown_tables(text.splitlines()) == [(3, 3), (2, 2)]


@pytest.mark.parametrize(
    "cv_text",
    [
        # A summary of 80 short lines in lower case: the offline analyser joins wrapped lines.
        "Jane Doe\njane@doe.dev\n\nSummary\n"
        + "\n".join("worked on backend systems and data" for _ in range(80))
        + "\n\nExperience\n- Did things 2019 - 2021\n",
        # Short lines near the text bound: each re-laid line gains a list marker.
        "Jane Doe\njane@doe.dev\n\nSkills\n" + "\n".join(f"Skill{i:05d}" for i in range(5400)),
    ],
    ids=["joined-summary", "markers-past-length"],
)
def test_the_offline_analysers_cv_stays_within_the_bounds_the_upload_passed(cv_text):
    """What the offline analyser re-lays is rendered and exported: it must never exceed the bounds its upload
    passed, or generate-pdf would refuse an analysis the person already paid for."""
    from cv.llm import offline

    limits.check_cv_text(cv_text)
    result = offline.analyse(
        job=Job.from_fields({"position": "Engineer", "job_description": "Python"}), cv_text=cv_text, prompt=""
    )

    limits.check_cv_text(offline.cv_part(model=offline.MODEL_NAME, improved_cv=result.improved_cv_markdown))


@pytest.mark.parametrize("prefix,indent", [("> ", "> "), ("- ", "  "), ("> - ", ">   ")], ids=["quote", "list", "both"])
def test_a_table_inside_a_quote_or_a_list_item_is_held_to_the_table_bounds(settings, prefix, indent):
    rows = settings.CV_MAX_TABLE_ROWS + 1
    table = [f"{prefix}| a | b |", f"{indent}|---|---|"] + [f"{indent}| x | y |"] * rows

    with pytest.raises(CVTextOutOfBounds) as refused:
        limits.check_cv_text("# Jane Doe\n\n" + "\n".join(table))

    assert (
        refused.value.detail == f"A table in the CV has {rows + 1:,} rows; the limit is {settings.CV_MAX_TABLE_ROWS:,}."
    )
