"""The job a person applies for, as every step reads it: a frozen ``Job`` built once from the questionnaire.

It holds what the person said about the job (the questionnaire's job fields, ``cv.models.JOB_FIELDS``, never
anything about the person), the text its keywords are read from (``text``: position, industry and the job
description) and, once the model has read the job (cv.llm.requirements), the requirements it named and the
texts confirmed (``requirements``; None when not read).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from cv.models import JOB_FIELDS

if TYPE_CHECKING:
    from cv.models import CVQuestionnaire

# The fields the model is told about, with the label it reads (the description is sent as its own block).
_PROMPT_LABELS = (
    ("position", "Position"),
    ("industry", "Industry"),
    ("experience_level", "Years of experience"),
    ("company_size", "Company size"),
    ("location", "Location"),
    ("application_timeline", "Application timeline"),
)


@dataclass(frozen=True)
class JobRequirement:
    """One requirement of the job, checked: ``term`` and ``job_quote`` are the job's own words, ``cv_evidence``
    the CV's own words (None: the CV does not show it)."""

    term: str
    kind: str
    importance: str
    job_quote: str
    cv_evidence: str | None
    # False for the deterministic extractor's terms that join a model's reading only to have the CV's
    # evidence for them asked (cv.llm.requirements); a reading stored before they joined holds the model's only.
    proposed: bool = True


@dataclass(frozen=True)
class Job:
    position: str = ""
    industry: str = ""
    experience_level: str = ""
    company_size: str = ""
    location: str = ""
    application_timeline: str = ""
    description: str = ""
    requirements: tuple[JobRequirement, ...] | None = None

    @classmethod
    def of(cls, questionnaire: CVQuestionnaire, *, requirements: tuple[JobRequirement, ...] | None = None) -> Job:
        """The questionnaire's job, with the model's reading of it when the caller has one."""
        return cls.from_fields({name: getattr(questionnaire, name) for name in JOB_FIELDS}, requirements=requirements)

    @classmethod
    def from_fields(cls, fields: Mapping[str, str], *, requirements: tuple[JobRequirement, ...] | None = None) -> Job:
        """A job from the questionnaire's field names (``job_description`` for the description); a field not
        given is empty."""
        return cls(
            position=fields.get("position") or "",
            industry=fields.get("industry") or "",
            experience_level=fields.get("experience_level") or "",
            company_size=fields.get("company_size") or "",
            location=fields.get("location") or "",
            application_timeline=fields.get("application_timeline") or "",
            description=fields.get("job_description") or "",
            requirements=requirements,
        )

    def with_requirements(self, requirements: tuple[JobRequirement, ...] | None) -> Job:
        return replace(self, requirements=requirements)

    @property
    def text(self) -> str:
        """The text a job's keywords are read from: position, industry and the job description."""
        return "\n".join(part for part in (self.position, self.industry, self.description) if part)

    def fields(self) -> dict[str, str]:
        """The questionnaire's job fields by their names (``job_description`` for the description), in the
        questionnaire's order, empty ones included."""
        return {
            "position": self.position,
            "industry": self.industry,
            "experience_level": self.experience_level,
            "company_size": self.company_size,
            "location": self.location,
            "application_timeline": self.application_timeline,
            "job_description": self.description,
        }

    def values(self) -> list[str]:
        """Every field the person filled in: data the model read, never support for a claim."""
        return [value for value in self.fields().values() if value]

    def prompt_lines(self) -> list[str]:
        """The job's filled fields as the model reads them ("Position: ..."), the description aside."""
        fields = self.fields()
        return [f"{label}: {fields[name]}" for name, label in _PROMPT_LABELS if fields[name]]
