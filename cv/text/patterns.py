"""Patterns for contact details in CV text, shared by the analysers, the match report, the truthfulness check
and the JSON Resume export."""

import re

# Bounded by the address limits (local part 64, each domain label 63): nothing longer is an address, and the
# bounds keep the search linear on hostile text.
EMAIL = re.compile(r"[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63})+")
PHONE = re.compile(r"\+?\(?\d[\d\s().-]{7,}\d")
# The same within one line: numbers on separate lines (dates, figures) are not one phone number.
PHONE_ON_ONE_LINE = re.compile(r"\+?\(?\d[\d \t().-]{7,}\d")
