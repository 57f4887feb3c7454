import json
from collections import defaultdict
from dataclasses import asdict
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from cv.evaluation.dataset import PAIRS_DIR, PairError, load_pairs
from cv.evaluation.keyword_labels import (
    LABELS_FILE,
    PairScore,
    load_labels,
    read_with_model,
    report_for,
    score_pair,
    totals,
)
from cv.llm import client as llm

PARTS = {"tuning": ("tuning",), "held_out": ("held_out",), "all": ("tuning", "held_out")}
COLUMNS = (
    ("part", 9),
    ("field", 24),
    ("pairs", 5),
    ("present", 7),
    ("recall", 6),
    ("absent", 6),
    ("recall", 6),
    ("recall", 6),
    ("listed", 6),
    ("precision", 9),
    ("keywords", 8),
    ("wrong side", 10),
    ("not in job", 10),
    ("quote not in CV", 15),
)
HEAD_NOTE = (
    "present/absent: labelled keywords the CV shows / lacks, each followed by the share the report names in "
    "found / missing; then recall of both; listed: terms in found + missing; precision: listed terms naming "
    "a label in the right list; keywords: listed terms naming any label; wrong side: labels named only in the "
    "other list; not in job: listed terms whose words the job text does not hold; quote not in CV: evidence "
    "quotes that are not the CV's own words (both must be 0)."
)
NO_MODEL = (
    "--with-model needs a model: set OPENAI_API_KEY (and OPENAI_BASE_URL and OPENAI_MODEL for a local server). "
    "Run without it for the offline figures."
)


def _cells(values) -> str:
    return "  ".join(str(value).ljust(width) for value, (_, width) in zip(values, COLUMNS, strict=True)).rstrip()


def _figure(value) -> str:
    return "-" if value is None else f"{value:.2f}"


def _line(part: str, field: str, total: dict) -> str:
    return _cells(
        (
            "held out" if part == "held_out" else part,
            field,
            total["pairs"],
            total["present"],
            _figure(total["recall_present"]),
            total["absent"],
            _figure(total["recall_missing"]),
            _figure(total["recall"]),
            total["listed"],
            _figure(total["precision"]),
            _figure(total["keyword_share"]),
            total["wrong_side"],
            total["not_in_job"],
            total["quote_not_in_cv"],
        )
    )


def _pair_dict(score: PairScore) -> dict:
    row = asdict(score)
    if score.split == "held_out":
        # The held-out half is for measuring only: its terms are not printed, so nobody tunes on them.
        row["unrecalled"] = row["not_keywords"] = row["outside"] = "withheld (held out)"
    else:
        row["unrecalled"], row["not_keywords"] = list(score.unrecalled), list(score.not_keywords)
    return row


class Command(BaseCommand):
    help = (
        "Score the match report (the service's own, as an analysis builds it before any rewrite) against the "
        "keyword labels of the CV/job pairs: recall of the keywords the CV shows and of those it lacks, "
        "precision and the share of listed terms that are real keywords, per field and pooled, the tuning "
        "and held-out halves apart. Offline: the deterministic extractor; --with-model: the configured model "
        "reads each job as an analysis does, merged with the extractor. Reads no database."
    )

    def add_arguments(self, parser):
        parser.add_argument("--pairs", type=Path, default=PAIRS_DIR, help="Folder of pair folders.")
        parser.add_argument("--split", choices=tuple(PARTS), default="all", help="Which half to score.")
        parser.add_argument(
            "--json", dest="as_json", action="store_true", help="Print one JSON document instead of the table."
        )
        parser.add_argument(
            "--with-model",
            action="store_true",
            help="Have the configured model read each job's requirements first (one call per pair).",
        )

    def handle(self, *args, pairs: Path, split: str, as_json: bool, with_model: bool, **options):
        if with_model and not llm.is_configured():
            raise CommandError(NO_MODEL)
        try:
            selected = [pair for pair in load_pairs(pairs) if pair.split in PARTS[split]]
            labelled = [
                (pair, load_labels(pairs / pair.name, pair))
                for pair in selected
                if (pairs / pair.name / LABELS_FILE).exists()
            ]
        except PairError as exc:
            raise CommandError(str(exc)) from exc
        unlabelled = sorted({pair.name for pair in selected} - {pair.name for pair, _ in labelled})
        if not labelled:
            raise CommandError(f"No pair in {pairs} ({split}) has a {LABELS_FILE}.")
        scores = []
        fell_back: dict[str, list[str]] = defaultdict(list)
        for pair, labels in labelled:
            read, failure = read_with_model(pair) if with_model else (None, "")
            if failure:
                # As in the service: the deterministic extractor alone.
                fell_back[pair.split].append(failure)
            scores.append(score_pair(pair, labels, report_for(pair, read)))
        mode = (
            f"model {settings.OPENAI_MODEL} (merged with the deterministic extractor)"
            if with_model
            else ("offline (deterministic extractor)")
        )
        parts: dict[str, dict] = {}
        for part in PARTS[split]:
            in_part = [score for score in scores if score.split == part]
            if not in_part:
                continue
            by_field: dict[str, list[PairScore]] = defaultdict(list)
            for score in in_part:
                by_field[score.field].append(score)
            parts[part] = {
                "fields": {field: totals(by_field[field]) for field in sorted(by_field)},
                "pooled": totals(in_part),
            }
        started = timezone.now()
        if as_json:
            document = {
                "at": started.isoformat(),
                "mode": "model" if with_model else "offline",
                "model": settings.OPENAI_MODEL if with_model else None,
                "fell_back": {part: fell_back.get(part, []) for part in parts} if with_model else None,
                "unlabelled": unlabelled,
                "parts": parts,
                "pairs": [_pair_dict(score) for score in scores],
            }
            self.stdout.write(json.dumps(document, indent=2, ensure_ascii=False))
            return
        self.stdout.write(f"{started:%Y-%m-%d %H:%M} UTC, {mode}, {len(scores)} pairs")
        for part, failures in fell_back.items():
            self.stdout.write(
                f"{part}: the model's reading failed for {len(failures)} pairs ({', '.join(sorted(failures))}); "
                "those were scored on the deterministic extractor alone, as the service does"
            )
        if unlabelled:
            self.stdout.write(f"not scored (no {LABELS_FILE}): {', '.join(unlabelled)}")
        self.stdout.write(_cells([name for name, _ in COLUMNS]))
        for part, figures in parts.items():
            for field, total in figures["fields"].items():
                self.stdout.write(_line(part, field, total))
            self.stdout.write(_line(part, "pooled", figures["pooled"]))
        self.stdout.write(HEAD_NOTE)
