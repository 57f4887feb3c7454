"""Test-only helpers: local fakes of the outside world (Stripe, OpenAI) and their signing schemes."""
