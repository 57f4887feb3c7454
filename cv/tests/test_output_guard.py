"""The guard every model output passes before it is stored (cv.output_guard): contact details and link targets
are the person's own, a link's text and target agree, and our instructions do not leak into the CV."""

import json
from pathlib import Path

import pytest

from cv import llm
from cv.claims import Claim
from cv.cv_document import parse
from cv.output_guard import OutputGuard, OwnContacts, guard_contacts, guard_instructions

FIXTURES = Path(__file__).parent / "fixtures"
OWN = "Jane Doe\njane.doe@example.com · +44 20 7946 0958 · London, UK · github.com/janedoe\n"


def guard(text: str, request: str = "") -> tuple[str, set[str]]:
    guarded = guard_contacts(text, OwnContacts.of(OWN, request))
    assert all(claim.kind == "contact" for claim in guarded.unsupported)
    return guarded.text, {claim.text for claim in guarded.unsupported}


def links(markdown: str) -> list[str]:
    return [run.link for block in parse(markdown) for run in block.runs if run.link]


@pytest.mark.parametrize(
    "line",
    [
        "Jane.Doe@Example.com | +44 (0)20 7946 0958 | https://www.GitHub.com/janedoe/",
        "jane.doe@example.com · 020 7946 0958 · http://github.com/janedoe",
        "0044 20-7946-0958 · [github.com/janedoe](https://github.com/janedoe)",
        "[Email me](mailto:JANE.DOE@example.com) · [GitHub](https://github.com/janedoe/) · <jane.doe@example.com>",
        "[+44 20 7946 0958](tel:+442079460958) · <https://github.com/janedoe>",
        # Names that look like hosts, dates and figures are neither addresses nor phone numbers.
        "Booking.com, ASP.NET and Node.js; 2014 - 2018 2019; 1,200 requests per second",
    ],
)
def test_the_persons_own_details_however_written_pass_unchanged(line):
    text = f"# Jane Doe\n\n{line}\n\n## Skills\n\nPython"
    assert guard(text) == (text, set())


def test_other_contact_details_are_replaced_by_the_persons_own_and_reported():
    text, flagged = guard("# Jane Doe\n\ncareers@evil.example · +1 415 555 0199 · London, UK · evil.example/jane\n")

    assert text == "# Jane Doe\n\njane.doe@example.com · +44 20 7946 0958 · London, UK\n"
    assert flagged == {"careers@evil.example", "+1 415 555 0199", "evil.example/jane"}


def test_a_second_address_next_to_the_persons_own_is_removed_not_doubled():
    text, flagged = guard("jane.doe@example.com · Email: hr@evil.example\n\nCall +1 415 555 0199 or 020 7946 0958.")

    assert text == "jane.doe@example.com\n\nCall or 020 7946 0958."
    assert flagged == {"hr@evil.example", "+1 415 555 0199"}


def test_a_url_on_the_persons_host_becomes_theirs():
    text, flagged = guard("Code: github.com/attacker")

    assert text == "Code: github.com/janedoe"
    assert flagged == {"github.com/attacker"}


def test_the_request_may_add_contact_details():
    text = "jane@newmail.example · linkedin.com/in/jane-doe"
    assert guard(text, request="My new email is jane@newmail.example, add linkedin.com/in/jane-doe") == (text, set())


def test_a_link_whose_text_shows_another_address_gets_the_persons_own_target():
    text, flagged = guard("[github.com/janedoe](https://evil.example/janedoe) · [Mail](mailto:hr@evil.example)")

    assert text == "[github.com/janedoe](https://github.com/janedoe) · Mail"
    assert links(text) == ["https://github.com/janedoe"]
    assert flagged == {"https://evil.example/janedoe", "mailto:hr@evil.example"}


def test_a_link_to_the_persons_address_with_another_address_as_its_text_shows_theirs():
    text, flagged = guard("[linkedin.com/in/janedoe](https://github.com/janedoe)")

    assert links(text) == []
    assert "linkedin.com" not in text
    assert "linkedin.com/in/janedoe" in flagged


def test_a_link_to_another_address_keeps_its_words_only():
    text, flagged = guard(
        "See my [portfolio](https://evil.example/p 'title') and ![photo](https://evil.example/x.png)."
    )

    assert text == "See my portfolio and photo."
    assert flagged == {"https://evil.example/p", "https://evil.example/x.png"}


def test_reference_links_and_autolinks_to_other_addresses_are_removed():
    markdown = "My [profile][1] and [GitHub][gh], or <https://evil.example/x>.\n\n[1]: https://evil.example/me\n[gh]: https://github.com/janedoe\n"

    text, flagged = guard(markdown)

    assert links(text) == ["https://github.com/janedoe"]
    assert "evil.example" not in text
    assert flagged == {"https://evil.example/me", "https://evil.example/x"}


@pytest.mark.parametrize(
    "markdown",
    [
        "[[linkedin]](https://evil.example/a)",
        "[my\nprofile](https://evil.example/b)",
        "[profile](<https://evil.example/c d>)",
        "[profile](ftp://evil.example/d)",
    ],
)
def test_link_syntax_the_patterns_do_not_read_links_nothing_foreign(markdown):
    text, flagged = guard(markdown)

    assert links(text) == []
    assert "evil.example" not in text
    assert flagged


@pytest.mark.parametrize(
    "markdown",
    ["Write to careers&#64;evil&#46;example", "Write to careers\\@evil.example", "Call +1&#32;415 555 0199"],
)
def test_an_address_spelled_with_entities_or_escapes_is_read_as_a_reader_sees_it(markdown):
    text, flagged = guard(f"jane.doe@example.com · +44 20 7946 0958\n\n{markdown}")

    shown = parse(text)
    assert "evil" not in " ".join(block.text for block in shown) and "415" not in text
    assert flagged


def test_the_labelled_rewrites_pass_the_guard_unchanged(jane_cv_text, john_cv_text, backend_job, marketing_job):
    cases = json.loads((FIXTURES / "verification" / "rewrites.json").read_text())["cases"]
    sources = {"jane": (jane_cv_text, backend_job), "john": (john_cv_text, marketing_job)}
    for case in cases:
        cv_text, job = sources[case["cv"]]
        fields = {"position": "Engineer", "job_description": job}
        messages = llm.build_messages(questionnaire_fields=fields, cv_text=cv_text, prompt=case["request"])
        output_guard = OutputGuard.for_person(
            cv_text=cv_text,
            request_text=case["request"],
            instructions=[m["content"] for m in messages],
            data=list(fields.values()),
        )
        guarded = output_guard.apply(case["improved"])
        assert (guarded.text, guarded.unsupported) == (case["improved"], ()), case["id"]


def test_lines_repeating_the_instructions_are_removed_and_counted_without_quoting_them(jane_cv_text, backend_job):
    fields = {"position": "Engineer", "job_description": backend_job}
    messages = llm.build_messages(questionnaire_fields=fields, cv_text=jane_cv_text, prompt="")
    cv = "# Jane Doe\n\n## Skills\n\nPython, Django\n\n## Notes\n\n" + messages[0]["content"]

    guarded = guard_instructions(cv, instructions=[m["content"] for m in messages], data=[jane_cv_text, backend_job])

    assert guarded.text.startswith("# Jane Doe\n\n## Skills\n\nPython, Django\n\n## Notes")
    for line in messages[0]["content"].splitlines():
        if len(line.split()) >= 6:
            assert line not in guarded.text
    (claim,) = guarded.unsupported
    assert claim.kind == "instructions" and "recruiter" not in claim.text


def test_the_cv_and_the_job_are_data_not_instructions(jane_cv_text, backend_job):
    fields = {"position": "Engineer", "job_description": backend_job}
    messages = llm.build_messages(questionnaire_fields=fields, cv_text=jane_cv_text, prompt="")
    # Lines copied word for word from the CV and from the job description: both were in the message sent.
    cv_line = next(line for line in jane_cv_text.splitlines() if len(line.split()) >= 8)
    job_line = next(line for line in backend_job.splitlines() if len(line.split()) >= 8)
    text = f"# Jane Doe\n\n{cv_line}\n\n{job_line}"

    guarded = guard_instructions(text, instructions=[m["content"] for m in messages], data=[jane_cv_text, backend_job])

    assert guarded.text == text and guarded.unsupported == ()


def test_a_change_that_names_another_address_is_corrected():
    output_guard = OutputGuard.for_person(cv_text=OWN, request_text="")

    changes, found = output_guard.apply_to_changes(["Updated the email to hr@evil.example.", "Added a summary."])

    assert changes == ["Updated the email to jane.doe@example.com.", "Added a summary."]
    assert found == (Claim("contact", "hr@evil.example"),)
