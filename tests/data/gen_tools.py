"""Tiny deterministic tools for generation tests: a weather lookup, and a hotel search that feeds a booking."""

from typing import Literal

from typing_extensions import TypedDict

CITIES = ("Paris", "Lisbon", "Tokyo", "Lima")


class Weather(TypedDict):
    city: str
    temperature: float
    unit: str


class Hotel(TypedDict):
    hotel_id: str
    name: str


class Hotels(TypedDict):
    hotels: list[Hotel]


class Booking(TypedDict):
    booking_id: str
    hotel_id: str
    nights: int


def get_weather(city: str, unit: Literal["C", "F"] = "C") -> Weather:
    """Current temperature in a city.

    Args:
        city: City name, e.g. Paris.
        unit: C or F.
    """
    if city not in CITIES:
        raise ValueError(f"unknown city {city!r}; known cities: {', '.join(CITIES)}")
    celsius = 10.0 + CITIES.index(city) * 5
    return {"city": city, "temperature": celsius if unit == "C" else celsius * 9 / 5 + 32, "unit": unit}


def search_hotels(city: str, max_price: int) -> Hotels:
    """Hotels in a city under a nightly price.

    Args:
        city: City name.
        max_price: Highest nightly price in euros.
    """
    if city not in CITIES:
        raise ValueError(f"unknown city {city!r}; known cities: {', '.join(CITIES)}")
    if max_price <= 0:
        raise ValueError("max_price must be positive")
    return {"hotels": [{"hotel_id": f"H-{city[:3].upper()}-{max_price}", "name": f"{city} Central"}]}


def book_hotel(hotel_id: str, nights: int) -> Booking:
    """Book a hotel found by search_hotels.

    Args:
        hotel_id: The id search_hotels returned.
        nights: Number of nights.
    """
    if not hotel_id.startswith("H-"):
        raise ValueError(f"hotel_id {hotel_id!r} is malformed; use an id from search_hotels")
    if nights < 1:
        raise ValueError("nights must be at least 1")
    return {"booking_id": "B-" + hotel_id[2:], "hotel_id": hotel_id, "nights": nights}
