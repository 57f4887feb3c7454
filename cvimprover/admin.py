"""The admin as a whole: its front page shows what needs a person (cvimprover.admin_home), and the "Tokens"
section rest_framework.authtoken registers is gone (sign-in uses JWTs; no token of that table is ever made)."""

from django.contrib import admin
from rest_framework.authtoken.models import TokenProxy

admin.site.index_template = "admin/front_page.html"
if admin.site.is_registered(TokenProxy):
    admin.site.unregister(TokenProxy)
