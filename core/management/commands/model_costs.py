"""`manage.py model_costs [--days N] [--by day|user|plan|model]`: what the model cost, from the stored calls."""

from decimal import Decimal

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.costs import GROUPINGS, cost_totals, money


class Command(BaseCommand):
    help = "Model calls, tokens and cost (USD, at LLM_PRICES) of the last N days, per day, person, plan or model."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, default=30, help="How many days back, today included (default 30).")
        parser.add_argument("--by", choices=GROUPINGS, default="day", help="What to total by (default: day).")

    def handle(self, *args, days: int, by: str, **options) -> None:
        if days < 1:
            raise CommandError("--days must be 1 or more.")
        rows = cost_totals(days=days, by=by)
        table: list[tuple[object, ...]] = [
            (by, "calls", "prompt tokens", "completion tokens", "cost (USD)", "unpriced calls")
        ]
        table += [
            (row.label, row.calls, row.prompt_tokens, row.completion_tokens, money(row.cost), row.unpriced_calls)
            for row in rows
        ]
        table.append(
            (
                "total",
                sum(row.calls for row in rows),
                sum(row.prompt_tokens for row in rows),
                sum(row.completion_tokens for row in rows),
                money(sum((row.cost for row in rows), Decimal(0))),
                sum(row.unpriced_calls for row in rows),
            )
        )
        cells = [[str(cell) for cell in line] for line in table]
        widths = [max(len(line[i]) for line in cells) for i in range(len(cells[0]))]
        for line in cells:
            first, *rest = line
            self.stdout.write(
                "  ".join([first.ljust(widths[0]), *(c.rjust(w) for c, w in zip(rest, widths[1:], strict=True))])
            )
