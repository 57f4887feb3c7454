"""Email address rules for sign-up and profile changes: normalise, catch common domain typos, refuse
disposable mailboxes. Kept small and explicit; the lists are data an operator can extend."""

import difflib

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

# Where people actually have their mailboxes; a near miss of one of these is most likely a typo.
COMMON_DOMAINS = (
    "gmail.com", "googlemail.com", "yahoo.com", "yahoo.co.uk", "hotmail.com", "hotmail.co.uk", "outlook.com",
    "live.com", "msn.com", "icloud.com", "me.com", "aol.com", "proton.me", "protonmail.com", "gmx.com",
    "gmx.de", "web.de", "mail.com", "yandex.com", "zoho.com", "fastmail.com", "hey.com",
)  # fmt: skip

# Frequent misspellings that a similarity ratio alone would miss or get wrong.
KNOWN_TYPOS = {
    "gmial.com": "gmail.com", "gmai.com": "gmail.com", "gnail.com": "gmail.com", "gmail.co": "gmail.com",
    "gmail.con": "gmail.com", "gamil.com": "gmail.com", "gmaill.com": "gmail.com", "hotmial.com": "hotmail.com",
    "hotmal.com": "hotmail.com", "hotmail.con": "hotmail.com", "outlok.com": "outlook.com",
    "outlook.con": "outlook.com", "yahooo.com": "yahoo.com", "yaho.com": "yahoo.com", "yahoo.con": "yahoo.com",
    "icloud.co": "icloud.com", "iclod.com": "icloud.com",
}  # fmt: skip

DISPOSABLE_DOMAINS = frozenset(
    {
        "10minutemail.com", "20minutemail.com", "33mail.com", "anonbox.net", "discard.email", "dispostable.com",
        "emailondeck.com", "fakeinbox.com", "getairmail.com", "getnada.com", "guerrillamail.com",
        "guerrillamail.net", "guerrillamail.org", "guerrillamailblock.com", "harakirimail.com", "inboxkitten.com",
        "maildrop.cc", "mailinator.com", "mailinator.net", "mailnesia.com", "mintemail.com", "moakt.com",
        "mohmal.com", "mytemp.email", "nada.email", "sharklasers.com", "spam4.me", "spamgourmet.com",
        "temp-mail.org", "tempail.com", "tempmail.com", "tempmail.net", "tempmailo.com", "tempr.email",
        "throwawaymail.com", "trashmail.com", "trashmail.de", "yopmail.com", "yopmail.fr", "yopmail.net",
    }
)  # fmt: skip


def normalise_email(email: str) -> str:
    """Trim and lower-case. Mailbox names are case-sensitive in theory, never in practice."""
    return email.strip().lower()


def suggest_domain(domain: str) -> str | None:
    if domain in COMMON_DOMAINS:
        return None
    if domain in KNOWN_TYPOS:
        return KNOWN_TYPOS[domain]
    close = difflib.get_close_matches(domain, COMMON_DOMAINS, n=1, cutoff=0.85)
    return close[0] if close else None


def clean_email(email: str) -> str:
    """The normalised address, or a ValidationError that says what is wrong."""
    email = normalise_email(email)
    validate_email(email)
    local, _, domain = email.rpartition("@")
    if domain in DISPOSABLE_DOMAINS or any(domain.endswith("." + d) for d in DISPOSABLE_DOMAINS):
        raise ValidationError(
            "Disposable email addresses are not accepted. Please use an address you will keep.",
            code="disposable_email",
        )
    suggestion = suggest_domain(domain)
    if suggestion:
        raise ValidationError(f"Did you mean {local}@{suggestion}?", code="email_typo")
    return email
