import json
import os
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from core.billing.services import plans_sync_prices_from_stripe
from core.models import Plan
from core.plans import DEFAULT_PLANS

INTERVALS = ("monthly", "yearly")


class Command(BaseCommand):
    help = (
        "Create the Free, Basic, Pro and Premium plans that are missing, with their default limits, and set "
        "their Stripe price ids (from STRIPE_PRICE_<PLAN>_<INTERVAL> or --from-json). Limits, names and texts "
        "of existing plans are never changed (they are edited in the admin), so it runs on every start; "
        "--reset puts the defaults back."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--from-json",
            metavar="FILE",
            help='Price ids as {"basic": {"monthly": "price_...", "yearly": "price_..."}, ...}',
        )
        parser.add_argument(
            "--reset",
            action="store_true",
            help="Put the default names, texts and limits back on every plan, overwriting edits made in the admin.",
        )
        parser.add_argument(
            "--sync-stripe",
            action="store_true",
            help="Retrieve each price from Stripe and store its amount, currency and interval.",
        )

    def handle(self, *args, **options):
        price_ids = self._price_ids(options["from_json"])
        with transaction.atomic():
            for defaults in DEFAULT_PLANS:
                ids = {f"stripe_price_{i}": price_ids.get(defaults.slug, {}).get(i, "") for i in INTERVALS}
                ids = {field: value for field, value in ids.items() if value}
                plan = Plan.objects.select_for_update().filter(slug=defaults.slug).first()
                if plan is None:
                    plan = Plan.objects.create(slug=defaults.slug, **defaults.field_values(), **ids)
                    self.stdout.write(f"created {plan.name}")
                    continue
                changes = {**(defaults.field_values() if options["reset"] else {}), **ids}
                changed = [field for field, value in changes.items() if getattr(plan, field) != value]
                for field in changed:
                    setattr(plan, field, changes[field])
                if changed:
                    plan.save(update_fields=[*changed, "updated_at"])
                self.stdout.write(f"{plan.name}: {'set ' + ', '.join(changed) if changed else 'unchanged'}")
        if options["sync_stripe"]:
            self._sync_stripe()
        self.stdout.write(self.style.SUCCESS(f"{Plan.objects.count()} plans"))

    def _price_ids(self, json_path: str | None) -> dict[str, dict[str, str]]:
        if json_path:
            try:
                data = json.loads(Path(json_path).read_text())
            except (OSError, ValueError) as exc:
                raise CommandError(f"Cannot read price ids from {json_path}: {exc}") from exc
            if not isinstance(data, dict):
                raise CommandError("The JSON file must hold an object keyed by plan slug.")
            unknown = sorted(set(map(str.lower, data)) - {d.slug for d in DEFAULT_PLANS})
            if unknown:
                raise CommandError(f"Unknown plans in {json_path}: {', '.join(unknown)}.")
            return {slug.lower(): ids for slug, ids in data.items() if isinstance(ids, dict)}
        return {
            d.slug: {
                interval: os.environ.get(f"STRIPE_PRICE_{d.slug.upper()}_{interval.upper()}", "")
                for interval in INTERVALS
            }
            for d in DEFAULT_PLANS
        }

    def _sync_stripe(self) -> None:
        for line in plans_sync_prices_from_stripe():
            self.stdout.write(line)
