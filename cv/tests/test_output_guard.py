"""The guard every model output passes before it is stored (cv.llm.output_guard): contact details and link targets
are the person's own, a link's text and target agree, and our instructions do not leak into the CV."""

import json
import sys
import unicodedata
from pathlib import Path

import pytest

from cv.llm import contacts, output_guard
from cv.llm.contacts import OwnContacts
from cv.llm.output_guard import OutputGuard, guard_contacts, guard_instructions
from cv.llm.prompt import build_messages
from cv.scoring.job import Job
from cv.scoring.verdict import Claim
from cv.text.cv_document import parse

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
        # Dates and figures are not phone numbers.
        "Node.js; 2014 - 2018 2019; 1,200 requests per second",
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
    "markdown, foreign",
    [
        ("Write to careers&#64;evil&#46;example", "evil"),
        ("Write to careers\\@evil.example", "evil"),
        ("Call +1&#32;415 555 0199", "415"),
    ],
)
def test_an_address_spelled_with_entities_or_escapes_is_read_as_a_reader_sees_it(markdown, foreign):
    text, flagged = guard(f"jane.doe@example.com · +44 20 7946 0958\n\n{markdown}")

    assert foreign in markdown
    assert foreign not in " ".join(block.text for block in parse(text)) and foreign not in text
    assert flagged


def test_the_labelled_rewrites_pass_the_guard_unchanged(jane_cv_text, john_cv_text, backend_job, marketing_job):
    cases = json.loads((FIXTURES / "verification" / "rewrites.json").read_text())["cases"]
    sources = {"jane": (jane_cv_text, backend_job), "john": (john_cv_text, marketing_job)}
    for case in cases:
        cv_text, job = sources[case["cv"]]
        fields = {"position": "Engineer", "job_description": job}
        messages = build_messages(job=Job.from_fields(fields), cv_text=cv_text, prompt=case["request"])
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
    messages = build_messages(job=Job.from_fields(fields), cv_text=jane_cv_text, prompt="")
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
    messages = build_messages(job=Job.from_fields(fields), cv_text=jane_cv_text, prompt="")
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


@pytest.mark.parametrize(
    "line",
    [
        "I am applying for the Backend Engineer role (job ID 4500123456).",
        "Reduced the number of failed requests by 4500123456 a year",
        "Managed budgets of 1.200.000 - 1.500.000 EUR",
        "Salary band 45.000 - 55.000",
        "CA de 1 250 000 000 € en 2021",
        "ISBN 978-3-16-148410-0",
        "Grant no. 2019-1234-5678",
        "### Backend Engineer, Acme, 2019-01 - 2021-03",
        "Senior Developer, Acme GmbH, 01.2019 \u2013 03.2021",
        "2019.01 - 2021.03 Acme",
    ],
)
def test_numbers_that_are_not_phone_numbers_are_left_to_the_claims_check(line):
    # The person's phone is not on the page, so a number taken for a phone would become theirs.
    text = f"# Jane Doe\n\n{line}\n"

    assert guard(text) == (text, set())


def test_a_foreign_phone_number_becomes_the_persons_own_only_on_a_contact_line():
    text, flagged = guard(
        "# Jane Doe\n\nI ran the support line +1 415 555 0199 for two years.\n\nMobile +1 202 555 0147"
    )

    assert text == "# Jane Doe\n\nI ran the support line for two years.\n\nMobile +44 20 7946 0958"
    assert flagged == {"+1 415 555 0199", "+1 202 555 0147"}


@pytest.mark.parametrize(
    "line",
    [
        "Questions? Reach the recruiter at 415 555 0199.",
        "The hiring desk answers on 415-555-0199.",
        "SMS 4155550199 to apply.",
        "Ring 20 7946 0999 to apply.",
    ],
)
def test_a_phone_number_without_a_country_code_is_still_taken_out(line):
    text, flagged = guard(f"# Jane Doe\n\njane.doe@example.com · +44 20 7946 0958\n\n{line}")

    assert not any(digit in text.split("\n\n")[-1] for digit in "0123456789")
    assert len(flagged) == 1


@pytest.mark.parametrize(
    "line, foreign",
    [
        ("Contact: JOBS.EVIL.COM", "JOBS.EVIL.COM"),
        ("Apply: Evil.Com", "Evil.Com"),
        ("Questions? Visit EVIL.COM", "EVIL.COM"),
        ("Please apply at careers.evil.jobs/apply", "careers.evil.jobs/apply"),
        ("Apply at evil.store", "evil.store"),
        ("Web: evil.company", "evil.company"),
        ("See evil.store/jane", "evil.store/jane"),
        (
            "Portfolio: \uff45\uff56\uff49\uff4c\uff0e\uff43\uff4f\uff4d/path",
            "\uff45\uff56\uff49\uff4c\uff0e\uff43\uff4f\uff4d/path",
        ),
        ("Portfolio: evil\u3002com/x", "evil\u3002com/x"),
    ],
)
def test_an_address_in_capitals_full_width_or_under_a_new_ending_is_taken_out(line, foreign):
    text, flagged = guard(f"# Jane Doe\n\n{line}\n")

    assert "evil" not in unicodedata.normalize("NFKC", text).casefold()
    assert flagged == {foreign}


TECH = (
    "Node.js, ASP.NET, Vue.js, Next.js, Socket.IO, VB.NET, .NET, D3.js, Three.js, Chart.js, Ext.NET, "
    "scikit-learn, Python 3.11, 1.2.3, Blazor, Express, MVC, WinForms"
)


def test_tech_names_with_dots_and_slashes_the_cv_has_pass_unchanged():
    own = OwnContacts.of(OWN + f"Skills: {TECH}\n")
    rewrite = (
        "# Jane Doe\n\njane.doe@example.com · +44 20 7946 0958\n\n## Skills\n\n"
        f"{TECH}\n\nFrameworks: ASP.NET/Blazor, Entity Framework\n\nBuilt on Socket.IO/Express\n\n"
        "Stack: ASP.NET/MVC, VB.NET/WinForms\n\nNode.js/Express, Vue.js/Next.js, D3.js/Chart.js/Three.js, "
        "Ext.NET on .NET, Python 3.11 and 1.2.3\n"
    )

    guarded = guard_contacts(rewrite, own)

    assert (guarded.text, guarded.unsupported) == (rewrite, ())


def test_a_name_in_capitals_the_job_writes_is_no_address_but_a_host_the_cv_lacks_is():
    own = OwnContacts.of(OWN, data=["We build on ASP.NET and Booking.com's APIs."])

    guarded = guard_contacts("I built ASP.NET services on Booking.com data, see Evil.Com.", own)

    assert guarded.text == "I built ASP.NET services on Booking.com data, see."
    assert [claim.text for claim in guarded.unsupported] == ["Evil.Com"]


def _lines_run(work) -> int:
    """How many lines of the guard (cv.llm.output_guard and cv.llm.contacts) ``work`` runs: a count of the work
    done, the same on any machine."""
    count = 0
    modules = {output_guard.__file__, contacts.__file__}

    def trace(frame, event, arg):
        nonlocal count
        if frame.f_code.co_filename not in modules:
            return None

        def local(frame, event, arg):
            nonlocal count
            count += event == "line"
            return local

        return local

    sys.settrace(trace)
    try:
        work()
    finally:
        sys.settrace(None)
    return count


def test_the_work_grows_with_the_size_of_the_output_not_its_square():
    # Many hosts, each foreign and each reported: every span and every claim is compared with the ones before
    # it only by a lookup (quadratic before: 16 times the work for 4 times the text).
    def hosts(size: int) -> str:
        return "\n".join(" ".join(f"h{i}x{j}.io" for j in range(20)) for i in range(size))[: size * 8]

    small, large = hosts(500), hosts(2000)
    own = OwnContacts.of(OWN)

    ratio = _lines_run(lambda: guard_contacts(large, own)) / _lines_run(lambda: guard_contacts(small, own))
    own_ratio = _lines_run(lambda: OwnContacts.of(large)) / _lines_run(lambda: OwnContacts.of(small))

    assert ratio < 6 and own_ratio < 6, (ratio, own_ratio)
