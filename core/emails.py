"""Email address rules for sign-up and profile changes: normalise, catch known domain typos, refuse
disposable mailboxes. Kept small and explicit; the lists are data an operator can extend."""

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

# Misspellings of the large providers seen often enough to be worth a "did you mean". Only exact entries
# get a suggestion: a similarity score cannot tell a typo from a real regional or smaller provider
# (hotmail.fr, yahoo.co.jp, gmx.de, proton.me are all real).
KNOWN_TYPOS = {
    "gmial.com": "gmail.com", "gmai.com": "gmail.com", "gnail.com": "gmail.com", "gmail.co": "gmail.com",
    "gmail.con": "gmail.com", "gmail.cm": "gmail.com", "gmail.om": "gmail.com", "gamil.com": "gmail.com",
    "gmaill.com": "gmail.com", "gmal.com": "gmail.com", "gmil.com": "gmail.com", "gmsil.com": "gmail.com",
    "gmali.com": "gmail.com", "gmail.comm": "gmail.com", "googlemail.con": "googlemail.com",
    "hotmial.com": "hotmail.com", "hotmal.com": "hotmail.com", "hotmai.com": "hotmail.com",
    "hotmil.com": "hotmail.com", "hotamil.com": "hotmail.com", "homail.com": "hotmail.com",
    "hotmail.con": "hotmail.com", "hotmail.co": "hotmail.com", "hotmaill.com": "hotmail.com",
    "outlok.com": "outlook.com", "outloo.com": "outlook.com", "outlook.con": "outlook.com",
    "outlook.co": "outlook.com", "otlook.com": "outlook.com",
    "yahooo.com": "yahoo.com", "yaho.com": "yahoo.com", "yahoo.con": "yahoo.com", "yahoo.co": "yahoo.com",
    "yhoo.com": "yahoo.com", "yahho.com": "yahoo.com", "yaoo.com": "yahoo.com",
    "icloud.co": "icloud.com", "icloud.con": "icloud.com", "iclod.com": "icloud.com", "icoud.com": "icloud.com",
    "iclould.com": "icloud.com", "aol.con": "aol.com", "aoll.com": "aol.com",
    "protonmail.con": "protonmail.com", "protonmial.com": "protonmail.com",
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
    return KNOWN_TYPOS.get(domain)


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
