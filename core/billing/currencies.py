"""Currency exponents: how many decimals Stripe's integer amounts carry in each currency.

The one table used wherever an amount is read from Stripe or shown (plan prices, invoices). Stripe counts
most currencies in hundredths, the zero-decimal ones in whole units and five in thousandths.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

DEFAULT_EXPONENT = 2
_ZERO_DECIMAL = "bif clp djf gnf jpy kmf krw mga pyg rwf ugx vnd vuv xaf xof xpf"
_THREE_DECIMAL = "bhd jod kwd omr tnd"
EXPONENTS: dict[str, int] = {**dict.fromkeys(_ZERO_DECIMAL.split(), 0), **dict.fromkeys(_THREE_DECIMAL.split(), 3)}
# What the amount columns can hold: the largest exponent in the table.
MAX_EXPONENT = max(EXPONENTS.values())


def exponent(currency: str) -> int:
    return EXPONENTS.get(currency.lower(), DEFAULT_EXPONENT)


def _unit(currency: str) -> Decimal:
    return Decimal(1).scaleb(-exponent(currency))


def amount_from_minor(amount: int | None, currency: str) -> Decimal | None:
    """Stripe's integer amount in the smallest unit -> the main unit (500 usd -> 5.00, 1250 kwd -> 1.250)."""
    if amount is None:
        return None
    return Decimal(int(amount)).scaleb(-exponent(currency)).quantize(_unit(currency))


def amount_display(amount: Decimal | None, currency: str) -> str | None:
    """An amount in the main unit as shown to people: exactly the currency's decimals ("5.00", "500",
    "1.250")."""
    if amount is None:
        return None
    return format(Decimal(amount).quantize(_unit(currency), rounding=ROUND_HALF_UP), "f")
