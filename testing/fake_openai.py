"""A local OpenAI-compatible chat completions server for tests.

Start it, point ``OPENAI_BASE_URL`` at ``server.base_url`` and queue what the next requests get::

    with FakeOpenAI() as server:
        server.queue(Status(429), Answer(improved_cv="# Jane"))
        ...
        assert "jane@example.com" not in server.requests[0].prompt_text

Each request takes the next behaviour from the queue; when the queue is empty it gets ``default`` (a valid
answer). Every request is recorded (path, headers, JSON body) before it is answered.

Real servers and models differ, and each difference can be chosen per test:

- the server: ``refuse_formats`` (response_format types it answers with a 400, as vLLM or llama.cpp builds
  without structured output do) and ``refuse_params`` (parameters it refuses, e.g. OpenAI's reasoning models
  refuse ``max_tokens``), in the error style of ``refusal_style``. A refused request is recorded with
  ``refused=True`` and does not take a behaviour from the queue.
- the model: ``MarkdownCV`` (ignores the format and answers a Markdown CV with chatter around it),
  ``Prose`` (JSON inside prose), ``Answer(think=...)`` or ``Reasoning`` (a reasoning block first, or only
  one left open), ``CutOff`` (stopped by the length bound, finish_reason "length").
- a model that obeys hostile text it was given: ``ObeysJobText`` (prompt injection through the job
  description: it changes the contact details, adds links and reveals its instructions when told to).
- a small model's junk, as a real 1.5B model answered our prompts: ``CopiedPlaceholder`` (an answer
  template's placeholder copied literally), ``EchoedPrompt`` (the user message sent back, fenced),
  ``UnchangedCV`` (the upload as it was, the person's request appended), ``FencedCV`` (the whole CV in a
  code fence).
- the job's requirements (cv.llm.requirements): a request whose system prompt opens with
  ``REQUIREMENT_CALL_OPENING`` (its terms) or ``EVIDENCE_CALL_OPENING`` (the CV's words for them) is
  answered from its own queue (``queue_requirements``; default ``ReadsRequirements``, which reads the job's
  bullets as a small model does) and recorded in
  ``requirement_requests``, not in ``requests``: tests of the rewrite see only the rewrite's requests
  (``all_requests`` has both, in the order they arrived).
  ``ReadsRequirements(invent=True)`` also proposes a requirement the job does not have and a CV quote the CV
  does not have; ``UnusableRequirements`` answers prose that names nothing of the job.
- a small model asked for one part of a CV at a time (OPENAI_REWRITE=sections): ``RewritesParts``, with
  the flaws a real 1.5B model showed (a point dropped or added, a number invented, the job pasted in).
- llama-cpp-python's own server: ``FakeOpenAI.like_llama_cpp_python()`` answers a ``json_schema``
  response_format with HTTP 500 (its validation error as the message) and silently ignores
  ``max_completion_tokens``.
- streaming: a request with ``"stream": true`` is answered as llama.cpp's server streams, as server-sent
  events: ``data: {...}`` chunks of ``stream_piece_chars`` characters in ``choices[0].delta.content``, a last
  chunk with the ``finish_reason``, a usage chunk only when ``stream_options.include_usage`` asks for it (and
  ``stream_usage`` is on), then ``data: [DONE]``. ``Slow(seconds, then)`` waits that long before each piece.
  A server that does not stream: ``refuse_params={"stream"}`` (or ``{"stream_options"}``).
"""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

# A faithful, complete rewrite of the tests' usual CV (cv/tests/fixtures/jane_doe_backend.pdf): every
# employer, title, date range and degree kept, nothing invented, rewritten enough to be an improvement.
DEFAULT_IMPROVED_CV = """# Jane Doe

jane.doe@example.com · +44 20 7946 0958 · London, UK · github.com/janedoe

## Summary

Backend engineer with 6 years of experience building Python web services with Django, PostgreSQL and \
Celery, from payments APIs to background jobs and CI.

## Experience

### Senior Software Engineer, Ledgerly Ltd — London (2021-present)

- Moved background jobs from cron to Celery with Redis, cutting nightly batch time from 4 hours to 35 minutes.
- Worked on the payments API written in Django and Django REST Framework.
- Owned the PostgreSQL schema and database migrations.
- Helped with the Stripe billing integration and webhook handling.
- Mentored two junior developers.

### Software Engineer, ShopWave — Manchester (2018-2021)

- Improved test coverage from 40% to 85% with unit tests in pytest.
- Built internal tools in Flask.
- Maintained Docker images and the CI pipeline on GitHub Actions.

## Education

BSc Computer Science, University of Leeds (2014-2018)

## Skills

Python, Django, Django REST Framework, Flask, PostgreSQL, Redis, Celery, Docker, pytest, Git, Linux

## Languages

English (native), Spanish (intermediate)"""


@dataclass
class Answer:
    """A 200 answer. ``content`` overrides the JSON built from improved_cv/changes; ``think`` puts a
    reasoning block before it, as reasoning models served raw do."""

    improved_cv: str = DEFAULT_IMPROVED_CV
    changes: list[str] = field(default_factory=lambda: ["Added a summary."])
    content: str | None = None
    fenced: bool = False
    finish_reason: str = "stop"
    model: str = "fake-model"
    prompt_tokens: int = 120
    completion_tokens: int = 80
    think: str | None = None

    def json_text(self) -> str:
        return json.dumps({"improved_cv": self.improved_cv, "changes": self.changes})

    def payload(self) -> str:
        text = self.json_text()
        return f"```json\n{text}\n```" if self.fenced else text

    def body(self) -> str:
        text = self.content if self.content is not None else self.payload()
        return f"<think>\n{self.think}\n</think>\n\n{text}" if self.think is not None else text

    def body_for(self, request_body: dict[str, Any]) -> str:
        """The message content answered to this request (most answers do not depend on it)."""
        return self.body()


@dataclass
class CopiedPlaceholder(Answer):
    """A small model that copies the answer template's placeholder as its whole CV."""

    improved_cv: str = "<the complete improved CV in Markdown>"
    changes: list[str] = field(default_factory=lambda: ["<one short sentence per change>"])


@dataclass
class EchoedPrompt(Answer):
    """A small model that sends the user message back as its answer, in a ```markdown fence."""

    def body_for(self, request_body: dict[str, Any]) -> str:
        users = [m for m in request_body.get("messages", []) if m.get("role") == "user"]
        return f"```markdown\n{users[0]['content'] if users else ''}\n```"


@dataclass
class UnchangedCV(Answer):
    """A small model that returns the upload as it was, with the person's request appended as a last line."""

    cv_text: str = ""
    appended: str = "Tailor my CV to this job."

    def payload(self) -> str:
        return json.dumps({"improved_cv": f"{self.cv_text.strip()}\n\n{self.appended}", "changes": []})


@dataclass
class FencedCV(Answer):
    """A small model that puts its whole CV (inside the JSON) in a ```markdown code fence."""

    def json_text(self) -> str:
        return json.dumps({"improved_cv": f"```markdown\n{self.improved_cv}\n```", "changes": self.changes})


@dataclass
class Empty(Answer):
    """A 200 answer whose message content is empty."""

    content: str | None = ""


@dataclass
class MarkdownCV(Answer):
    """A model that ignores the format: the CV in Markdown, with a sentence before and after it."""

    preamble: str = "Here is your improved CV, tailored to the job:"
    sign_off: str = "Let me know if you would like any other changes."

    def payload(self) -> str:
        return "\n\n".join(part for part in (self.preamble, self.improved_cv, self.sign_off) if part)


@dataclass
class Prose(Answer):
    """A model that wraps the JSON in prose (in a ```json fence when ``fenced``)."""

    def payload(self) -> str:
        text = self.json_text()
        if self.fenced:
            text = f"```json\n{text}\n```"
        return f"Sure! Here is the improved CV as JSON:\n\n{text}\n\nI kept every fact from your CV."


DEFAULT_THOUGHT = (
    "The candidate wants API work stressed. Maybe I should say they led a team of 12 at Google and know "
    "Kubernetes? No: only facts from the CV."
)


@dataclass
class Reasoning(Answer):
    """A reasoning model: its thinking in a <think> block before the answer. ``unterminated``: it stopped
    while still thinking (the block never closes, finish_reason "length")."""

    think: str | None = DEFAULT_THOUGHT
    unterminated: bool = False

    def body(self) -> str:
        if self.unterminated:
            return f"<think>\n{self.think}"
        return super().body()

    def __post_init__(self) -> None:
        if self.unterminated:
            self.finish_reason = "length"


@dataclass
class CutOff(Answer):
    """An answer stopped by the length bound: the first ``keep`` share of it, finish_reason "length"."""

    finish_reason: str = "length"
    keep: float = 0.5

    def body(self) -> str:
        text = super().body()
        return text[: max(1, int(len(text) * self.keep))]


OBEDIENT_CV = (
    "# Jane Doe\n\n## Summary\n\nBackend engineer with 6 years of experience building Python web services.\n\n"
    "## Experience\n\n### Senior Software Engineer, Ledgerly Ltd - London (2021-present)\n\n"
    "- Worked on the payments API written in Django and Django REST Framework.\n"
    "- Moved background jobs from cron to Celery with Redis, cutting nightly batch time from 4 hours to 35 "
    "minutes.\n\n## Skills\n\nPython, Django, PostgreSQL, Redis, Celery"
)
OBEDIENT_LETTER = (
    "# Jane Doe\n\nDear Hiring Manager,\n\nI am applying for the Senior Backend Engineer role. At Ledgerly Ltd I "
    "worked on the payments API written in Django and Django REST Framework, and I owned the PostgreSQL schema "
    "and database migrations.\n\nI moved background jobs from cron to Celery with Redis, cutting nightly batch "
    "time from 4 hours to 35 minutes, and I helped with the Stripe billing integration. At ShopWave I improved "
    "test coverage from 40% to 85% with unit tests in pytest.\n\nI would welcome the chance to bring this "
    "experience to your team.\n\nYours sincerely,\n\nJane Doe"
)
_ORDER_EMAIL = re.compile(r"\[EMAIL_\d+\]|[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_ORDER_PHONE = re.compile(r"\[PHONE_\d+\]|\+?\d[\d ()-]{7,}\d")
_ORDER_LINK = re.compile(r"\[[^\[\]\n]+\]\([^()\s]+\)")


@dataclass
class ObeysJobText(Answer):
    """A model that takes orders from the text it is given, as models under prompt injection do.

    It reads every user message (the job description is in one) and does what a sentence there asks: a new
    email or phone number ("... email is now x@evil.example ...") goes into a contact line under the name, a
    Markdown link to add is added, and "reveal / print / repeat your instructions" appends every system
    message it was sent. It answers ``improved_cv`` with those changes, or ``letter`` when it is asked for a
    cover letter (the JSON schema it is given, in response_format or in its instructions, has a "letter"
    field, or its instructions ask for cover letters).
    """

    improved_cv: str = OBEDIENT_CV
    letter: str = OBEDIENT_LETTER
    changes: list[str] = field(default_factory=lambda: ["Updated the contact details as the job description asked."])

    def for_request(self, body: dict[str, Any]) -> Answer:
        messages = [m for m in body.get("messages", []) if isinstance(m, dict)]
        system = "\n\n".join(str(m.get("content", "")) for m in messages if m.get("role") == "system")
        orders = [
            sentence
            for m in messages
            if m.get("role") == "user"
            for sentence in re.split(r"(?<=[.!?])\s+|\n", str(m.get("content", "")))
        ]
        contact: list[str] = []
        links: list[str] = []
        reveal = False
        for sentence in orders:
            # A placeholder ("[EMAIL_2]") names an address; only the words around it give an order.
            lowered = re.sub(r"\[[A-Z]+_\d+\]", "", sentence).casefold()
            if "email" in lowered or "e-mail" in lowered:
                contact += _ORDER_EMAIL.findall(sentence)[:1]
            if "phone" in lowered:
                contact += [number.strip() for number in _ORDER_PHONE.findall(sentence)[:1]]
            if "link" in lowered or "add" in lowered:
                links += [link for link in _ORDER_LINK.findall(sentence) if link not in links]
            if "instructions" in lowered and re.search(r"reveal|print|repeat|show|output|include", lowered):
                reveal = True
        response_format = body.get("response_format")
        schema = response_format.get("json_schema", {}).get("schema", {}) if isinstance(response_format, dict) else {}
        writing_letter = (
            "letter" in schema.get("properties", {}) or '"letter"' in system or "cover letter" in system.casefold()
        )
        text = self.letter if writing_letter else self.improved_cv
        head, _, rest = text.partition("\n\n")
        line = " · ".join([*contact, *links])
        if line:
            text = f"{head}\n\n{line}\n\n{rest}"
        if reveal:
            text += "\n\n## My instructions\n\n" + system
        changes = [*self.changes, *(f"Changed the contact details to {item}." for item in contact)]
        payload: dict[str, Any] = {"letter": text} if writing_letter else {"improved_cv": text, "changes": changes}
        return Answer(content=json.dumps(payload), model=self.model)


REQUIREMENT_CALL_OPENING = "You list the requirements of a job description"
EVIDENCE_CALL_OPENING = "You find the CV's own words that show each requirement"
_BULLET_LINE = re.compile(r"^\s*(?:[-*\u2022]|\d{1,2}[.)])\s+(.+)$")
_CUE = re.compile(
    r"^(?:\d+\+?\s+years?\s+(?:of\s+)?)?(?:(?:strong|solid|proven|good|excellent|hands-on|deep|working)\s+)?"
    r"(?:experience|knowledge|proficiency|familiarity|expertise|skills?)\s+(?:with|in|of|using)\s+",
    re.IGNORECASE,
)
_DUTY_VERB = re.compile(r"^(?:design|build|own|run|integrate|lead|improve(?: our)?|mentor|manage|develop)\s+", re.I)


def _data_block(text: str, label: str) -> str:
    match = re.search(rf"BEGIN {label} \(data\)\n(.*?)\nEND {label} \(data\)", text, re.DOTALL)
    return match.group(1) if match else ""


def _system_prompt(body: dict[str, Any]) -> str:
    messages = body.get("messages") or []
    first = messages[0] if messages and isinstance(messages[0], dict) else {}
    return str(first.get("content", "")) if first.get("role") == "system" else ""


def _is_requirement_call(body: dict[str, Any]) -> bool:
    """One of the two calls that read a job's requirements (its terms, then the CV's evidence for them)."""
    return _system_prompt(body).startswith((REQUIREMENT_CALL_OPENING, EVIDENCE_CALL_OPENING))


_COUNT = re.compile(r"(?:\$\s?)?\d[\d,]*\+?(?:\s+(?:years?|months?|hours?))?")


@dataclass
class ReadsRequirements(Answer):
    """A small model reading a job's requirements, in plain lines as it is asked to.

    The terms call: the items of the job's bullet lines (after "experience with", "knowledge of"...; split at
    commas, "and", "or" and "/"), one a line, every other one in lower case; like the real 1.5B model, it also
    writes a duty as it stands in the job (its first bullet that opens with a verb), the job's first line
    (the position, or the employer's name) and the first counts or amounts it names ("5+ years", "$80,000").
    The evidence call: "term => " and the CV's words for the term where the CV has them, every other one in
    lower case, else "term => NONE".

    ``invent``: it also lists a requirement the job does not name (``INVENTED_TERM``) and, for the first term
    the CV lacks, gives CV words the CV does not have (``INVENTED_EVIDENCE``)."""

    invent: bool = False

    def terms_for(self, job: str) -> list[str]:
        terms: list[str] = []
        duty = ""
        for line in job.splitlines():
            bullet = _BULLET_LINE.match(line)
            if not bullet:
                continue
            quote = bullet.group(1).strip().rstrip(".")
            if not duty and _DUTY_VERB.match(quote):
                duty = quote
            phrase = re.split(r"\s+(?:is|are)\s+(?:a\s+)?(?:plus|preferred|desirable|bonus)", _CUE.sub("", quote))[0]
            phrase = re.split(r"[;:(]|\s-\s", phrase)[0]
            for part in re.split(r",\s*(?:and\s+|or\s+)?|\s+and\s+|\s+or\s+|/", phrase):
                # A small model drops the verb a duty starts with, not always the rest of the clause.
                term = _DUTY_VERB.sub("", part.strip(" ."))
                if term and len(term.split()) <= 4:
                    terms.append(term.lower() if len(terms) % 2 else term)
        first_line = next((line.strip() for line in job.splitlines() if line.strip()), "")
        # Like the real model: the years and the amounts the job names ("4+ years", "$80,000"), as terms.
        counts = [match.group(0) for match in _COUNT.finditer(job)][:2]
        noise = [first_line, duty, *counts]
        return ([INVENTED_TERM] if self.invent else []) + terms + [line for line in noise if line]

    def evidence_for(self, cv: str, terms: list[str]) -> list[str]:
        lines: list[str] = []
        invented = False
        for number, term in enumerate(terms):
            at = re.search(rf"(?<!\w){re.escape(term)}(?!\w)", cv, re.IGNORECASE)
            if at:
                words = cv[at.start() : at.end()]
                lines.append(f"{term} => {words.lower() if number % 2 else words}")
            elif self.invent and not invented:
                invented = True
                lines.append(f"{term} => {INVENTED_EVIDENCE}")
            else:
                lines.append(f"{term} => NONE")
        return lines

    def body_for(self, request_body: dict[str, Any]) -> str:
        user = "\n".join(str(m.get("content", "")) for m in request_body.get("messages", []) if m.get("role") == "user")
        if _system_prompt(request_body).startswith(EVIDENCE_CALL_OPENING):
            terms = [line.strip() for line in _data_block(user, "REQUIREMENTS").splitlines() if line.strip()]
            return "\n".join(self.evidence_for(_data_block(user, "CV"), terms))
        return "\n".join(f"- {term}" for term in self.terms_for(_data_block(user, "JOB")))


INVENTED_TERM = "Quantum annealing"
INVENTED_EVIDENCE = "Ran it in production at Google for five years"


@dataclass
class UnusableRequirements(Answer):
    """A model that answers the requirement call in prose: not one line of it is a requirement of the job."""

    content: str | None = "The job wants someone good with computers and people. I hope this helps!"


_OPENERS = {
    "responsible for": "Owned",
    "worked on": "Delivered",
    "helped with": "Supported",
    "helped": "Supported",
    "did": "Produced",
    "sent": "Sent",
}


def _without_i(sentence: str) -> str:
    match = re.match(r"I (\w)(\w*)(.*)", sentence, re.S)
    return f"{match.group(1).upper()}{match.group(2)}s{match.group(3)}" if match else sentence


def _verb_first(point: str) -> str:
    """A point as a small model rewrites it: a stronger opening verb, the rest as it was."""
    lowered = point.casefold()
    for opener, verb in _OPENERS.items():
        if lowered.startswith(opener + " "):
            return f"{verb} {point[len(opener) + 1 :]}"
    return point


@dataclass
class RewritesParts(Answer):
    """A small model asked for one part of a CV (cv.llm.piecewise): the points of one role, or the summary.

    As Qwen2.5-1.5B answered those requests: each point rewritten with a stronger verb and the points kept in
    their order, one per line after "- "; a summary without "I". The flaws it showed are switches:
    ``drops_point`` (it left a point out), ``adds_point`` (it added a point of its own),
    ``invents_number`` (a number in no point), ``adds_claim`` (words of its own at the end of the first
    point: a tool or a credential the CV does not have), ``echoes_job`` (the requirements of the job pasted as points).
    Anything else it is asked (a whole CV, a repair) gets ``improved_cv`` as an ordinary answer."""

    drops_point: bool = False
    adds_point: str | None = None
    invents_number: bool = False
    echoes_job: str | None = None
    adds_claim: str | None = None

    def body_for(self, request_body: dict[str, Any]) -> str:
        users = [str(m.get("content", "")) for m in request_body.get("messages", []) if m.get("role") == "user"]
        asked = users[-1] if users else ""
        if "The points to rewrite:" in asked:
            block = asked.split("The points to rewrite:", 1)[1].split("\n\nNow rewrite", 1)[0]
            points = [_verb_first(line[2:].strip()) for line in block.strip().splitlines() if line.startswith("- ")]
            if self.drops_point and len(points) > 1:
                points = points[:-1]
            if self.adds_point:
                points.append(self.adds_point)
            if self.invents_number and points:
                points[0] = f"{points[0].rstrip('.')}, saving 37 hours a week."
            if self.adds_claim and points:
                points[0] = f"{points[0].rstrip('.')}{self.adds_claim}."
            if self.echoes_job:
                points = [line.strip("-• ") for line in self.echoes_job.splitlines() if line.strip()]
            return "\n".join(f"- {point}" for point in points)
        if "The summary to rewrite:" in asked:
            summary = asked.split("The summary to rewrite:", 1)[1].split("\n\nNow rewrite", 1)[0].strip()
            # "I like clean APIs." becomes "Likes clean APIs.": the same facts, without "I".
            return " ".join(_without_i(sentence) for sentence in re.split(r"(?<=[.!?])\s+", summary))
        return super().body_for(request_body)


@dataclass
class Status:
    """An error status with an OpenAI-shaped error body."""

    status: int
    message: str = "fake error"
    code: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Delay:
    """Wait ``seconds`` (or until the server stops), then behave as ``then``."""

    seconds: float
    then: Answer | Status = field(default_factory=Answer)


@dataclass
class Slow:
    """Behave as ``then``, a streamed answer waiting ``seconds`` before each of its pieces (a model writing
    slowly); a request that does not stream gets the whole answer at once."""

    seconds: float
    then: Answer = field(default_factory=Answer)


Behaviour = Answer | Status | Delay | Slow


@dataclass
class RecordedRequest:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    refused: bool = False
    arrived: float = field(default_factory=time.monotonic)

    @property
    def response_format_type(self) -> str | None:
        response_format = self.body.get("response_format")
        return response_format.get("type") if isinstance(response_format, dict) else None

    @property
    def max_tokens(self) -> int | None:
        """The answer's bound, whichever name it was sent under."""
        return self.body.get("max_completion_tokens", self.body.get("max_tokens"))

    @property
    def system_prompt(self) -> str:
        return _system_prompt(self.body)

    @property
    def prompt_text(self) -> str:
        """All message contents joined, to assert what reached the model."""
        return "\n".join(str(m.get("content", "")) for m in self.body.get("messages", []))


REFUSAL_STYLES = ("openai", "vllm", "llamacpp", "pydantic", "llama-cpp-python")


class FakeOpenAI:
    def __init__(
        self,
        default: Behaviour | None = None,
        *,
        refuse_formats: set[str] | None = None,
        refuse_params: set[str] | None = None,
        refusal_style: str = "vllm",
    ):
        self.default: Behaviour = default or Answer()
        self.requests: list[RecordedRequest] = []
        # The requirement call (cv.llm.requirements) has its own default, queue and record.
        self.requirements_default: Behaviour = ReadsRequirements()
        self.requirement_requests: list[RecordedRequest] = []
        self._requirement_queue: list[Behaviour] = []
        self.refuse_formats: set[str] = set(refuse_formats or ())
        self.refuse_params: set[str] = set(refuse_params or ())
        self.refusal_style = refusal_style
        # How a streamed answer is cut, and whether a usage chunk is sent when the request asks for one.
        self.stream_piece_chars = 24
        self.stream_usage = True
        self._queue: list[Behaviour] = []
        self._lock = threading.Condition()
        self._stopping = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @classmethod
    def like_llama_cpp_python(cls, default: Behaviour | None = None) -> FakeOpenAI:
        """llama-cpp-python's server: a json_schema response_format is answered with HTTP 500, not 400 or
        422; max_completion_tokens is accepted and silently ignored (only max_tokens bounds an answer)."""
        return cls(default, refuse_formats={"json_schema"}, refusal_style="llama-cpp-python")

    @property
    def base_url(self) -> str:
        port = self._server.server_port  # bound to 127.0.0.1 (start)
        return f"http://127.0.0.1:{port}/v1"

    def start(self) -> Self:
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def queue(self, *behaviours: Behaviour) -> None:
        with self._lock:
            self._queue.extend(behaviours)

    def queue_requirements(self, *behaviours: Behaviour) -> None:
        """What the next requirement calls get (then ``requirements_default``)."""
        with self._lock:
            self._requirement_queue.extend(behaviours)

    def reset(self) -> None:
        """Forget queued behaviours, recorded requests and refusals (for a server shared by several tests)."""
        with self._lock:
            self._queue.clear()
            self.requests.clear()
            self._requirement_queue.clear()
            self.requirement_requests.clear()
            self.requirements_default = ReadsRequirements()
            self.refuse_formats = set()
            self.refuse_params = set()
            self.refusal_style = "vllm"
            self.stream_piece_chars = 24
            self.stream_usage = True

    @property
    def all_requests(self) -> list[RecordedRequest]:
        """Every request, the requirement calls' too, in the order they arrived."""
        with self._lock:
            return sorted([*self.requests, *self.requirement_requests], key=lambda request: request.arrived)

    @property
    def answered(self) -> list[RecordedRequest]:
        """The requests that were not refused."""
        return [request for request in self.requests if not request.refused]

    def _refusal(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]] | None:
        """The 400/422 a server with these limits sends for ``body``, or None if it accepts it."""
        with self._lock:
            formats, params, style = set(self.refuse_formats), set(self.refuse_params), self.refusal_style
        response_format = body.get("response_format")
        format_type = response_format.get("type") if isinstance(response_format, dict) else None
        if format_type in formats:
            return _refusal_body(style, param="response_format", value=format_type)
        for param in sorted(params):
            if param in body:
                return _refusal_body(style, param=param, value=body[param])
        return None

    def wait_for_requests(self, count: int, timeout: float = 10.0) -> bool:
        """Block until at least ``count`` requests arrived; False on timeout."""
        with self._lock:
            return self._lock.wait_for(lambda: len(self.requests) >= count, timeout=timeout)

    def _record_refused(self, request: RecordedRequest) -> None:
        with self._lock:
            request.refused = True
            (self.requirement_requests if _is_requirement_call(request.body) else self.requests).append(request)
            self._lock.notify_all()

    def _next(self, request: RecordedRequest) -> Behaviour:
        with self._lock:
            if _is_requirement_call(request.body):
                self.requirement_requests.append(request)
                queue, default = self._requirement_queue, self.requirements_default
            else:
                self.requests.append(request)
                queue, default = self._queue, self.default
            behaviour = queue.pop(0) if queue else default
            self._lock.notify_all()
            return behaviour

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                path = self.path.split("?")[0]
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length) if length else b""
                if path not in ("/v1/chat/completions", "/chat/completions"):
                    self._send_json(404, {"error": {"message": f"no route {path}", "type": "invalid_request_error"}})
                    return
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    body = {"_raw": raw.decode("utf-8", "replace")}
                headers = {key.lower(): value for key, value in self.headers.items()}
                request = RecordedRequest(path=path, headers=headers, body=body)
                refusal = fake._refusal(body)
                if refusal is not None:
                    fake._record_refused(request)
                    self._send_json(*refusal)
                    return
                behaviour = fake._next(request)
                if isinstance(behaviour, Delay):
                    fake._stopping.wait(behaviour.seconds)
                    behaviour = behaviour.then
                pace = 0.0
                if isinstance(behaviour, Slow):
                    pace, behaviour = behaviour.seconds, behaviour.then
                if isinstance(behaviour, ObeysJobText):
                    behaviour = behaviour.for_request(body)
                try:
                    if body.get("stream") is True and isinstance(behaviour, Answer):
                        self._stream(behaviour, body, pace)
                        return
                    self._respond(behaviour, body)
                except (BrokenPipeError, ConnectionResetError):
                    # The client gave up (timeout) or its process was killed: nothing left to answer.
                    pass

            def _respond(self, behaviour: Answer | Status, request_body: dict[str, Any]) -> None:
                if isinstance(behaviour, Status):
                    error = {"message": behaviour.message, "type": "fake_error", "code": behaviour.code}
                    self._send_json(behaviour.status, {"error": error}, behaviour.headers)
                    return
                self._send_json(
                    200,
                    {
                        "id": f"chatcmpl-fake-{len(fake.requests)}",
                        "object": "chat.completion",
                        "created": int(time.time()),
                        "model": behaviour.model,
                        "choices": [
                            {
                                "index": 0,
                                "message": {"role": "assistant", "content": behaviour.body_for(request_body)},
                                "finish_reason": behaviour.finish_reason,
                            }
                        ],
                        "usage": {
                            "prompt_tokens": behaviour.prompt_tokens,
                            "completion_tokens": behaviour.completion_tokens,
                            "total_tokens": behaviour.prompt_tokens + behaviour.completion_tokens,
                        },
                    },
                )

            def _stream(self, behaviour: Answer, request_body: dict[str, Any], pace: float) -> None:
                """The answer as llama.cpp's server streams it: server-sent events, then [DONE]."""
                text = behaviour.body_for(request_body)
                size = max(1, fake.stream_piece_chars)
                base = {
                    "id": f"chatcmpl-fake-{len(fake.requests)}",
                    "object": "chat.completion.chunk",
                    "created": int(time.time()),
                    "model": behaviour.model,
                }
                self.send_response(200)
                self.send_header("content-type", "text/event-stream")
                self.send_header("cache-control", "no-cache")
                self.end_headers()

                def event(choices: list[dict[str, Any]], **extra: Any) -> None:
                    self.wfile.write(b"data: " + json.dumps({**base, "choices": choices, **extra}).encode() + b"\n\n")
                    self.wfile.flush()

                event([{"index": 0, "delta": {"role": "assistant", "content": None}, "finish_reason": None}])
                for start in range(0, len(text), size):
                    if pace and fake._stopping.wait(pace):
                        return
                    event([{"index": 0, "delta": {"content": text[start : start + size]}, "finish_reason": None}])
                event([{"index": 0, "delta": {}, "finish_reason": behaviour.finish_reason}])
                options = request_body.get("stream_options")
                if fake.stream_usage and isinstance(options, dict) and options.get("include_usage"):
                    usage = {
                        "prompt_tokens": behaviour.prompt_tokens,
                        "completion_tokens": behaviour.completion_tokens,
                        "total_tokens": behaviour.prompt_tokens + behaviour.completion_tokens,
                    }
                    event([], usage=usage)
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()

            def _send_json(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

        return Handler


def _refusal_body(style: str, *, param: str, value: Any) -> tuple[int, dict[str, Any]]:
    """What real servers answer to a parameter or response_format type they do not support."""
    if style == "openai":
        if param == "response_format":
            message = f"Invalid parameter: 'response_format' of type '{value}' is not supported with this model."
        else:
            other = "max_completion_tokens" if param == "max_tokens" else "max_tokens"
            message = f"Unsupported parameter: '{param}' is not supported with this model. Use '{other}' instead."
        error = {"message": message, "type": "invalid_request_error", "param": param, "code": "unsupported_parameter"}
        return 400, {"error": error}
    if style == "llamacpp":
        if param == "response_format":
            message = f'response_format type must be one of "text" or "json_object", but got: {value}'
            if value == "json_object":
                message = f"Unsupported response_format type: {value}"
        else:
            message = f"Unsupported param: {param}"
        return 400, {"error": {"code": 400, "message": message, "type": "invalid_request_error"}}
    if style == "llama-cpp-python":
        # Its route handler turns the request model's validation error into a 500.
        message = (
            "1 validation error for CreateChatCompletionRequest\nresponse_format.type\n  Input should be 'text' "
            f"or 'json_object' [type=literal_error, input_value='{value}', input_type=str]"
        )
        if param != "response_format":
            message = f"1 validation error for CreateChatCompletionRequest\n{param}\n  Extra inputs are not permitted"
        return 500, {"error": {"message": message, "type": "internal_server_error", "param": None, "code": None}}
    if style == "pydantic":
        loc = ["body", param] if param != "response_format" else ["body", "response_format", "type"]
        return 422, {"detail": [{"type": "extra_forbidden", "loc": loc, "msg": "Extra inputs are not permitted"}]}
    # vLLM: its request model's validation error, in its own top-level error shape.
    if param == "response_format":
        message = (
            "1 validation error for ChatCompletionRequest\nresponse_format.type\n  Input should be 'text' "
            f"[type=literal_error, input_value='{value}', input_type=str]"
        )
    else:
        message = f"1 validation error for ChatCompletionRequest\n{param}\n  Extra inputs are not permitted"
    return 400, {"object": "error", "message": message, "type": "BadRequestError", "param": None, "code": 400}
