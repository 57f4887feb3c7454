import json
import os
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from core.billing.services import plans_sync_prices_from_stripe
from core.models import Plan
from core.plans import DEFAULT_PLANS


class Command(BaseCommand):
    help = (
        "Create or update the Free, Basic, Pro and Premium plans with their default limits and Stripe price ids "
        "(from STRIPE_PRICE_<PLAN>_<INTERVAL> or --from-json). Safe to re-run."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--from-json",
            metavar="FILE",
            help='Price ids as {"basic": {"monthly": "price_...", "yearly": "price_..."}, ...}',
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
                values = {
                    "name": defaults.name,
                    "order": defaults.order,
                    "description": defaults.description,
                    "features": list(defaults.features),
                    "ai_responses_per_day": defaults.ai_responses_per_day,
                    "questionnaires_per_day": defaults.questionnaires_per_day,
                    "uploads_per_day": defaults.uploads_per_day,
                    "api_calls_per_hour": defaults.api_calls_per_hour,
                }
                ids = price_ids.get(defaults.slug, {})
                if ids.get("monthly"):
                    values["stripe_price_monthly"] = ids["monthly"]
                if ids.get("yearly"):
                    values["stripe_price_yearly"] = ids["yearly"]
                plan, created = Plan.objects.update_or_create(slug=defaults.slug, defaults=values)
                self.stdout.write(f"{'created' if created else 'updated'} {plan.name}")
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
            return {slug.lower(): ids for slug, ids in data.items() if isinstance(ids, dict)}
        return {
            d.slug: {
                interval: os.environ.get(f"STRIPE_PRICE_{d.slug.upper()}_{interval.upper()}", "")
                for interval in ("monthly", "yearly")
            }
            for d in DEFAULT_PLANS
        }

    def _sync_stripe(self) -> None:
        for line in plans_sync_prices_from_stripe():
            self.stdout.write(line)
