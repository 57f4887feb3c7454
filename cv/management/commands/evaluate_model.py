import json
from dataclasses import fields
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.test import override_settings
from django.utils import timezone

from cv.evaluation.dataset import PAIRS_DIR, PairError, load_pairs
from cv.evaluation.runner import Row, describe_model, evaluate_pair, grouped_totals, row_dict

COLUMNS = (
    ("pair", 24),
    ("split", 8),
    ("field", 22),
    ("result", 10),
    ("verification", 14),
    ("facts", 6),
    ("seconds", 8),
    ("prompt", 7),
    ("completion", 10),
)
TOTAL_COLUMNS = (
    ("part", 9),
    ("pairs", 5),
    ("succeeded", 9),
    ("usable", 6),
    ("good", 4),
    ("reviews", 7),
    ("incomplete", 10),
    ("junk stored", 11),
    ("failed", 6),
    ("facts", 9),
    ("mean s", 7),
    ("prompt", 8),
    ("completion", 10),
)


def _cells(values, columns) -> str:
    return "  ".join(str(value).ljust(width) for value, (_, width) in zip(values, columns, strict=True)).rstrip()


def _row_line(row: Row) -> str:
    facts = f"{row.kept}/{row.total}" if row.kept is not None else f"-/{row.total}"
    values = (
        row.pair,
        "held out" if row.split == "held_out" else row.split,
        row.field,
        row.result,
        row.verification,
        facts,
        f"{row.seconds:.1f}",
        row.prompt_tokens if row.prompt_tokens is not None else "-",
        row.completion_tokens if row.completion_tokens is not None else "-",
    )
    why = f"  {row.why}" if row.why else ""
    return _cells(values, COLUMNS) + why


class Command(BaseCommand):
    help = (
        "Run labelled CV/job pairs through the analysis (the worker's own service function) with the "
        "configured model, or the offline analyser without OPENAI_API_KEY, and print per pair: usable or "
        "failed and why, verified or flagged, facts kept, seconds and tokens; then totals for the tuning "
        "and held-out parts. Leaves no rows behind and takes no quota."
    )

    def add_arguments(self, parser):
        parser.add_argument("--pairs", type=Path, default=PAIRS_DIR, help="Folder of pair folders.")
        parser.add_argument(
            "--only", action="append", default=[], help="Run only this pair (repeat, or comma-separated)."
        )
        parser.add_argument(
            "--json", dest="as_json", action="store_true", help="Print one JSON document instead of the table."
        )
        parser.add_argument(
            "--from-json",
            type=Path,
            nargs="+",
            default=None,
            metavar="FILE",
            help="Print the table of earlier --json outputs (their rows together) instead of running.",
        )
        parser.add_argument(
            "--max-attempts",
            type=int,
            default=None,
            help="Attempts per analysis on transient errors (default OPENAI_MAX_ATTEMPTS).",
        )

    def handle(
        self,
        *args,
        pairs: Path,
        only: list[str],
        as_json: bool,
        max_attempts: int | None,
        from_json: list[Path] | None,
        **options,
    ):
        if from_json:
            self._reprint(from_json)
            return
        names = {name.strip() for item in only for name in item.split(",") if name.strip()}
        if max_attempts is not None and max_attempts < 1:
            raise CommandError("--max-attempts must be at least 1.")
        try:
            selected = load_pairs(pairs, only=names or None)
        except PairError as exc:
            raise CommandError(str(exc)) from exc
        if not selected:
            raise CommandError(f"No pairs in {pairs} (a pair is a folder with pair.json, cv.txt and job.txt).")
        overrides = {"OPENAI_MAX_ATTEMPTS": max_attempts} if max_attempts is not None else {}
        with override_settings(**overrides):
            self._run(selected, pairs=pairs, as_json=as_json)

    def _reprint(self, files: list[Path]) -> None:
        names = {field.name for field in fields(Row)}
        rows, headers = [], []
        for path in files:
            try:
                document = json.loads(path.read_text(encoding="utf-8"))
                rows += [Row(**{key: value for key, value in row.items() if key in names}) for row in document["rows"]]
            except (OSError, ValueError, KeyError, TypeError) as exc:
                raise CommandError(f"{path}: not an evaluate_model --json output ({exc}).") from exc
            headers.append(f"{document.get('started', '?')[:16].replace('T', ' ')} UTC, {document.get('model', '?')}")
        for header in dict.fromkeys(headers):
            self.stdout.write(header)
        self._table_head()
        for row in rows:
            self.stdout.write(_row_line(row))
        self._totals(rows)

    def _table_head(self) -> None:
        self.stdout.write(_cells([name for name, _ in COLUMNS], COLUMNS) + "  why")

    def _run(self, selected, *, pairs: Path, as_json: bool) -> None:
        started = timezone.now()
        model = describe_model()
        if not as_json:
            self.stdout.write(f"{started:%Y-%m-%d %H:%M} UTC, {model}, {len(selected)} pairs from {pairs}")
            self._table_head()
        rows = []
        for pair in selected:
            row = evaluate_pair(pair)
            rows.append(row)
            if not as_json:
                self.stdout.write(_row_line(row))
                self.stdout.flush()
        if as_json:
            document = {
                "started": started.isoformat(),
                "model": model,
                "rows": [row_dict(row) for row in rows],
                "totals": grouped_totals(rows),
            }
            self.stdout.write(json.dumps(document, indent=2, ensure_ascii=False))
            return
        self._totals(rows)

    def _totals(self, rows: list[Row]) -> None:
        grouped = grouped_totals(rows)
        self.stdout.write("")
        self.stdout.write(_cells([name for name, _ in TOTAL_COLUMNS], TOTAL_COLUMNS))
        for part, label in (("tuning", "tuning"), ("held_out", "held out"), ("all", "all")):
            total = grouped[part]
            if not total["pairs"]:
                continue
            values = (
                label,
                total["pairs"],
                total["succeeded"],
                total["usable"],
                total["good"],
                total["reviews"],
                total["incomplete"],
                total["junk_stored"],
                total["failed"],
                f"{total['facts_kept']}/{total['facts_total']}",
                f"{total['mean_seconds']:.1f}",
                total["prompt_tokens"],
                total["completion_tokens"],
            )
            self.stdout.write(_cells(values, TOTAL_COLUMNS))
        self.stdout.write(
            "usable: a real rewrite with every labelled fact; good: usable and verified; reviews: the offline "
            "analyser's CV re-laid with a review; junk stored: stored as a success although a person would "
            "call it junk."
        )
