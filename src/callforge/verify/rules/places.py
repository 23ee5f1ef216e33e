"""Small word lists the grounding rule needs: region names and codes, aliases, well-known constants.

A value like "Austin, TX" for a request that says "Austin" is an enrichment every good assistant
makes, not an invention; the region part is accepted when it names a US state or a country (by
name or code). Aliases turn what people write ("LA", "euros", "kilometres") into what tools take
("Los Angeles", "EUR", "km"). Our own lists; deliberately short and easy to extend.
"""

from __future__ import annotations

US_STATES = {
    "al": "alabama", "ak": "alaska", "az": "arizona", "ar": "arkansas", "ca": "california", "co": "colorado",
    "ct": "connecticut", "de": "delaware", "fl": "florida", "ga": "georgia", "hi": "hawaii", "id": "idaho",
    "il": "illinois", "in": "indiana", "ia": "iowa", "ks": "kansas", "ky": "kentucky", "la": "louisiana",
    "me": "maine", "md": "maryland", "ma": "massachusetts", "mi": "michigan", "mn": "minnesota",
    "ms": "mississippi", "mo": "missouri", "mt": "montana", "ne": "nebraska", "nv": "nevada",
    "nh": "new hampshire", "nj": "new jersey", "nm": "new mexico", "ny": "new york", "nc": "north carolina",
    "nd": "north dakota", "oh": "ohio", "ok": "oklahoma", "or": "oregon", "pa": "pennsylvania",
    "ri": "rhode island", "sc": "south carolina", "sd": "south dakota", "tn": "tennessee", "tx": "texas",
    "ut": "utah", "vt": "vermont", "va": "virginia", "wa": "washington", "wv": "west virginia",
    "wi": "wisconsin", "wy": "wyoming", "dc": "district of columbia",
}  # fmt: skip

COUNTRIES = {
    "us": "united states", "usa": "united states", "uk": "united kingdom", "gb": "united kingdom",
    "ca": "canada", "mx": "mexico", "br": "brazil", "ar": "argentina", "cl": "chile", "co": "colombia",
    "pe": "peru", "fr": "france", "de": "germany", "es": "spain", "it": "italy", "pt": "portugal",
    "nl": "netherlands", "be": "belgium", "ch": "switzerland", "at": "austria", "ie": "ireland",
    "se": "sweden", "no": "norway", "dk": "denmark", "fi": "finland", "pl": "poland", "cz": "czechia",
    "gr": "greece", "tr": "turkey", "ru": "russia", "ua": "ukraine", "ro": "romania", "hu": "hungary",
    "cn": "china", "jp": "japan", "kr": "south korea", "in": "india", "pk": "pakistan", "bd": "bangladesh",
    "id": "indonesia", "th": "thailand", "vn": "vietnam", "my": "malaysia", "sg": "singapore",
    "ph": "philippines", "au": "australia", "nz": "new zealand", "za": "south africa", "eg": "egypt",
    "ng": "nigeria", "ke": "kenya", "ma": "morocco", "et": "ethiopia", "gh": "ghana", "tz": "tanzania",
    "ae": "united arab emirates", "sa": "saudi arabia", "il": "israel", "ir": "iran", "iq": "iraq",
    "hk": "hong kong", "tw": "taiwan", "is": "iceland", "hr": "croatia", "rs": "serbia", "cu": "cuba",
}  # fmt: skip

CANADA = {
    "on": "ontario", "qc": "quebec", "bc": "british columbia", "ab": "alberta", "mb": "manitoba",
    "sk": "saskatchewan", "ns": "nova scotia", "nb": "new brunswick", "nl": "newfoundland", "pe": "prince edward island",
}  # fmt: skip

CONTINENTS = frozenset({"america", "europe", "asia", "africa", "australia", "pacific", "atlantic", "indian", "antarctica"})
"""The first part of IANA time zone names (`America/New_York`)."""

REGIONS = frozenset(
    set(CANADA) | set(CANADA.values()) |
    set(US_STATES) | set(US_STATES.values()) | set(COUNTRIES) | set(COUNTRIES.values())
    | {"england", "scotland", "wales", "europe", "asia", "africa", "uae", "prc", "korea", "america",
       "deutschland", "espana", "nippon", "holland"}
)  # fmt: skip
"""Folded region names and codes that may qualify a grounded place ("Paris, France", "Austin, TX")."""

ALIASES: dict[str, str] = {
    # places people abbreviate
    "la": "los angeles", "sf": "san francisco", "nyc": "new york city", "ny": "new york", "sd": "san diego",
    "dc": "washington", "philly": "philadelphia", "vegas": "las vegas", "chi": "chicago",
    "nola": "new orleans", "atl": "atlanta", "bk": "brooklyn",
    # currencies
    "euro": "eur", "euros": "eur", "dollar": "usd", "dollars": "usd", "pound": "gbp lb lbs",
    "pounds": "gbp lb lbs", "sterling": "gbp", "yen": "jpy", "yuan": "cny", "rmb": "cny", "renminbi": "cny",
    "rupee": "inr", "rupees": "inr", "franc": "chf", "francs": "chf", "won": "krw", "peso": "mxn",
    "pesos": "mxn", "ruble": "rub", "rubles": "rub", "bitcoin": "btc",
    # units
    "centimeter": "cm", "centimeters": "cm", "centimetre": "cm", "centimetres": "cm", "meter": "m meters",
    "meters": "m meter", "metre": "m meters", "metres": "m meters", "kilometer": "km", "kilometers": "km",
    "kilometre": "km", "kilometres": "km", "mile": "mi", "miles": "mi", "kilogram": "kg", "kilograms": "kg",
    "gram": "g", "grams": "g", "inch": "in", "inches": "in", "foot": "ft feet", "feet": "ft foot",
    "celsius": "c", "fahrenheit": "f", "kelvin": "k", "hour": "h hr hours", "hours": "h hr hour",
    "minute": "min minutes", "minutes": "min minute", "second": "s sec seconds", "seconds": "s sec second",
    "liter": "l", "liters": "l", "litre": "l", "litres": "l", "millimeter": "mm", "millimeters": "mm",
    "percent": "%", "kmh": "km/h", "mph": "miles per hour",
}  # fmt: skip
"""Folded word → extra words a text containing it also states."""

TICKERS = {
    "apple": "aapl", "microsoft": "msft", "google": "goog googl", "alphabet": "goog googl", "amazon": "amzn",
    "tesla": "tsla", "meta": "meta", "facebook": "meta fb", "nvidia": "nvda", "netflix": "nflx",
    "intel": "intc", "ibm": "ibm", "oracle": "orcl", "salesforce": "crm", "adobe": "adbe", "amd": "amd",
}  # fmt: skip
"""Tickers of the companies people name most (folded name → its tickers)."""

KNOWN_TICKERS = frozenset(t for tickers in TICKERS.values() for t in tickers.split())

ALIASES.update(TICKERS)
ALIASES.update({
    # airports that stand for their city
    "lax": "los angeles", "jfk": "new york", "sfo": "san francisco", "lhr": "london", "cdg": "paris",
})  # fmt: skip

BIGRAM_ALIASES: dict[tuple[str, str], str] = {
    ("canadian", "dollar"): "cad", ("canadian", "dollars"): "cad", ("australian", "dollar"): "aud",
    ("australian", "dollars"): "aud", ("us", "dollars"): "usd", ("us", "dollar"): "usd",
    ("swiss", "franc"): "chf", ("swiss", "francs"): "chf",
    ("san", "fran"): "san francisco", ("big", "apple"): "new york", ("chi", "town"): "chicago",
    ("new", "york"): "nyc ny", ("los", "angeles"): "la", ("san", "francisco"): "sf",
    ("united", "states"): "us usa", ("united", "kingdom"): "uk gb", ("hong", "kong"): "hk hkd",
}  # fmt: skip

CONSTANTS = frozenset(
    {
        9.8, 9.81, 9.807, 9.80665, -9.8, -9.81,  # gravity, m/s²
        3.14, 3.1416, 3.14159, 3.141592653589793, 2.718, 2.71828,  # pi, e
        299792458.0, 3e8, 299792.458,  # speed of light, m/s and km/s
        6.674e-11, 6.67e-11, 6.022e23, 6.02e23, 6.626e-34, 1.38e-23, 1.602e-19, 1.6e-19,  # G, NA, h, kB, e
        8.854e-12, 8.85e-12, 8.99e9, 9e9, 1.257e-6, 4e-7, 8.314, 101325.0, 1.225, 343.0,  # eps0, k, mu0, R, atm
        52.0, 13.0, 4.0, 6.0, 365.0, 366.0, 24.0, 60.0, 3600.0, 12.0, 7.0, 1024.0, 0.5,  # cards, calendar, dice
        6.2832, 6.283, 6.28, 6.283185307179586, 1.2566e-6, 1.256e-6,  # 2 pi, mu0 written out
        0.05, 0.01, 0.95, 0.99,  # the conventional significance and confidence levels
    }
)
"""Numbers every assistant may supply unasked: physical constants, a deck of cards, calendar units."""


_COMMON_WORDS = frozenset(
    ["in", "or", "me", "hi", "ok", "de", "id", "co", "no", "is", "at", "it", "my", "be", "la", "ma", "pa", "al", "ga", "mo", "oh", "am", "as", "an", "us", "ne", "nd", "sc", "va", "wa", "on", "pe", "et", "ca", "il"]
)


def _code_aliases() -> None:
    """Region names and their codes state each other: "Illinois" grounds `IL`, "UK" grounds `GB`."""
    names: dict[str, list[str]] = {}
    for table in (US_STATES, COUNTRIES, CANADA):
        for code, name in table.items():
            names.setdefault(name, []).append(code)
    for name, codes in names.items():
        parts = name.split()
        expansion = " ".join([*codes, name])
        if len(parts) == 1:
            ALIASES[name] = " ".join(filter(None, [ALIASES.get(name, ""), *codes]))
        elif len(parts) == 2:
            key = (parts[0], parts[1])
            BIGRAM_ALIASES[key] = " ".join(filter(None, [BIGRAM_ALIASES.get(key, ""), *codes]))
        for code in codes:
            if code in _COMMON_WORDS:
                continue  # "in", "or", "me" are words first: they must not ground India, Oregon, Maine
            if code not in ALIASES or code in ("uk", "usa", "gb"):
                ALIASES[code] = " ".join(filter(None, [ALIASES.get(code, ""), expansion]))


_code_aliases()
