"""How the extractor reads a job of any trade: noun phrases found by the parser, credentials and
abbreviations in their fixed shapes, the job's own words shown, and nothing listed that the job does not say."""

import time

import pytest

from cv.evaluation.dataset import load_pairs
from cv.evaluation.keyword_labels import in_text, job_text_for
from cv.llm import proposals
from cv.scoring import job_reader, parse
from cv.scoring.job_reader import job_keywords, job_requirements
from cv.scoring.matching import match_report
from cv.scoring.term_index import TermIndex


def _terms(job: str) -> list[str]:
    return [keyword.term for keyword in job_keywords(job)]


def test_noun_phrases_after_a_colon_are_read_whole():
    terms = _terms("Strong SQL: complex joins, window functions and CTEs.\nStatistics: confidence intervals.")

    assert {"SQL", "complex joins", "window functions", "CTE", "confidence intervals"} <= set(terms)


def test_a_duty_gives_its_object_without_the_verb_or_what_qualifies_it():
    terms = _terms(
        "What you will do\n- You will prepare the monthly journal entries and the trial balance.\n"
        "- Review and post all subledger entries.\n- Expose and develop x-ray films."
    )

    assert {"journal entries", "trial balance", "subledger entries"} <= set(terms)
    assert not [term for term in terms if term.lower().startswith(("prepare", "review", "post", "monthly", "all"))]
    assert "x-ray films" in terms


def test_no_piece_of_a_hyphenated_word_is_listed():
    terms = _terms("Two construction managers for mission-critical construction projects and HEC-RAS models.")

    assert "critical construction projects" not in terms
    assert not {"hec", "ras", "HEC", "RAS"} & set(terms)


def test_a_term_defined_with_its_abbreviation_is_one_keyword_found_by_either():
    job = "Variable frequency drive (VFD) systems; SRP (Scaling and Root Planing)."

    terms = _terms(job)

    assert terms[:2] == ["variable frequency drive (VFD)", "SRP (scaling and root planing)"]
    report = match_report(
        job_text=job, cv_text="Commissioned VFDs and did scaling and root planing.", improved_text=None
    )
    assert set(report["keywords"]["found"]) == set(terms[:2])


def test_a_role_defined_with_its_abbreviation_is_not_a_requirement():
    assert "CM" not in _terms("We hire two construction managers (CM) who know the critical path method (CPM).")


def test_a_credential_is_read_by_its_head_word():
    requirements = {
        r.keyword.term: r.keyword.kind for r in job_requirements("Journeyman electrician license required.")
    }

    assert requirements == {"Journeyman electrician license": "credential"}


def test_the_subject_of_a_degree_is_a_requirement():
    assert "Civil Engineering" in _terms("A Bachelor's Degree in Civil Engineering is required.")


def test_places_dates_and_people_are_not_requirements():
    terms = _terms("Based at our Hagerstown campus from September; you report to Dr Maria Lopez.\n- Wound care")

    assert terms == ["Wound care"]


def test_everyday_words_alone_are_not_keywords_but_a_list_of_terms_keeps_them():
    assert "clean" not in _terms("- Strong SQL: complex joins, CTEs and clean, readable queries")
    assert {"photography", "video", "podcasts"} <= set(_terms("The desk covers photography, video and podcasts."))


def test_a_vocabulary_term_is_shown_in_the_jobs_words_and_found_through_its_other_names():
    job = "Design experiments and run A/B tests; experimentation is daily work."

    report = match_report(job_text=job, cv_text="Ran A/B tests on pricing pages.", improved_text=None)

    assert "A/B tests" in report["keywords"]["found"]
    assert all(in_text(term, job) for term in report["keywords"]["found"] + report["keywords"]["missing"])


@pytest.mark.parametrize("pair", load_pairs(), ids=lambda pair: pair.name)
def test_every_listed_term_is_in_the_job_and_every_quote_in_the_cv(pair):
    report = match_report(job_text=job_text_for(pair), cv_text=pair.cv_text, improved_text=None)

    listed = report["keywords"]["found"] + report["keywords"]["missing"]
    assert [term for term in listed if not in_text(term, job_text_for(pair))] == []
    cv = " ".join(pair.cv_text.casefold().split())
    quotes = [d["cv_evidence"] for d in report["keywords"]["details"] if d["cv_evidence"] is not None]
    assert [quote for quote in quotes if " ".join(quote.casefold().split()) not in cv] == []


def test_without_the_parser_the_other_sources_still_read_the_job(monkeypatch):
    monkeypatch.setattr(parse, "_pipeline", lambda: None)
    job_reader._requirements.cache_clear()

    terms = _terms("Experience with HEC-RAS and GIS; knowledge of stormwater management.\n- Python, Django")

    assert parse.parse("text", []) is None
    assert {"HEC-RAS", "GIS", "stormwater management", "Python", "Django"} <= set(terms)


def test_the_cv_shows_a_phrase_without_the_word_for_where_it_is_kept():
    index = TermIndex("Kept the fixed asset register for 300 sites.")

    assert index.covers("fixed asset system")


def test_marks_between_words_are_not_glued_into_a_term():
    terms = _terms('You will keep the "fixed asset" register and the sales \u03a8 pipeline.')

    assert not [term for term in terms if '"' in term or "\u03a8" in term]


def test_a_run_without_spaces_costs_in_proportion_to_its_length():
    def best_of_three(text: str) -> float:
        timings = []
        for attempt in range(3):
            started = time.perf_counter()
            job_requirements(f"{text} {attempt}")
            timings.append(time.perf_counter() - started)
        return min(timings)

    # spaCy's tokeniser alone is superlinear on such a run (seconds for 5,000 "$"); four times the text may cost
    # about four times as much, not sixteen.
    assert best_of_three("$" * 5000) < 8 * best_of_three("$" * 1250) + 0.05


def test_a_models_duty_or_count_is_no_term_but_a_code_with_its_class_is():
    job = proposals.JobText.of(
        "Requirements:\n- Train pickers on the warehouse floor.\n- Process change orders.\n"
        "- CDL Class A licence and 3+ years of driving."
    )

    assert proposals.proposed("Train pickers", job) is None
    assert proposals.proposed("Process change orders", job) is None
    assert proposals.proposed("3+ years", job) is None
    assert proposals.proposed("CDL Class A", job) is not None
