from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from cv.cleanup import cleanup_old_data
from cv.models import AIResponse, CVQuestionnaire


class Command(BaseCommand):
    help = (
        "Delete questionnaires not used for --days (default DATA_RETENTION_DAYS) with their CV files and "
        "analyses, analyses older than that with their rendered PDFs, and stored files no row refers to. "
        "--dry-run only reports."
    )

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=None, help="Age in days (default DATA_RETENTION_DAYS).")
        parser.add_argument("--dry-run", action="store_true", help="Report what would be deleted; delete nothing.")

    def handle(self, *args, days=None, dry_run=False, **options):
        days = days if days is not None else settings.DATA_RETENTION_DAYS
        if days < 1:
            raise CommandError("--days must be at least 1.")
        result = cleanup_old_data(days=days, dry_run=dry_run)
        verb = "Would delete" if dry_run else "Deleted"
        self.stdout.write(
            f"{verb} {result.questionnaires} questionnaires not used for {days} days, with their CV files."
        )
        self.stdout.write(f"{verb} {result.responses} AI responses older than {days} days.")
        own = {CVQuestionnaire._meta.label, AIResponse._meta.label}
        for label, count in sorted(result.deleted.items()):
            if label not in own:
                model = apps.get_model(label)
                self.stdout.write(f"{verb} {count} {model._meta.verbose_name_plural} ({label}) with them.")
        self.stdout.write(f"{verb} {len(result.orphan_files)} orphaned files.")
        for name in result.orphan_files:
            self.stdout.write(f"  {name}")
