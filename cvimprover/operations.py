"""Settings of operations that need more than a type: LLM_PRICES."""

import json
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ImproperlyConfigured

_PRICES_HELP = (
    "LLM_PRICES must be a JSON object of model name to [input, output] dollars per million tokens, "
    'e.g. {"gpt-4o-mini": [0.15, 0.6]}'
)


def parse_llm_prices(raw: str) -> dict[str, tuple[Decimal, Decimal]]:
    """``{"model": [in, out]}`` as Decimals (read from the JSON text, so 0.15 stays exactly 0.15)."""
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw, parse_float=Decimal, parse_int=Decimal)
    except (ValueError, InvalidOperation) as exc:
        raise ImproperlyConfigured(_PRICES_HELP) from exc
    if not isinstance(data, dict):
        raise ImproperlyConfigured(_PRICES_HELP)
    prices = {}
    for model, pair in data.items():
        if (
            not model
            or not isinstance(pair, list)
            or len(pair) != 2
            or not all(isinstance(p, Decimal) and p.is_finite() and p >= 0 for p in pair)
        ):
            raise ImproperlyConfigured(f"{_PRICES_HELP}; {model!r} is not.")
        prices[str(model)] = (pair[0], pair[1])
    return prices
