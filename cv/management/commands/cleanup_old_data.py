from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from cv.cleanup import cleanup_old_data, retained_data_labels


class Command(BaseCommand):
    help = (
        "Delete analyses and rendered PDFs older than --days (default DATA_RETENTION_DAYS), and stored CV/PDF "
        "files that no row refers to. --dry-run only reports."
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
        self.stdout.write(f"{verb} {result.responses} AI responses older than {days} days.")
        labels = retained_data_labels()
        for name, count in result.retained.items():
            self.stdout.write(f"{verb} {count} {labels[name]}.")
        self.stdout.write(f"{verb} {len(result.orphan_files)} orphaned files.")
        for name in result.orphan_files:
            self.stdout.write(f"  {name}")
