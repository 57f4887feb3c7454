"""Billing: plans sold with Stripe. Which module to call for what:

- `services`: what a user asks for (checkout, verify a checkout, portal, change plan, cancel, resume, the
  billing part of deleting an account, syncing plan prices). Views and commands call these.
- `selectors`: reads (current subscription, its summary, invoices); never call Stripe.
- `sync`: applying Stripe's state (subscriptions, invoices, prices) to our rows and the user's plan; called
  by services and events, not by views.
- `events`: webhook events: store once, process, retry with back-off.
- `gateway`: the only module that imports `stripe`; plain dicts in and out, SDK errors translated.
- `tasks`: the Celery entry points (task names stay `core.tasks.*`, which queued messages and the beat
  schedule name), `views` and `serializers`: HTTP.

The models stay in `core.models`.
"""
