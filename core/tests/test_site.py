"""Mails name the product ("[CVImprover] ...", "Hello from CVImprover!"), never django.contrib.sites' example.com:
the Site row takes SITE_NAME and SITE_DOMAIN at every migrate, a fresh database's first one included."""

import pytest
from django.contrib.sites.models import Site
from django.core import mail
from django.core.management import call_command
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def test_the_site_is_named_after_the_product_on_a_fresh_database(settings):
    # The test database was made by `migrate` from nothing, as a new deployment's is.
    site = Site.objects.get(pk=settings.SITE_ID)
    assert (site.name, site.domain) == ("CVImprover", "localhost:3000")


def test_the_site_follows_the_settings_at_the_next_migrate(settings):
    settings.SITE_NAME, settings.SITE_DOMAIN = "CV Studio", "cv.example.org"
    call_command("migrate", verbosity=0)

    site = Site.objects.get_current()
    assert (site.name, site.domain) == ("CV Studio", "cv.example.org")


def test_a_mail_names_the_product(user, celery_eager):
    assert APIClient().post("/auth/password/reset/", {"email": user.email}, format="json").status_code == 200

    [message] = mail.outbox
    assert message.subject == "[CVImprover] Password Reset Email"
    assert "Hello from CVImprover!" in message.body
    assert "example.com!" not in message.body
