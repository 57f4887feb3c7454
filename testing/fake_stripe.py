"""A small fake of the Stripe REST API for tests.

It speaks the form-encoded v1 API closely enough for the official `stripe` SDK pointed at it through
`STRIPE_API_BASE`: customers (deleting one cancels its subscriptions and expires its open Checkout
Sessions), prices, products, checkout sessions, billing portal sessions, subscriptions and invoices.
Objects have the shapes of the API version the SDK pins (billing periods live on subscription items; an
invoice names its subscription under `parent.subscription_details`).

Every request is recorded (method, path, parsed params, headers) so a test can assert what our code sent.
A repeated `Idempotency-Key` on a POST replays the first answer (with `Idempotent-Replayed: true`) whatever
happened since, and the same key with another path or other parameters is refused, as Stripe does; a test
can queue errors (`fail_next`) to see how our code maps them.
"""

from __future__ import annotations

import itertools
import json
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qsl, urlsplit

from django.conf import settings

API_KEY = "sk_test_fake_stripe_key"


@dataclass
class RecordedRequest:
    method: str
    path: str
    params: dict[str, Any]
    headers: dict[str, str]

    @property
    def idempotency_key(self) -> str | None:
        return self.headers.get("idempotency-key")

    @property
    def authorization(self) -> str | None:
        return self.headers.get("authorization")


@dataclass
class _InjectedError:
    status: int
    body: dict[str, Any]
    method: str | None
    path_prefix: str | None
    headers: dict[str, str] = field(default_factory=dict)


def parse_form(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Turn Stripe's `a[b][0][c]=v` form encoding back into nested dicts and lists."""
    root: dict[str, Any] = {}
    for raw_key, value in pairs:
        parts = re.findall(r"[^\[\]]+", raw_key)
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return _lists_from_indexed_dicts(root)


def _lists_from_indexed_dicts(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    converted = {key: _lists_from_indexed_dicts(value) for key, value in node.items()}
    if converted and all(key.isdigit() for key in converted):
        return [converted[key] for key in sorted(converted, key=int)]
    return converted


def _bool(value: Any) -> bool:
    return str(value).lower() == "true"


class StripeAPIError(Exception):
    def __init__(
        self,
        status: int,
        error_type: str,
        message: str,
        *,
        code: str | None = None,
        param=None,
    ):
        super().__init__(message)
        self.status = status
        self.body = {"error": {"type": error_type, "message": message}}
        if code:
            self.body["error"]["code"] = code
        if param:
            self.body["error"]["param"] = param


def _missing(kind: str, object_id: str, *, param: str = "id") -> StripeAPIError:
    return StripeAPIError(
        404, "invalid_request_error", f"No such {kind}: '{object_id}'", code="resource_missing", param=param
    )


class FakeStripe:
    """The fake server and its state. Use as a context manager or call start()/stop()."""

    def __init__(self, *, api_key: str = API_KEY):
        self.api_key = api_key
        self.requests: list[RecordedRequest] = []
        self.customers: dict[str, dict] = {}
        self.deleted_customers: set[str] = set()
        self.products: dict[str, dict] = {}
        self.prices: dict[str, dict] = {}
        self.checkout_sessions: dict[str, dict] = {}
        self.portal_sessions: dict[str, dict] = {}
        self.subscriptions: dict[str, dict] = {}
        self.invoices: dict[str, dict] = {}
        self._errors: list[_InjectedError] = []
        self._idempotent: dict[tuple[str, str], tuple[str, dict, int, bytes]] = {}
        self._lock = threading.RLock()
        self._counter = itertools.count(1)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # lifecycle

    def start(self) -> Self:
        fake: FakeStripe = self

        class Handler(_Handler):
            stripe = fake

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="fake-stripe",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._server is not None, "FakeStripe is not started"
        port = self._server.server_port  # bound to 127.0.0.1 (start)
        return f"http://127.0.0.1:{port}"

    # test helpers

    def new_id(self, prefix: str) -> str:
        return f"{prefix}_fake{next(self._counter):04d}{secrets.token_hex(4)}"

    def requests_to(self, method: str, path: str) -> list[RecordedRequest]:
        """Recorded requests with this method whose path equals `path` or starts with `path` + '/'."""
        return [
            r
            for r in self.requests
            if r.method == method.upper() and (r.path == path or r.path.startswith(path.rstrip("/") + "/"))
        ]

    def fail_next(
        self,
        status: int,
        *,
        error_type: str = "api_error",
        message: str = "Something went wrong on the fake Stripe.",
        code: str | None = None,
        method: str | None = None,
        path_prefix: str | None = None,
        times: int = 1,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Answer the next `times` matching requests with this error instead of handling them."""
        body: dict[str, Any] = {"error": {"type": error_type, "message": message}}
        if code:
            body["error"]["code"] = code
        with self._lock:
            for _ in range(times):
                self._errors.append(
                    _InjectedError(
                        status,
                        body,
                        method and method.upper(),
                        path_prefix,
                        dict(headers or {}),
                    )
                )

    def add_product(self, *, name: str, product_id: str | None = None, **extra) -> dict:
        product = {
            "id": product_id or self.new_id("prod"),
            "object": "product",
            "active": True,
            "name": name,
            "description": None,
            "metadata": {},
            "created": int(time.time()),
            "livemode": False,
            **extra,
        }
        with self._lock:
            self.products[product["id"]] = product
        return product

    def add_price(
        self,
        *,
        product: str,
        unit_amount: int,
        currency: str = "usd",
        interval: str = "month",
        price_id: str | None = None,
        active: bool = True,
        **extra,
    ) -> dict:
        price = {
            "id": price_id or self.new_id("price"),
            "object": "price",
            "active": active,
            "currency": currency,
            "unit_amount": unit_amount,
            "unit_amount_decimal": str(unit_amount),
            "product": product,
            "type": "recurring",
            "recurring": {
                "interval": interval,
                "interval_count": 1,
                "usage_type": "licensed",
            },
            "metadata": {},
            "created": int(time.time()),
            "livemode": False,
            **extra,
        }
        with self._lock:
            self.prices[price["id"]] = price
        return price

    def add_customer(self, *, email: str = "", customer_id: str | None = None, metadata=None) -> dict:
        customer: dict[str, Any] = {
            "id": customer_id or self.new_id("cus"),
            "object": "customer",
            "email": email,
            "name": None,
            "metadata": dict(metadata or {}),
            "created": int(time.time()),
            "livemode": False,
        }
        with self._lock:
            self.customers[customer["id"]] = customer
        return customer

    def add_subscription(
        self,
        *,
        customer: str,
        price: str,
        status: str = "active",
        metadata: dict | None = None,
        period_start: int | None = None,
        period_end: int | None = None,
        subscription_id: str | None = None,
    ) -> dict:
        start = period_start if period_start is not None else int(time.time())
        price_obj = self.prices[price]
        if period_end is None:
            days = 365 if price_obj["recurring"]["interval"] == "year" else 30
            period_end = start + days * 86400
        sub_id = subscription_id or self.new_id("sub")
        subscription = {
            "id": sub_id,
            "object": "subscription",
            "customer": customer,
            "status": status,
            "cancel_at_period_end": False,
            "cancel_at": None,
            "canceled_at": None,
            "ended_at": None,
            "created": start,
            "start_date": start,
            "currency": price_obj["currency"],
            "metadata": dict(metadata or {}),
            "latest_invoice": None,
            "livemode": False,
            "items": {
                "object": "list",
                "data": [
                    {
                        "id": self.new_id("si"),
                        "object": "subscription_item",
                        "price": dict(price_obj),
                        "quantity": 1,
                        "subscription": sub_id,
                        "current_period_start": start,
                        "current_period_end": period_end,
                        "metadata": {},
                        "created": start,
                    }
                ],
                "has_more": False,
                "url": f"/v1/subscription_items?subscription={sub_id}",
            },
        }
        with self._lock:
            self.subscriptions[sub_id] = subscription
        return subscription

    def add_invoice(self, *, subscription: str, status: str = "paid", amount: int | None = None) -> dict:
        sub = self.subscriptions[subscription]
        item = sub["items"]["data"][0]
        amount = item["price"]["unit_amount"] if amount is None else amount
        number = next(self._counter)
        invoice = {
            "id": self.new_id("in"),
            "object": "invoice",
            "number": f"FAKE-{number:04d}",
            "customer": sub["customer"],
            "status": status,
            "currency": item["price"]["currency"],
            "amount_due": amount,
            "amount_paid": amount if status == "paid" else 0,
            "amount_remaining": 0 if status == "paid" else amount,
            "total": amount,
            "created": int(time.time()),
            "period_start": item["current_period_start"],
            "period_end": item["current_period_end"],
            "hosted_invoice_url": f"https://invoice.stripe.test/i/{number}",
            "billing_reason": "subscription_cycle",
            "livemode": False,
            "parent": {
                "type": "subscription_details",
                "quote_details": None,
                "subscription_details": {
                    "subscription": subscription,
                    "metadata": dict(sub["metadata"]),
                },
            },
            "lines": {
                "object": "list",
                "data": [
                    {
                        "id": self.new_id("il"),
                        "object": "line_item",
                        "amount": amount,
                        "currency": item["price"]["currency"],
                        "period": {
                            "start": item["current_period_start"],
                            "end": item["current_period_end"],
                        },
                        "pricing": {"price_details": {"price": item["price"]["id"]}},
                    }
                ],
                "has_more": False,
            },
        }
        with self._lock:
            self.invoices[invoice["id"]] = invoice
            sub["latest_invoice"] = invoice["id"]
        return invoice

    def add_checkout_session(
        self,
        *,
        customer: str,
        price: str,
        client_reference_id: str | None = None,
        metadata: dict | None = None,
        subscription_metadata: dict | None = None,
    ) -> dict:
        """An open subscription-mode Checkout Session, as if created through the API."""
        with self._lock:
            return self._checkout_create(
                {
                    "mode": "subscription",
                    "customer": customer,
                    "client_reference_id": client_reference_id,
                    "metadata": dict(metadata or {}),
                    "line_items": [{"price": price, "quantity": "1"}],
                    "subscription_data": {"metadata": dict(subscription_metadata or {})},
                }
            )

    def complete_checkout_session(self, session_id: str, *, status: str = "active") -> dict:
        """What happens when the customer pays: the session gets a subscription carrying its metadata.

        Only an open session can be paid (an expired one, or one whose customer was deleted, cannot)."""
        with self._lock:
            session = self.checkout_sessions[session_id]
            if session["status"] != "open" or session["customer"] in self.deleted_customers:
                raise ValueError(f"checkout session {session_id} cannot be paid (status {session['status']})")
            line = session["_line_items"][0]
            sub_metadata = dict((session.get("_subscription_data") or {}).get("metadata") or {})
            subscription = self.add_subscription(
                customer=session["customer"],
                price=line["price"],
                status=status,
                metadata=sub_metadata,
            )
            self.add_invoice(subscription=subscription["id"])
            session.update(
                {
                    "status": "complete",
                    "payment_status": "paid",
                    "subscription": subscription["id"],
                }
            )
            return subscription

    def event(
        self,
        event_type: str,
        obj: dict,
        *,
        created: int | None = None,
        event_id: str | None = None,
        previous_attributes: dict | None = None,
    ) -> dict:
        """A webhook event with the shape Stripe posts (a snapshot of `obj`)."""
        data: dict[str, Any] = {"object": _public(json.loads(json.dumps(obj)))}
        if previous_attributes is not None:
            data["previous_attributes"] = previous_attributes
        return {
            "id": event_id or self.new_id("evt"),
            "object": "event",
            "api_version": settings.STRIPE_API_VERSION,
            "created": created if created is not None else int(time.time()),
            "data": data,
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "type": event_type,
        }

    # request handling (called from the server threads)

    def handle(self, method: str, raw_path: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict, dict]:
        split = urlsplit(raw_path)
        path = split.path
        pairs = parse_qsl(split.query, keep_blank_values=True)
        if body:
            pairs += parse_qsl(body.decode("utf-8"), keep_blank_values=True)
        params = parse_form(pairs)
        with self._lock:
            self.requests.append(RecordedRequest(method, path, params, headers))
            injected = self._take_error(method, path)
            if injected is not None:
                return injected.status, injected.body, injected.headers
            if headers.get("authorization") != f"Bearer {self.api_key}":
                return (
                    401,
                    {
                        "error": {
                            "type": "invalid_request_error",
                            "message": "Invalid API Key provided.",
                        }
                    },
                    {},
                )
            key = headers.get("idempotency-key")
            if method == "POST" and key:
                cached = self._idempotent.get((self.api_key, key))
                if cached is not None:
                    first_path, first_params, first_status, first_payload = cached
                    if (first_path, first_params) != (path, params):
                        return (
                            400,
                            {
                                "error": {
                                    "type": "idempotency_error",
                                    "message": "Keys for idempotent requests can only be used with the same "
                                    "parameters they were first used with.",
                                }
                            },
                            {},
                        )
                    return first_status, json.loads(first_payload), {"Idempotent-Replayed": "true"}
            try:
                status, payload = 200, self._route(method, path, params)
            except StripeAPIError as exc:
                status, payload = exc.status, exc.body
            if method == "POST" and key:
                self._idempotent[(self.api_key, key)] = (
                    path,
                    params,
                    status,
                    json.dumps(payload).encode(),
                )
            return status, payload, {}

    def _take_error(self, method: str, path: str) -> _InjectedError | None:
        for index, error in enumerate(self._errors):
            if error.method and error.method != method:
                continue
            if error.path_prefix and not path.startswith(error.path_prefix):
                continue
            return self._errors.pop(index)
        return None

    def _route(self, method: str, path: str, params: dict) -> dict:
        routes: list[tuple[str, str, Callable[..., dict]]] = [
            ("POST", r"/v1/customers", self._customer_create),
            ("GET", r"/v1/customers/(?P<oid>[^/]+)", self._customer_retrieve),
            ("DELETE", r"/v1/customers/(?P<oid>[^/]+)", self._customer_delete),
            ("GET", r"/v1/products", self._product_list),
            ("GET", r"/v1/products/(?P<oid>[^/]+)", self._product_retrieve),
            ("GET", r"/v1/prices", self._price_list),
            ("GET", r"/v1/prices/(?P<oid>[^/]+)", self._price_retrieve),
            ("POST", r"/v1/checkout/sessions", self._checkout_create),
            ("GET", r"/v1/checkout/sessions", self._checkout_list),
            ("GET", r"/v1/checkout/sessions/(?P<oid>[^/]+)", self._checkout_retrieve),
            ("POST", r"/v1/checkout/sessions/(?P<oid>[^/]+)/expire", self._checkout_expire),
            ("POST", r"/v1/billing_portal/sessions", self._portal_create),
            ("GET", r"/v1/subscriptions/(?P<oid>[^/]+)", self._subscription_retrieve),
            ("POST", r"/v1/subscriptions/(?P<oid>[^/]+)", self._subscription_update),
            ("DELETE", r"/v1/subscriptions/(?P<oid>[^/]+)", self._subscription_cancel),
            ("GET", r"/v1/invoices", self._invoice_list),
        ]
        for route_method, pattern, handler in routes:
            match = re.fullmatch(pattern, path)
            if route_method == method and match:
                result = handler(params, **match.groupdict())
                return self._expand(_public(json.loads(json.dumps(result))), params.get("expand") or [])
        raise StripeAPIError(
            404,
            "invalid_request_error",
            f"Unrecognized request URL ({method}: {path}).",
        )

    def _expand(self, obj: dict, expand: list[str]) -> dict:
        for dotted in expand:
            target = obj
            parts = dotted.split(".")
            if parts[0] == "data" and obj.get("object") == "list":
                for item in obj["data"]:
                    self._expand(item, [".".join(parts[1:])])
                continue
            for part in parts[:-1]:
                target = target.get(part) or {}
            last = parts[-1]
            value = target.get(last) if isinstance(target, dict) else None
            if isinstance(value, str):
                store = {
                    "customer": self.customers,
                    "subscription": self.subscriptions,
                    "product": self.products,
                    "latest_invoice": self.invoices,
                }.get(last)
                if store is not None and value in store:
                    target[last] = _public(json.loads(json.dumps(store[value])))
        return obj

    def _customer_create(self, params: dict) -> dict:
        return self.add_customer(email=params.get("email", ""), metadata=params.get("metadata"))

    def _customer_retrieve(self, params: dict, oid: str) -> dict:
        if oid in self.deleted_customers:
            return {"id": oid, "object": "customer", "deleted": True}
        if oid not in self.customers:
            raise _missing("customer", oid)
        return self.customers[oid]

    def _customer_delete(self, params: dict, oid: str) -> dict:
        """Stripe deletes the customer for good, cancels its subscriptions at once and its open Checkout
        Sessions can no longer be paid; using the id afterwards is a `resource_missing`."""
        if oid not in self.customers:
            raise _missing("customer", oid)
        del self.customers[oid]
        self.deleted_customers.add(oid)
        now = int(time.time())
        for sub in self.subscriptions.values():
            if sub["customer"] == oid and sub["status"] not in ("canceled", "incomplete_expired"):
                sub.update({"status": "canceled", "canceled_at": now, "ended_at": now})
        for session in self.checkout_sessions.values():
            if session["customer"] == oid and session["status"] == "open":
                session.update({"status": "expired", "url": None})
        return {"id": oid, "object": "customer", "deleted": True}

    def _product_retrieve(self, params: dict, oid: str) -> dict:
        if oid not in self.products:
            raise _missing("product", oid)
        return self.products[oid]

    def _product_list(self, params: dict) -> dict:
        return _list(list(self.products.values()), "/v1/products")

    def _price_retrieve(self, params: dict, oid: str) -> dict:
        if oid not in self.prices:
            raise _missing("price", oid)
        return self.prices[oid]

    def _price_list(self, params: dict) -> dict:
        prices = list(self.prices.values())
        if "product" in params:
            prices = [p for p in prices if p["product"] == params["product"]]
        if "active" in params:
            prices = [p for p in prices if p["active"] == _bool(params["active"])]
        return _list(prices, "/v1/prices")

    def _checkout_create(self, params: dict) -> dict:
        if params.get("mode") not in {"payment", "setup", "subscription"}:
            raise StripeAPIError(
                400,
                "invalid_request_error",
                "Missing required param: mode.",
                param="mode",
            )
        line_items = params.get("line_items") or []
        if not line_items:
            raise StripeAPIError(
                400,
                "invalid_request_error",
                "Missing required param: line_items.",
                param="line_items",
            )
        for index, line in enumerate(line_items):
            if line.get("price") not in self.prices:
                raise _missing("price", line.get("price"), param=f"line_items[{index}][price]")
        customer = params.get("customer")
        if customer and customer not in self.customers:
            raise _missing("customer", customer, param="customer")
        session_id = self.new_id("cs_test")
        session = {
            "id": session_id,
            "object": "checkout.session",
            "mode": params["mode"],
            "customer": customer,
            "customer_email": params.get("customer_email"),
            "client_reference_id": params.get("client_reference_id"),
            "metadata": params.get("metadata") or {},
            "status": "open",
            "payment_status": "unpaid",
            "subscription": None,
            "success_url": params.get("success_url"),
            "cancel_url": params.get("cancel_url"),
            "url": f"https://checkout.stripe.test/c/pay/{session_id}",
            "created": int(time.time()),
            "livemode": False,
            "_line_items": line_items,
            "_subscription_data": params.get("subscription_data") or {},
        }
        self.checkout_sessions[session_id] = session
        return session

    def _checkout_retrieve(self, params: dict, oid: str) -> dict:
        if oid not in self.checkout_sessions:
            raise _missing("checkout.session", oid)
        return self.checkout_sessions[oid]

    def _checkout_list(self, params: dict) -> dict:
        sessions = [
            s
            for s in self.checkout_sessions.values()
            if (not params.get("customer") or s["customer"] == params["customer"])
            and (not params.get("status") or s["status"] == params["status"])
        ]
        sessions.sort(key=lambda s: s["created"], reverse=True)
        limit = int(params.get("limit") or 10)
        return _list(sessions[:limit], "/v1/checkout/sessions", has_more=len(sessions) > limit)

    def _checkout_expire(self, params: dict, oid: str) -> dict:
        session = self._checkout_retrieve(params, oid)
        if session["status"] != "open":
            raise StripeAPIError(
                400,
                "invalid_request_error",
                f'Only Checkout Sessions with a status in ["open"] can be expired. This session has status '
                f"`{session['status']}`.",
            )
        session.update({"status": "expired", "url": None})
        return session

    def _portal_create(self, params: dict) -> dict:
        customer = params.get("customer")
        if customer not in self.customers:
            raise _missing("customer", str(customer))
        session = {
            "id": self.new_id("bps"),
            "object": "billing_portal.session",
            "customer": customer,
            "return_url": params.get("return_url"),
            "url": f"https://billing.stripe.test/p/session/{customer}",
            "created": int(time.time()),
            "livemode": False,
        }
        self.portal_sessions[session["id"]] = session
        return session

    def _subscription_retrieve(self, params: dict, oid: str) -> dict:
        if oid not in self.subscriptions:
            raise _missing("subscription", oid)
        return self.subscriptions[oid]

    def _subscription_update(self, params: dict, oid: str) -> dict:
        sub = self._subscription_retrieve(params, oid)
        if sub["status"] == "canceled":
            raise StripeAPIError(
                400,
                "invalid_request_error",
                "A canceled subscription can only update its cancellation_details and metadata.",
            )
        for change in params.get("items") or []:
            item = next((i for i in sub["items"]["data"] if i["id"] == change.get("id")), None)
            if item is None:
                raise _missing("subscription_item", change.get("id"))
            if "price" in change:
                if change["price"] not in self.prices:
                    raise _missing("price", change["price"])
                item["price"] = dict(self.prices[change["price"]])
        if "cancel_at_period_end" in params:
            sub["cancel_at_period_end"] = _bool(params["cancel_at_period_end"])
            sub["cancel_at"] = sub["items"]["data"][0]["current_period_end"] if sub["cancel_at_period_end"] else None
        if "metadata" in params:
            sub["metadata"].update(params["metadata"])
        return sub

    def _subscription_cancel(self, params: dict, oid: str) -> dict:
        sub = self._subscription_retrieve(params, oid)
        now = int(time.time())
        sub.update({"status": "canceled", "canceled_at": now, "ended_at": now})
        return sub

    def _invoice_list(self, params: dict) -> dict:
        invoices = list(self.invoices.values())
        if "customer" in params:
            invoices = [i for i in invoices if i["customer"] == params["customer"]]
        if "subscription" in params:
            invoices = [
                i for i in invoices if i["parent"]["subscription_details"]["subscription"] == params["subscription"]
            ]
        invoices.sort(key=lambda i: i["created"], reverse=True)
        limit = int(params.get("limit", 10))
        return _list(invoices[:limit], "/v1/invoices", has_more=len(invoices) > limit)


def _list(data: list[dict], url: str, *, has_more: bool = False) -> dict:
    return {"object": "list", "data": data, "has_more": has_more, "url": url}


def _public(obj: Any) -> Any:
    """Drop the fake's private bookkeeping keys (those starting with '_') before answering."""
    if isinstance(obj, dict):
        return {k: _public(v) for k, v in obj.items() if not k.startswith("_")}
    if isinstance(obj, list):
        return [_public(v) for v in obj]
    return obj


class _Handler(BaseHTTPRequestHandler):
    stripe: FakeStripe
    protocol_version = "HTTP/1.1"

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {name.lower(): value for name, value in self.headers.items()}
        status, payload, extra_headers = self.stripe.handle(self.command, self.path, body, headers)
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Request-Id", f"req_fake{secrets.token_hex(6)}")
        self.send_header("Stripe-Version", headers.get("stripe-version", settings.STRIPE_API_VERSION))
        for name, value in extra_headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_DELETE = _serve

    def log_message(self, format: str, *args) -> None:
        pass
