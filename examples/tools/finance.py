"""Finance tools: symbol lookup, quotes, price history, portfolios, currencies, loans and savings.

Every tool is deterministic and offline. Securities and exchange rates come from the small
tables below (illustrative figures, not market data); prices follow a smooth made-up path
derived from the symbol and the date, and the latest trading day is fixed at `AS_OF`, so a
quote and the last point of a price history always agree. Bad input raises `ValueError` with the
reason, the way a real API answers 400.

Data flow between the tools:

    lookup_symbol -> symbol -> get_stock_quote, get_price_history, portfolio_value (holdings[].symbol)
    get_stock_quote / portfolio_value -> currency -> convert_currency (from_currency)
"""

import datetime
import hashlib
import math
import typing
from typing import Annotated, Literal

from annotated_types import Gt, Interval, MaxLen, MinLen
from typing_extensions import TypedDict

AS_OF = "2025-12-31"
"""The latest trading day: quotes are its close, histories end on it at the latest."""

_AS_OF_DATE = datetime.date.fromisoformat(AS_OF)
_MAX_POINTS = 400

# --------------------------------------------------------------------------- reference data


class _Security(typing.NamedTuple):
    symbol: str
    name: str
    exchange: str
    currency: str
    asset_type: Literal["stock", "etf"]
    reference_price: float  # the level the made-up price path wanders around


_SECURITIES = (
    _Security("AAPL", "Apple Inc.", "NASDAQ", "USD", "stock", 195.0),
    _Security("MSFT", "Microsoft Corporation", "NASDAQ", "USD", "stock", 420.0),
    _Security("GOOGL", "Alphabet Inc. Class A", "NASDAQ", "USD", "stock", 170.0),
    _Security("AMZN", "Amazon.com, Inc.", "NASDAQ", "USD", "stock", 185.0),
    _Security("NVDA", "NVIDIA Corporation", "NASDAQ", "USD", "stock", 120.0),
    _Security("TSLA", "Tesla, Inc.", "NASDAQ", "USD", "stock", 250.0),
    _Security("META", "Meta Platforms, Inc.", "NASDAQ", "USD", "stock", 500.0),
    _Security("JPM", "JPMorgan Chase & Co.", "NYSE", "USD", "stock", 200.0),
    _Security("V", "Visa Inc.", "NYSE", "USD", "stock", 275.0),
    _Security("KO", "The Coca-Cola Company", "NYSE", "USD", "stock", 62.0),
    _Security("SPY", "SPDR S&P 500 ETF Trust", "NYSE Arca", "USD", "etf", 540.0),
    _Security("QQQ", "Invesco QQQ Trust", "NASDAQ", "USD", "etf", 470.0),
    _Security("SAP.DE", "SAP SE", "XETRA", "EUR", "stock", 180.0),
    _Security("SHEL.L", "Shell plc", "LSE", "GBP", "stock", 27.5),
    _Security("NESN.SW", "Nestlé S.A.", "SIX", "CHF", "stock", 95.0),
    _Security("7203.T", "Toyota Motor Corporation", "TSE", "JPY", "stock", 2900.0),
)
_SECURITY_BY_SYMBOL = {security.symbol: security for security in _SECURITIES}

_UNITS_PER_USD = {  # reference exchange rates on AS_OF: how many units of each currency one USD buys
    "USD": 1.0,
    "EUR": 0.92,
    "GBP": 0.79,
    "CHF": 0.88,
    "JPY": 151.2,
    "CAD": 1.36,
    "AUD": 1.52,
    "NZD": 1.65,
    "CNY": 7.21,
    "HKD": 7.82,
    "SGD": 1.35,
    "INR": 83.3,
    "KRW": 1352.0,
    "MXN": 17.1,
    "BRL": 5.05,
    "ZAR": 18.6,
    "SEK": 10.6,
    "NOK": 10.8,
    "DKK": 6.87,
    "AED": 3.6725,
}

BarInterval = Literal["daily", "weekly", "monthly"]
Compounding = Literal["monthly", "quarterly", "annually"]
_PERIODS_PER_YEAR = {"monthly": 12, "quarterly": 4, "annually": 1}

# --------------------------------------------------------------------------- argument and result types


class Holding(TypedDict):
    """A position in a portfolio."""

    symbol: str
    shares: float


class SymbolMatch(TypedDict):
    """A security whose symbol or name matches a lookup."""

    symbol: str
    name: str
    exchange: str
    currency: str
    asset_type: Literal["stock", "etf"]


class SymbolLookup(TypedDict):
    """Securities matching a query, best match first."""

    query: str
    matches: list[SymbolMatch]


class Quote(TypedDict):
    """The latest daily quote of a security."""

    symbol: str
    name: str
    exchange: str
    currency: str
    price: float
    previous_close: float
    change: float
    change_percent: float
    day_high: float
    day_low: float
    volume: int
    as_of: str


class PriceBar(TypedDict):
    """Prices over one trading day, week or month."""

    date: str
    open: float
    high: float
    low: float
    close: float
    volume: int


class PriceHistory(TypedDict):
    """Prices of a security over a date range, oldest first."""

    symbol: str
    currency: str
    interval: BarInterval
    prices: list[PriceBar]


class Position(TypedDict):
    """One holding valued at the latest price."""

    symbol: str
    shares: float
    price: float
    price_currency: str
    value: float
    weight_percent: float


class Portfolio(TypedDict):
    """A portfolio's value in one currency, with each position's value and weight."""

    currency: str
    total_value: float
    positions: list[Position]
    as_of: str


class Conversion(TypedDict):
    """An amount converted between currencies at the reference rate."""

    amount: float
    from_currency: str
    to_currency: str
    rate: float
    converted_amount: float
    as_of: str


class Payment(TypedDict):
    """One monthly instalment of a loan."""

    month: int
    payment: float
    principal: float
    interest: float
    balance: float


class LoanPayment(TypedDict):
    """The cost of a fixed-rate loan repaid in equal monthly instalments."""

    monthly_payment: float
    number_of_payments: int
    total_paid: float
    total_interest: float
    first_year: list[Payment]


class YearEnd(TypedDict):
    """The balance of a savings plan at the end of one year."""

    year: int
    balance: float
    total_contributions: float
    total_interest: float


class SavingsProjection(TypedDict):
    """How a savings plan grows, year by year."""

    final_balance: float
    total_contributions: float
    total_interest: float
    by_year: list[YearEnd]


# --------------------------------------------------------------------------- tools


def lookup_symbol(query: str, limit: Annotated[int, Interval(ge=1, le=10)] = 5) -> SymbolLookup:
    """Find the ticker symbol of a company or fund by name or symbol.

    Matches the query against symbols and names, e.g. "apple" finds AAPL. An empty list
    means nothing matched.

    Args:
        query: Company or fund name, or part of it, or a ticker symbol.
        limit: Most matches to return, from 1 to 10.

    Returns:
        The matching securities with symbol, name, exchange, trading currency and type.

    Raises:
        ValueError: The query is empty or the limit is out of range.
    """
    text = query.strip().casefold()
    if not text:
        raise ValueError("query must not be empty")
    _check_range("limit", limit, 1, 10)
    scored = []
    for security in _SECURITIES:
        symbol, name = security.symbol.casefold(), security.name.casefold()
        if text == symbol or text == symbol.split(".")[0]:
            rank = 0
        elif name.startswith(text):
            rank = 1
        elif text in name or text in symbol:
            rank = 2
        else:
            continue
        scored.append((rank, security.symbol))
    matches: list[SymbolMatch] = []
    for _, symbol in sorted(scored)[:limit]:
        security = _SECURITY_BY_SYMBOL[symbol]
        matches.append(
            {
                "symbol": security.symbol,
                "name": security.name,
                "exchange": security.exchange,
                "currency": security.currency,
                "asset_type": security.asset_type,
            }
        )
    return {"query": query, "matches": matches}


def get_stock_quote(symbol: str) -> Quote:
    """Get the latest quote of a stock or ETF.

    Gives the last closing price with the change from the previous close and the day's range
    and volume, in the security's trading currency.

    Args:
        symbol: Ticker symbol, e.g. "AAPL" or "SAP.DE"; use lookup_symbol to find one from a name.

    Returns:
        The quote: price, previous close, change, change in percent, day high and low, volume and date.

    Raises:
        ValueError: The symbol is unknown.
    """
    security = _security(symbol)
    today = _bar(security, _AS_OF_DATE)
    previous = _previous_trading_day(_AS_OF_DATE)
    previous_close = _bar(security, previous)["close"]
    change = today["close"] - previous_close
    return {
        "symbol": security.symbol,
        "name": security.name,
        "exchange": security.exchange,
        "currency": security.currency,
        "price": today["close"],
        "previous_close": previous_close,
        "change": round(change, 2),
        "change_percent": round(100 * change / previous_close, 2),
        "day_high": today["high"],
        "day_low": today["low"],
        "volume": today["volume"],
        "as_of": AS_OF,
    }


def get_price_history(
    symbol: str,
    start_date: str,
    end_date: str,
    interval: BarInterval = "daily",
) -> PriceHistory:
    """Get the historical prices of a stock or ETF between two dates.

    Daily bars cover trading days (weekdays); weekly and monthly bars are dated by their last
    trading day and aggregate the days inside them. At most 400 bars per request.

    Args:
        symbol: Ticker symbol, e.g. "MSFT"; use lookup_symbol to find one from a name.
        start_date: First day of the range, in YYYY-MM-DD format.
        end_date: Last day of the range, in YYYY-MM-DD format; not after the latest trading day (2025-12-31).
        interval: Length of each bar.

    Returns:
        The bars, oldest first, with open, high, low, close and volume in the trading currency.

    Raises:
        ValueError: The symbol is unknown, a date is malformed, end_date is before start_date or
            after the latest trading day, or the range needs more than 400 bars.
    """
    security = _security(symbol)
    start = _parse_date(start_date, "start_date")
    end = _parse_date(end_date, "end_date")
    _check_choice("interval", interval, ("daily", "weekly", "monthly"))
    if end < start:
        raise ValueError(f"end_date ({end_date}) must not be before start_date ({start_date})")
    if end > _AS_OF_DATE:
        raise ValueError(f"end_date ({end_date}) is after the latest trading day, {AS_OF}")
    days = [start + datetime.timedelta(days=n) for n in range((end - start).days + 1)]
    trading = [day for day in days if day.weekday() < 5]
    groups: dict[tuple[int, int], list[datetime.date]] = {}
    for day in trading:
        if interval == "daily":
            key = (day.toordinal(), 0)
        elif interval == "weekly":
            key = (day.isocalendar().year, day.isocalendar().week)
        else:
            key = (day.year, day.month)
        groups.setdefault(key, []).append(day)
    if len(groups) > _MAX_POINTS:
        raise ValueError(
            f"the range has {len(groups)} {interval} bars, more than {_MAX_POINTS}; "
            "shorten it or use a longer interval"
        )
    prices: list[PriceBar] = []
    for group in groups.values():
        bars = [_bar(security, day) for day in group]
        prices.append(
            {
                "date": group[-1].isoformat(),
                "open": bars[0]["open"],
                "high": max(bar["high"] for bar in bars),
                "low": min(bar["low"] for bar in bars),
                "close": bars[-1]["close"],
                "volume": sum(bar["volume"] for bar in bars),
            }
        )
    return {"symbol": security.symbol, "currency": security.currency, "interval": interval, "prices": prices}


def portfolio_value(
    holdings: Annotated[list[Holding], MinLen(1), MaxLen(50)],
    currency: str = "USD",
) -> Portfolio:
    """Value a portfolio of stocks and ETFs at the latest prices in one currency.

    Positions traded in other currencies are converted at the reference exchange rates.

    Args:
        holdings: The positions, 1 to 50, each a symbol (e.g. "AAPL") and a number of shares greater than 0.
        currency: ISO 4217 code of the currency to value the portfolio in, e.g. "USD" or "EUR".

    Returns:
        The total value and each position's price, value and weight in percent of the total.

    Raises:
        ValueError: A symbol is unknown or repeated, a number of shares is not positive, or the
            currency is unsupported.
    """
    target = _currency(currency, "currency")
    if not 1 <= len(holdings) <= 50:
        raise ValueError(f"holdings must list 1 to 50 positions, got {len(holdings)}")
    valued: list[tuple[_Security, float, float, float]] = []
    seen: set[str] = set()
    for holding in holdings:
        security = _security(holding["symbol"])
        if security.symbol in seen:
            raise ValueError(f"{security.symbol} is listed twice in holdings; give each symbol once")
        seen.add(security.symbol)
        shares = holding["shares"]
        if not shares > 0:
            raise ValueError(f"shares of {security.symbol} must be greater than 0, got {shares}")
        price = _bar(security, _AS_OF_DATE)["close"]
        value = shares * price * _rate(security.currency, target)
        valued.append((security, shares, price, value))
    total = sum(value for *_, value in valued)
    positions: list[Position] = [
        {
            "symbol": security.symbol,
            "shares": shares,
            "price": price,
            "price_currency": security.currency,
            "value": round(value, 2),
            "weight_percent": round(100 * value / total, 2),
        }
        for security, shares, price, value in valued
    ]
    return {"currency": target, "total_value": round(total, 2), "positions": positions, "as_of": AS_OF}


def convert_currency(amount: Annotated[float, Gt(0)], from_currency: str, to_currency: str) -> Conversion:
    """Convert an amount of money from one currency to another.

    Uses the reference exchange rates of the latest trading day; 20 major currencies are supported.

    Args:
        amount: The amount to convert, in from_currency; greater than 0.
        from_currency: ISO 4217 code of the currency the amount is in, e.g. "USD".
        to_currency: ISO 4217 code of the currency to convert to, e.g. "EUR".

    Returns:
        The amount, both currencies, the rate applied (units of to_currency per unit of
        from_currency) and the converted amount.

    Raises:
        ValueError: The amount is not positive, or a currency code is malformed or unsupported.
    """
    source = _currency(from_currency, "from_currency")
    target = _currency(to_currency, "to_currency")
    if not amount > 0:
        raise ValueError(f"amount must be greater than 0, got {amount}")
    rate = _rate(source, target)
    return {
        "amount": amount,
        "from_currency": source,
        "to_currency": target,
        "rate": round(rate, 6),
        "converted_amount": round(amount * rate, 2),
        "as_of": AS_OF,
    }


def loan_payment(
    principal: Annotated[float, Gt(0)],
    annual_rate_percent: Annotated[float, Interval(ge=0, le=50)],
    term_months: Annotated[int, Interval(ge=1, le=600)],
) -> LoanPayment:
    """Calculate the monthly payment of a fixed-rate loan or mortgage.

    Uses the standard annuity formula: equal monthly instalments that repay interest and
    principal over the term.

    Args:
        principal: Amount borrowed; greater than 0.
        annual_rate_percent: Nominal annual interest rate in percent, e.g. 6.5 for 6.5 %; 0 to 50.
        term_months: Number of monthly payments, from 1 to 600 (e.g. 360 for 30 years).

    Returns:
        The monthly payment, the totals paid and of interest, and the first twelve months of the
        amortisation schedule.

    Raises:
        ValueError: The principal is not positive, or the rate or term is out of range.
    """
    if not principal > 0:
        raise ValueError(f"principal must be greater than 0, got {principal}")
    _check_range("annual_rate_percent", annual_rate_percent, 0, 50)
    _check_range("term_months", term_months, 1, 600)
    monthly_rate = annual_rate_percent / 100 / 12
    if monthly_rate == 0:
        payment = principal / term_months
    else:
        payment = principal * monthly_rate / (1 - (1 + monthly_rate) ** -term_months)
    schedule: list[Payment] = []
    balance = principal
    for month in range(1, min(12, term_months) + 1):
        interest = balance * monthly_rate
        balance -= payment - interest
        schedule.append(
            {
                "month": month,
                "payment": round(payment, 2),
                "principal": round(payment - interest, 2),
                "interest": round(interest, 2),
                "balance": round(max(balance, 0.0), 2),
            }
        )
    return {
        "monthly_payment": round(payment, 2),
        "number_of_payments": term_months,
        "total_paid": round(payment * term_months, 2),
        "total_interest": round(payment * term_months - principal, 2),
        "first_year": schedule,
    }


def savings_projection(
    initial_deposit: Annotated[float, Interval(ge=0)],
    monthly_contribution: Annotated[float, Interval(ge=0)],
    annual_rate_percent: Annotated[float, Interval(ge=0, le=30)],
    years: Annotated[int, Interval(ge=1, le=50)],
    compounding: Compounding = "monthly",
) -> SavingsProjection:
    """Project the growth of savings with regular monthly contributions.

    Contributions are made at the end of each month; interest compounds at the chosen frequency.

    Args:
        initial_deposit: Amount saved at the start; 0 or more.
        monthly_contribution: Amount added at the end of every month; 0 or more.
        annual_rate_percent: Nominal annual interest rate in percent, e.g. 4 for 4 %; 0 to 30.
        years: Length of the plan in years, from 1 to 50.
        compounding: How often interest is compounded.

    Returns:
        The final balance, the totals contributed and earned, and the balance at the end of each year.

    Raises:
        ValueError: An amount is negative, the rate or number of years is out of range, or both
            amounts are 0.
    """
    if initial_deposit < 0 or monthly_contribution < 0:
        raise ValueError("initial_deposit and monthly_contribution must not be negative")
    if initial_deposit == 0 and monthly_contribution == 0:
        raise ValueError("initial_deposit and monthly_contribution are both 0; there is nothing to grow")
    _check_range("annual_rate_percent", annual_rate_percent, 0, 30)
    _check_range("years", years, 1, 50)
    _check_choice("compounding", compounding, tuple(_PERIODS_PER_YEAR))
    periods = _PERIODS_PER_YEAR[compounding]
    monthly_growth = (1 + annual_rate_percent / 100 / periods) ** (periods / 12)
    balance, contributed = initial_deposit, initial_deposit
    by_year: list[YearEnd] = []
    for year in range(1, years + 1):
        for _ in range(12):
            balance = balance * monthly_growth + monthly_contribution
            contributed += monthly_contribution
        by_year.append(
            {
                "year": year,
                "balance": round(balance, 2),
                "total_contributions": round(contributed, 2),
                "total_interest": round(balance - contributed, 2),
            }
        )
    return {
        "final_balance": round(balance, 2),
        "total_contributions": round(contributed, 2),
        "total_interest": round(balance - contributed, 2),
        "by_year": by_year,
    }


# --------------------------------------------------------------------------- helpers


def _fraction(*parts: object) -> float:
    """A stable number in [0, 1) derived from the parts: the same on every machine and run."""
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()
    return int(digest[:13], 16) / 16**13


def _check_range(name: str, value: float, low: float, high: float) -> None:
    if not low <= value <= high:
        raise ValueError(f"{name} must be between {low} and {high}, got {value}")


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)}; got {value!r}")


def _parse_date(value: str, name: str) -> datetime.date:
    """A YYYY-MM-DD date, strictly (fromisoformat alone also takes 20250614 and week dates)."""
    try:
        if len(value) != 10 or value[4] != "-" or value[7] != "-":
            raise ValueError
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{name} must be a date in YYYY-MM-DD format, got {value!r}") from None


def _security(symbol: str) -> _Security:
    security = _SECURITY_BY_SYMBOL.get(symbol.strip().upper())
    if security is None:
        raise ValueError(f"unknown symbol {symbol!r}; use lookup_symbol to find the symbol of a company")
    return security


def _currency(code: str, name: str) -> str:
    normalized = code.strip().upper()
    if len(normalized) != 3 or not normalized.isalpha():
        raise ValueError(f"{name} must be a 3-letter ISO 4217 currency code such as 'USD', got {code!r}")
    if normalized not in _UNITS_PER_USD:
        raise ValueError(
            f"{name} {normalized} is not supported; supported currencies: {', '.join(sorted(_UNITS_PER_USD))}"
        )
    return normalized


def _rate(source: str, target: str) -> float:
    """Units of `target` that one unit of `source` buys."""
    return _UNITS_PER_USD[target] / _UNITS_PER_USD[source]


def _previous_trading_day(day: datetime.date) -> datetime.date:
    day -= datetime.timedelta(days=1)
    while day.weekday() >= 5:
        day -= datetime.timedelta(days=1)
    return day


def _close(security: _Security, day: datetime.date) -> float:
    """A smooth, made-up closing price: a drift, two slow waves and a little daily noise."""
    years = (day - _AS_OF_DATE).days / 365.25
    drift = 0.03 + 0.12 * _fraction("drift", security.symbol)
    phase1 = 2 * math.pi * _fraction("phase1", security.symbol)
    phase2 = 2 * math.pi * _fraction("phase2", security.symbol)
    wave = 0.12 * math.sin(2 * math.pi * years / 1.7 + phase1) + 0.05 * math.sin(
        2 * math.pi * years / 0.3 + phase2
    )
    noise = 0.024 * (_fraction("noise", security.symbol, day) - 0.5)
    return security.reference_price * math.exp(drift * years + wave + noise)


def _bar(security: _Security, day: datetime.date) -> PriceBar:
    key = (security.symbol, day)
    close = _close(security, day)
    open_ = close * (1 + 0.02 * (_fraction("open", *key) - 0.5))
    high = max(open_, close) * (1 + 0.012 * _fraction("high", *key))
    low = min(open_, close) * (1 - 0.012 * _fraction("low", *key))
    volume = int(2_000_000 + 48_000_000 * _fraction("volume", *key) ** 2)
    return {
        "date": day.isoformat(),
        "open": round(open_, 2),
        "high": round(high, 2),
        "low": round(low, 2),
        "close": round(close, 2),
        "volume": volume,
    }
