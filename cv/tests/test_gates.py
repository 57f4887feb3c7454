"""The gates' table read directly (the real-worker tests are in test_answer_gates.py): what each gate lets
through and what it stops, on the fixture CV."""

import pytest

from cv.llm import gates
from cv.scoring.completeness import missing_facts
from cv.tests.conftest import FIXTURES, _cv_text
from testing.fake_openai import DEFAULT_IMPROVED_CV

JANE = _cv_text("jane_doe_backend.pdf")
JOB = (FIXTURES / "senior_backend_engineer.txt").read_text()
CONTEXT = gates.Context(kind=gates.CV, source_text=JANE, request_text="Tailor my CV to this job.", job_text=JOB)


def _code(answer: str, context: gates.Context = CONTEXT) -> str | None:
    gate = gates.first_failure(answer, context)
    return gate.error_code if gate else None


def test_a_faithful_rewrite_passes_every_gate():
    assert _code(DEFAULT_IMPROVED_CV) is None
    # An HTML link is no placeholder, and a fence inside the CV is not one around it.
    assert _code(DEFAULT_IMPROVED_CV + '\n\n<a href="https://github.com/janedoe">GitHub</a>') is None
    assert _code(DEFAULT_IMPROVED_CV + "\n\n```\npip install it\n```") is None


@pytest.mark.parametrize(
    ("answer", "code"),
    [
        ("<the complete improved CV in Markdown>", "answer_placeholder"),
        (DEFAULT_IMPROVED_CV.replace("# Jane Doe", "# [Your Name]"), "answer_placeholder"),
        (f"BEGIN CV (data)\n{JANE}\nEND CV (data)", "answer_echoes_prompt"),
        (DEFAULT_IMPROVED_CV + "\n\n## Requirements\n\n" + JOB, "answer_echoes_prompt"),
        (f"{JANE}\n\nTailor my CV to this job.", "answer_echoes_request"),
        (f"```markdown\n{DEFAULT_IMPROVED_CV}\n```", "answer_fenced"),
        (JANE, "answer_unchanged"),
        (JANE.replace("Mentored two junior developers.", "Mentored 2 junior developers."), "answer_unchanged"),
        # Three lines reworded (about 8 % of the words): a word similarity still over 0.9, no rewrite.
        (
            JANE.replace("Mentored two junior developers.", "Coached two junior developers on code review.")
            .replace("Built internal tools in Flask.", "Built and maintained internal tools in Flask.")
            .replace("Helped with the Stripe", "Supported the Stripe"),
            "answer_unchanged",
        ),
        ("# Jane Doe\n\n## Experience\n\n- Backend engineer at Ledgerly Ltd.", "answer_length"),
        ("\n\n".join([DEFAULT_IMPROVED_CV] * 4), "answer_length"),
    ],
)
def test_each_kind_of_junk_is_stopped_by_its_gate(answer, code):
    assert _code(answer) == code


def test_another_language_is_stopped_and_the_correction_names_the_cvs():
    german = (
        "Ich bin eine Backend-Entwicklerin und ich arbeite seit 6 Jahren mit Python. Bei Ledgerly Ltd war ich "
        "für die Zahlungs-API und das Schema der Datenbank zuständig, und ich habe die Aufgaben von cron auf "
        "Celery umgestellt. Bei ShopWave habe ich die Werkzeuge mit Flask gebaut und die Tests mit pytest "
        "geschrieben. Ich habe auch die Docker-Images und die CI-Pipeline gepflegt, und ich bin mit dem Team "
        "in London. "
    ) * 2
    gate = gates.first_failure(german, CONTEXT)
    assert gate is not None and gate.error_code == "answer_language"
    assert gates.correction_for(gate, CONTEXT).endswith("Write it in English.")
    assert gates.language_of(JANE) == "en" and gates.language_of(german) == "de"
    # Too few stop words to tell: no verdict, no gate.
    assert gates.language_of("Python, Django, PostgreSQL") is None


def test_the_edit_distance_is_exact_up_to_its_bound_and_none_beyond():
    assert gates.bounded_distance(list("kitten"), list("sitting"), 10) == 5
    assert gates.bounded_distance(list("abc"), list("abc"), 0) == 0
    assert gates.bounded_distance(list("abcdef"), list("uvwxyz"), 5) is None
    # Two long texts that differ everywhere stop at the bound instead of filling a table of their lengths.
    words_a, words_b = [f"a{i}" for i in range(20_000)], [f"b{i}" for i in range(20_000)]
    assert gates.bounded_distance(words_a, words_b, 300) is None


def test_a_letter_is_judged_against_the_length_asked_for():
    context = gates.Context(kind=gates.LETTER, source_text=JANE, job_text=JOB, words_asked=300)
    assert _code("Dear team, I am applying. Jane", context) == "answer_length"
    # The request and unchanged gates are the CV's: a letter may well repeat the person's words.
    assert gates.first_failure(f"{JANE}\n\nTailor my CV to this job.", context) is None


def test_every_gate_has_its_own_code():
    assert len(set(gates.ERROR_CODES)) == len(gates.GATES)
    assert all(code.startswith("answer_") for code in gates.ERROR_CODES)


def test_completeness_lists_what_a_rewrite_lost_and_respects_a_request_to_drop_it():
    dropped = DEFAULT_IMPROVED_CV.split("### Software Engineer, ShopWave")[0]
    assert missing_facts(source_text=JANE, improved_text=DEFAULT_IMPROVED_CV) == ()
    lost = {(fact.kind, fact.text) for fact in missing_facts(source_text=JANE, improved_text=dropped)}
    assert lost == {
        ("date", "2018-2021"),
        ("organisation", "ShopWave"),
        ("credential", "BSc Computer Science"),
        ("date", "2014-2018"),
        ("organisation", "University of Leeds"),
    }
    kept_school = (
        dropped + "\n\n## Education\n\nBachelor of Science in Computer Science, University of Leeds (2014 - 2018)"
    )
    assert (
        missing_facts(source_text=JANE, improved_text=kept_school, request_text="Please leave out the ShopWave job.")
        == ()
    )
