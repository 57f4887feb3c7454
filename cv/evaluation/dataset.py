"""Labelled CV/job pairs: one folder per pair with `cv.txt`, `job.txt` and `pair.json` (see pairs/README.md)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

PAIRS_DIR = Path(__file__).parent / "pairs"
SPLITS = ("tuning", "held_out")
FACT_KINDS = ("employer", "role", "dates", "degree", "certification")


class PairError(ValueError):
    """A pair folder that cannot be read: names the folder and what is wrong."""


@dataclass(frozen=True)
class Fact:
    kind: str
    text: str


@dataclass(frozen=True)
class Pair:
    name: str
    field: str
    split: str
    position: str
    industry: str
    request: str
    cv_text: str
    job_text: str
    facts: tuple[Fact, ...]

    @property
    def held_out(self) -> bool:
        return self.split == "held_out"


def load_pair(folder: Path) -> Pair:
    try:
        meta = json.loads((folder / "pair.json").read_text(encoding="utf-8"))
        cv_text = (folder / "cv.txt").read_text(encoding="utf-8").strip()
        job_text = (folder / "job.txt").read_text(encoding="utf-8").strip()
    except (OSError, ValueError) as exc:
        raise PairError(f"{folder.name}: {exc}") from exc
    split = meta.get("split")
    if split not in SPLITS:
        raise PairError(f"{folder.name}: split must be one of {', '.join(SPLITS)}, not {split!r}.")
    facts = []
    for item in meta.get("facts") or []:
        if item.get("kind") not in FACT_KINDS or not str(item.get("text") or "").strip():
            raise PairError(f"{folder.name}: a fact needs a kind ({', '.join(FACT_KINDS)}) and a text: {item!r}.")
        facts.append(Fact(kind=item["kind"], text=str(item["text"]).strip()))
    if not facts:
        raise PairError(f"{folder.name}: no labelled facts.")
    for fact in facts:
        if fact.kind != "dates" and fact.text.lower() not in cv_text.lower():
            raise PairError(f"{folder.name}: the labelled {fact.kind} {fact.text!r} is not in cv.txt.")
    return Pair(
        name=folder.name,
        field=str(meta.get("field") or ""),
        split=split,
        position=str(meta.get("position") or ""),
        industry=str(meta.get("industry") or ""),
        request=str(meta.get("request") or ""),
        cv_text=cv_text,
        job_text=job_text,
        facts=tuple(facts),
    )


def load_pairs(directory: Path = PAIRS_DIR, *, only: set[str] | None = None) -> list[Pair]:
    """Every pair folder (one holding a pair.json) in name order; ``only`` keeps those names."""
    folders = sorted(path.parent for path in directory.glob("*/pair.json"))
    if only:
        unknown = only - {folder.name for folder in folders}
        if unknown:
            raise PairError(f"no pair named {', '.join(sorted(unknown))} in {directory}.")
        folders = [folder for folder in folders if folder.name in only]
    return [load_pair(folder) for folder in folders]
