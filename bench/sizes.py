"""Cost against size of every operation that depends on the CV, in one process (`bench/run.py --only sizes`).

The CV grows from one page to the largest text accepted (settings.CV_MAX_TEXT_CHARS), built from the
repository's sample CVs (the uploaded CVs' text and their improved Markdown), in five shapes:
- `cv`: the sample CVs one after another, each repetition's lines marked so that no two are equal;
- `table`: one page and a Markdown table of 12 columns, up to CV_MAX_TABLE_ROWS rows (the header counts);
- `repeated lines`: one page and the same line up to 1,000 times in the uploaded CV; in the improved CV every
  other one is a new line (a rewrite that keeps half of them: the diff's worst case);
- `long words`: one page and words of CV_MAX_WORD_CHARS characters;
- `long lines`: one page and lines of CV_MAX_LINE_CHARS characters.

Each cell runs in a forked child process, which is killed at the time cap (`--cap`, seconds): a cell past it
is reported as "> cap" and the larger sizes of its row are not run. A cell that takes less than a fifth of
the cap is run again (up to 5 runs, within about a second) and reports the fastest run, the one least
slowed by other work on the machine.

For each row the last column divides the seconds per character of the largest size by those of the
smallest: about 1 (or less, as fixed costs spread) is linear; 4 for a 4 times larger input is quadratic.
"""

from __future__ import annotations

import datetime as dt
import gc
import multiprocessing
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cv.scoring.job import Job

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "cv" / "tests" / "fixtures"
UPLOADED_PDFS = [FIXTURES / "jane_doe_backend.pdf", FIXTURES / "john_smith_marketing.pdf"]
IMPROVED_MARKDOWN = [
    ROOT / "pdf" / "tests" / "fixtures" / name for name in ("jane_doe_improved.md", "john_smith_improved.md")
]
JOB = FIXTURES / "senior_backend_engineer.txt"
POSITION = "Senior Backend Engineer"
PROMPT = "Tailor my CV to this job and make my achievements stand out."
REPEATED_LINE = "Managed the deployment pipeline for the payments platform."
RUNS_MAX = 5


@dataclass
class Case:
    """One CV at one size: its uploaded text, its improved Markdown, and the uploaded files it was read from."""

    uploaded: str
    improved: str
    files: dict[str, bytes] = field(default_factory=dict)

    @property
    def chars(self) -> int:
        return len(self.improved)


@dataclass(frozen=True)
class Operation:
    label: str
    where: str  # where it runs: the web tier (inside a request) or a worker
    run: Callable[[Case], object]
    needs: str = ""  # the uploaded file it reads: "pdf", "docx" or none


def _settings():
    from django.conf import settings

    return settings


def _one_page() -> tuple[str, str]:
    """The first sample CV: its extracted text (as stored at upload) and its improved Markdown."""
    from cv.intake.pdf_text import extract_cv_text

    text, _ = extract_cv_text(UPLOADED_PDFS[0].read_bytes())
    return text, IMPROVED_MARKDOWN[0].read_text()


def _cut(text: str, limit: int) -> str:
    """At most ``limit`` characters, cut at a line end."""
    return text if len(text) <= limit else text[:limit].rsplit("\n", 1)[0]


def _marked(text: str, part: int) -> str:
    """A repetition of a sample CV whose lines differ from the other repetitions' (a long CV says new things)."""
    if part == 0:
        return text
    return "\n".join(f"{line} (part {part + 1})" if len(line.strip()) > 20 else line for line in text.splitlines())


def _cv_shape(sizes: list[int]) -> list[Case]:
    from cv.intake.pdf_text import extract_cv_text

    uploaded = [extract_cv_text(path.read_bytes())[0] for path in UPLOADED_PDFS]
    improved = [path.read_text() for path in IMPROVED_MARKDOWN]
    cases = []
    for size in sizes:
        parts_up: list[str] = []
        parts_md: list[str] = []
        part = 0
        while sum(len(p) + 2 for p in parts_md) < size:
            parts_up.append(_marked(uploaded[part % 2], part))
            parts_md.append(_marked(improved[part % 2], part))
            part += 1
        md = _cut("\n\n".join(parts_md), size)
        cases.append(Case(uploaded=_cut("\n\n".join(parts_up), size), improved=md))
    return cases


def _table_shape(rows: list[int]) -> list[Case]:
    text, md = _one_page()
    columns = _settings().CV_MAX_TABLE_COLUMNS
    cases = []
    for count in rows:
        header = [f"Skill {c + 1}" for c in range(columns)]
        body = [[f"Python {r}.{c}" for c in range(columns)] for r in range(count - 1)]
        table = "\n".join(
            ["| " + " | ".join(header) + " |", "|" + "---|" * columns] + ["| " + " | ".join(r) + " |" for r in body]
        )
        lines = "\n".join(" | ".join(r) for r in [header, *body])
        cases.append(Case(uploaded=f"{text}\n\n{lines}", improved=f"{md}\n\n## Skills\n\n{table}\n"))
    return cases


def _filled(sizes: list[int], unit: str, *, rewritten: Callable[[int], str] | None = None) -> list[Case]:
    """One page, then ``unit`` line after line until the Markdown has each size in ``sizes``. In the improved
    CV each line is a paragraph of its own (a line of Markdown's would join them into one paragraph), and
    every other one is ``rewritten(index)`` when given."""
    text, md = _one_page()
    cases = []
    for size in sizes:
        count = max(1, (size - len(md)) // (len(unit) + 2))
        lines = [rewritten(i) if rewritten is not None and i % 2 else unit for i in range(count)]
        improved = _cut(f"{md}\n\n" + "\n\n".join(lines), size)
        cases.append(Case(uploaded=f"{text}\n\n" + "\n".join([unit] * count), improved=improved))
    return cases


def _long_words(sizes: list[int]) -> list[Case]:
    limits = _settings()
    word = ("https://example.com/" + "portfolio-" * limits.CV_MAX_WORD_CHARS)[: limits.CV_MAX_WORD_CHARS]
    per_line = max(1, (limits.CV_MAX_LINE_CHARS + 1) // (len(word) + 1))
    return _filled(sizes, " ".join([word] * per_line))


def _long_lines(sizes: list[int]) -> list[Case]:
    line = ("Delivered reliable payment services with Python and PostgreSQL. " * 100)[
        : _settings().CV_MAX_LINE_CHARS
    ].strip()
    return _filled(sizes, line)


def shapes() -> dict[str, list[Case]]:
    largest = _settings().CV_MAX_TEXT_CHARS
    page = len(IMPROVED_MARKDOWN[0].read_text())
    growth = [largest // 8, largest // 4, largest // 2, largest]
    repeated = [125, 250, 500, min(1000, (largest - page) // (len(REPEATED_LINE) + 2))]
    return {
        "cv": _cv_shape([page, *growth]),
        "table (12 columns)": _table_shape([25, 50, 100, 150, _settings().CV_MAX_TABLE_ROWS]),
        "repeated lines": _filled(
            [page + n * (len(REPEATED_LINE) + 2) for n in repeated],
            REPEATED_LINE,
            # As long as REPEATED_LINE, so the improved CV keeps the uploaded one's size.
            rewritten=lambda i: f"Led the migration of service {i:04} to the new billing APIs.",
        ),
        "long words": _long_words(growth),
        "long lines": _long_lines(growth),
    }


def _pdf_of(text: str) -> bytes:
    """The uploaded CV as a PDF holding ``text`` (small type, so the largest text stays within CV_MAX_PAGES)."""
    import html

    from weasyprint import HTML

    page = (
        "<style>@page { size: A4; margin: 1cm } body { font: 6.5pt sans-serif; white-space: pre-wrap;"
        " overflow-wrap: anywhere }</style>"
    )
    return HTML(string=f"{page}<body>{html.escape(text)}</body>").write_pdf()


def _docx_of(text: str) -> bytes:
    """The uploaded CV as a Word file, a paragraph per line."""
    import io

    import docx

    document = docx.Document()
    for line in text.splitlines():
        document.add_paragraph(line)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _response(case: Case):
    """Unsaved rows, as the export and diff views read them (nothing here touches the database)."""
    from cv.models import AIResponse, CVQuestionnaire

    questionnaire = CVQuestionnaire(position=POSITION, job_description=JOB.read_text(), resume_text=case.uploaded)
    return AIResponse(
        pk=1,
        questionnaire=questionnaire,
        status=AIResponse.Status.SUCCEEDED,
        model="bench",
        improved_cv=case.improved,
        finished_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    )


def _job() -> Job:
    from cv.scoring.job import Job

    return Job(position=POSITION, description=JOB.read_text()[:5000])


def _llm_request(case: Case) -> object:
    # What cv.llm.client.complete_cv sends: the messages, with contact details replaced by placeholders.
    from cv.llm.prompt import Redactions, build_messages

    redactions = Redactions()
    messages = build_messages(job=_job(), cv_text=case.uploaded, prompt=PROMPT)
    return [redactions.redact(message["content"]) for message in messages]


def _exporter(fmt: str) -> Callable[[Case], object]:
    from cv.outputs.exports import export_ai_response

    return lambda case: export_ai_response(response=_response(case), fmt=fmt)


def operations() -> list[Operation]:
    from cv.intake.docx_text import extract_docx_text
    from cv.intake.limits import check_cv_text
    from cv.intake.pdf_text import extract_cv_text
    from cv.llm import offline
    from cv.outputs.diff import ai_response_diff
    from cv.scoring import claims, matching
    from pdf.rendering import render_pdf

    job = JOB.read_text()
    return [
        Operation("text extraction, PDF", "web (child process)", lambda c: extract_cv_text(c.files["pdf"]), "pdf"),
        Operation("text extraction, Word", "web (child process)", lambda c: extract_docx_text(c.files["docx"]), "docx"),
        Operation(
            "offline analyser",
            "worker",
            lambda c: offline.analyse(job=_job(), cv_text=c.uploaded, prompt=PROMPT),
        ),
        Operation("LLM request building", "worker", _llm_request),
        Operation(
            "claims check",
            "worker",
            lambda c: claims.verify_rewrite(
                source_text=c.uploaded, request_text=PROMPT, improved_text=c.improved, job_text=job
            ),
        ),
        Operation(
            "match report",
            "worker",
            lambda c: matching.match_report(job_text=job, cv_text=c.uploaded, improved_text=c.improved),
        ),
        *[Operation(f"export {fmt}", "web", _exporter(fmt)) for fmt in ("md", "txt", "docx", "json")],
        Operation("diff", "web", lambda c: ai_response_diff(response=_response(c))),
        Operation("render's size check", "web and worker", lambda c: check_cv_text(c.improved)),
        Operation("render", "worker", lambda c: render_pdf(markdown=c.improved, template="classic", title="CV")),
    ]


def _measure(run: Callable[[Case], object], case: Case, budget: float) -> float:
    """Seconds for one run of ``run(case)``: the fastest of up to RUNS_MAX runs when one is short."""
    samples: list[float] = []
    started = time.perf_counter()
    while len(samples) < RUNS_MAX:
        before = time.perf_counter()
        run(case)
        samples.append(time.perf_counter() - before)
        if samples[0] > budget / 5 or time.perf_counter() - started > 1.0:
            break
    return min(samples)


def _child(connection, run, case, cap) -> None:
    try:
        connection.send(("ok", _measure(run, case, cap)))
    except Exception as exc:  # reported in the table, never hidden
        connection.send(("error", f"{type(exc).__name__}: {exc}"[:120]))
    connection.close()


def timed(run: Callable[[Case], object], case: Case, cap: float) -> float | str | None:
    """Seconds, None past the cap (the child is killed), or the error the operation raised."""
    context = multiprocessing.get_context("fork")
    parent, child = context.Pipe(duplex=False)
    process = context.Process(target=_child, args=(child, run, case, cap), daemon=True)
    process.start()
    child.close()
    try:
        # The cap bounds one run; the short cells' extra runs stay within a second more, plus the fork.
        if not parent.poll(cap + 2):
            return None
        status, value = parent.recv()
    finally:
        if process.is_alive():
            process.kill()
        process.join()
    return value if status == "ok" else str(value)


def _cell(value: float | str | None, cap: float) -> str:
    if value is None:
        return f"> {cap:g} s"
    if isinstance(value, str):
        return "error"
    return f"{value:.3f}"


def figures(cap: float) -> None:
    """Print a table per shape: seconds per operation and size, and the growth per character."""
    from django.test.utils import override_settings

    # Exports are cached by their content: every run must build its file, as the first request for it does.
    with override_settings(CACHES={"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}):
        _figures(cap)


def _figures(cap: float) -> None:
    all_shapes = shapes()
    ops = operations()
    for cases in all_shapes.values():  # the uploaded files are built once, outside any timing
        for case in cases:
            case.files["pdf"] = _pdf_of(case.uploaded)
            case.files["docx"] = _docx_of(case.uploaded)
    # Warm imports, fonts and vocabularies once, so the first cell does not pay for them.
    smallest = all_shapes["cv"][0]
    for operation in ops:
        operation.run(smallest)
    # Objects made so far are never collected: a forked child's collector would otherwise walk them all,
    # copying every page of the parent's memory, and charge that to the first cell it measures.
    gc.collect()
    gc.freeze()

    worst: dict[str, tuple[float, str]] = {}
    over_cap: list[tuple[Operation, str, Case]] = []
    errors: list[str] = []
    print(
        f"\nCost against size, in one process (seconds; the fastest of up to {RUNS_MAX} runs when one is short; "
        f"a cell is stopped at {cap:g} s)"
    )
    for shape, cases in all_shapes.items():
        sizes = [f"{case.chars:,}" for case in cases]
        uploaded = ", ".join(f"{len(case.uploaded):,}" for case in cases)
        print(f"\n{shape}: characters of the improved CV (of the uploaded CV's text: {uploaded})\n")
        print("| operation | where | " + " | ".join(sizes) + " | per char, largest / smallest |")
        print("| --- | --- | " + " | ".join("---" for _ in sizes) + " | --- |")
        for operation in ops:
            values: list[float | str | None] = []
            for case in cases:
                if values and (values[-1] is None or isinstance(values[-1], str)):
                    values.append(values[-1])  # a larger input than one past the cap (or failing) is not run
                    continue
                values.append(timed(operation.run, case, cap))
            first, last = values[0], values[-1]
            if isinstance(first, float) and isinstance(last, float) and first > 0:
                growth = f"{(last / cases[-1].chars) / (first / cases[0].chars):.2f}"
            else:
                growth = "n/a"
            print(
                f"| {operation.label} | {operation.where} | "
                + " | ".join(_cell(value, cap) for value in values)
                + f" | {growth} |"
            )
            for case, value in zip(cases, values, strict=True):
                where = f"{operation.label}, {shape}, {case.chars:,} characters"
                if value is None:
                    over_cap.append((operation, shape, case))
                elif isinstance(value, str):
                    errors.append(f"{where}: {value}")
                else:
                    tier = "web" if operation.where.startswith("web") else "worker"  # "web and worker" counts as web
                    if value > worst.get(tier, (0.0, ""))[0]:
                        worst[tier] = (value, where)
    print()
    for tier, (seconds, where) in sorted(worst.items()):
        print(f"- worst measured case, {tier}: {seconds:.2f} s ({where})")
    # Past the cap, the largest size once more with a longer one: how long the worst case really takes.
    long_cap = min(max(cap * 12, 30.0), 60.0)
    largest = {(operation.label, shape): (operation, shape, case) for operation, shape, case in over_cap}
    for operation, shape, case in largest.values():
        measured = timed(operation.run, case, long_cap)
        shown = f"{measured:.2f} s" if isinstance(measured, float) else f"> {long_cap:g} s"
        print(f"- past the {cap:g} s cap: {operation.label}, {shape}; at {case.chars:,} characters: {shown}")
    for error in errors:
        print(f"- error: {error}")
