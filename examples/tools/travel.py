"""Travel tools: geocoding, weather, airports, flights, hotels and unit conversion.

Every tool is deterministic and offline. Places and airports come from the small tables below;
forecasts, flights and hotels are derived from the arguments with a stable hash, so the same call
gives the same answer on every machine. Bad input raises `ValueError` with the reason, the way a
real API answers 400.

Data flow between the tools:

    geocode -> latitude, longitude -> weather_forecast, find_airports, search_hotels
    find_airports -> airport_code -> search_flights (origin/destination_airport_code)
    search_flights -> flight_id -> book_flight
    search_hotels -> hotel_id -> book_hotel
"""

import datetime
import hashlib
import math
import typing
from typing import Annotated, Literal

from annotated_types import Gt, Interval, MaxLen, MinLen
from typing_extensions import TypedDict

# --------------------------------------------------------------------------- argument types

Unit = Literal["m", "km", "ft", "mi", "kg", "lb", "l", "gal", "km/h", "mph", "C", "F", "K"]
Cabin = Literal["economy", "premium_economy", "business", "first"]
RoomType = Literal["standard", "deluxe", "suite"]
Condition = Literal["sunny", "partly_cloudy", "cloudy", "fog", "showers", "rain", "thunderstorm", "snow"]
Latitude = Annotated[float, Interval(ge=-90, le=90)]
Longitude = Annotated[float, Interval(ge=-180, le=180)]

# --------------------------------------------------------------------------- reference data


class _City(typing.NamedTuple):
    name: str
    country_code: str
    latitude: float
    longitude: float
    timezone: str
    utc_offset_hours: float
    mean_january_c: float  # climate normals: mean daily temperature in January and July
    mean_july_c: float
    aliases: tuple[str, ...] = ()


class _Airport(typing.NamedTuple):
    code: str
    name: str
    city: str
    latitude: float
    longitude: float


_CITIES = (
    _City("New York", "US", 40.7128, -74.0060, "America/New_York", -5, 0.5, 25.0, ("nyc", "manhattan")),
    _City("Los Angeles", "US", 34.0522, -118.2437, "America/Los_Angeles", -8, 14.0, 21.5),
    _City("San Francisco", "US", 37.7749, -122.4194, "America/Los_Angeles", -8, 10.5, 17.5),
    _City("Chicago", "US", 41.8781, -87.6298, "America/Chicago", -6, -4.5, 24.0),
    _City("Toronto", "CA", 43.6532, -79.3832, "America/Toronto", -5, -5.5, 22.0),
    _City("Mexico City", "MX", 19.4326, -99.1332, "America/Mexico_City", -6, 14.0, 17.5, ("cdmx",)),
    _City("São Paulo", "BR", -23.5505, -46.6333, "America/Sao_Paulo", -3, 23.0, 16.0, ("sao paulo",)),
    _City("London", "GB", 51.5074, -0.1278, "Europe/London", 0, 5.5, 19.0),
    _City("Paris", "FR", 48.8566, 2.3522, "Europe/Paris", 1, 5.0, 20.5),
    _City("Berlin", "DE", 52.5200, 13.4050, "Europe/Berlin", 1, 0.5, 19.5),
    _City("Amsterdam", "NL", 52.3676, 4.9041, "Europe/Amsterdam", 1, 3.5, 17.5),
    _City("Madrid", "ES", 40.4168, -3.7038, "Europe/Madrid", 1, 6.5, 26.0),
    _City("Barcelona", "ES", 41.3874, 2.1686, "Europe/Madrid", 1, 9.5, 25.0),
    _City("Lisbon", "PT", 38.7223, -9.1393, "Europe/Lisbon", 0, 11.5, 23.0, ("lisboa",)),
    _City("Rome", "IT", 41.9028, 12.4964, "Europe/Rome", 1, 8.0, 25.0, ("roma",)),
    _City("Istanbul", "TR", 41.0082, 28.9784, "Europe/Istanbul", 3, 6.0, 24.0),
    _City("Cape Town", "ZA", -33.9249, 18.4241, "Africa/Johannesburg", 2, 21.5, 12.5),
    _City("Dubai", "AE", 25.2048, 55.2708, "Asia/Dubai", 4, 19.0, 35.5),
    _City("Mumbai", "IN", 19.0760, 72.8777, "Asia/Kolkata", 5.5, 24.0, 28.0, ("bombay",)),
    _City("Singapore", "SG", 1.3521, 103.8198, "Asia/Singapore", 8, 26.5, 28.0),
    _City("Hong Kong", "HK", 22.3193, 114.1694, "Asia/Hong_Kong", 8, 16.5, 29.0),
    _City("Seoul", "KR", 37.5665, 126.9780, "Asia/Seoul", 9, -2.5, 25.5),
    _City("Tokyo", "JP", 35.6762, 139.6503, "Asia/Tokyo", 9, 5.5, 26.0),
    _City("Sydney", "AU", -33.8688, 151.2093, "Australia/Sydney", 10, 23.0, 13.0),
)


_AIRPORTS = (
    _Airport("JFK", "John F. Kennedy International Airport", "New York", 40.6413, -73.7781),
    _Airport("LGA", "LaGuardia Airport", "New York", 40.7769, -73.8740),
    _Airport("EWR", "Newark Liberty International Airport", "New York", 40.6895, -74.1745),
    _Airport("LAX", "Los Angeles International Airport", "Los Angeles", 33.9416, -118.4085),
    _Airport("SFO", "San Francisco International Airport", "San Francisco", 37.6213, -122.3790),
    _Airport("ORD", "O'Hare International Airport", "Chicago", 41.9742, -87.9073),
    _Airport("YYZ", "Toronto Pearson International Airport", "Toronto", 43.6777, -79.6248),
    _Airport("MEX", "Mexico City International Airport", "Mexico City", 19.4361, -99.0719),
    _Airport("GRU", "São Paulo/Guarulhos International Airport", "São Paulo", -23.4356, -46.4731),
    _Airport("LHR", "Heathrow Airport", "London", 51.4700, -0.4543),
    _Airport("LGW", "Gatwick Airport", "London", 51.1537, -0.1821),
    _Airport("CDG", "Paris Charles de Gaulle Airport", "Paris", 49.0097, 2.5479),
    _Airport("ORY", "Paris Orly Airport", "Paris", 48.7262, 2.3652),
    _Airport("BER", "Berlin Brandenburg Airport", "Berlin", 52.3667, 13.5033),
    _Airport("AMS", "Amsterdam Airport Schiphol", "Amsterdam", 52.3105, 4.7683),
    _Airport("MAD", "Adolfo Suárez Madrid-Barajas Airport", "Madrid", 40.4983, -3.5676),
    _Airport("BCN", "Barcelona-El Prat Airport", "Barcelona", 41.2974, 2.0833),
    _Airport("LIS", "Lisbon Humberto Delgado Airport", "Lisbon", 38.7742, -9.1342),
    _Airport("FCO", "Rome Fiumicino Airport", "Rome", 41.8003, 12.2389),
    _Airport("IST", "Istanbul Airport", "Istanbul", 41.2753, 28.7519),
    _Airport("CPT", "Cape Town International Airport", "Cape Town", -33.9715, 18.6021),
    _Airport("DXB", "Dubai International Airport", "Dubai", 25.2532, 55.3657),
    _Airport("BOM", "Chhatrapati Shivaji Maharaj International Airport", "Mumbai", 19.0896, 72.8656),
    _Airport("SIN", "Singapore Changi Airport", "Singapore", 1.3644, 103.9915),
    _Airport("HKG", "Hong Kong International Airport", "Hong Kong", 22.3080, 113.9185),
    _Airport("ICN", "Incheon International Airport", "Seoul", 37.4602, 126.4407),
    _Airport("HND", "Tokyo Haneda Airport", "Tokyo", 35.5494, 139.7798),
    _Airport("NRT", "Narita International Airport", "Tokyo", 35.7720, 140.3929),
    _Airport("SYD", "Sydney Kingsford Smith Airport", "Sydney", -33.9399, 151.1753),
)

_CITY_BY_NAME = {city.name: city for city in _CITIES}
_AIRPORT_BY_CODE = {airport.code: airport for airport in _AIRPORTS}

_AIRLINES = (
    ("Northwind Airways", "NW"),
    ("Meridian Air", "MA"),
    ("Bluecrest Airlines", "BC"),
    ("Solstice Air", "SO"),
    ("Aurora Pacific", "AP"),
)
_CABIN_FARE_FACTOR = {"economy": 1.0, "premium_economy": 1.65, "business": 3.4, "first": 5.8}

_HOTEL_NAMES = (
    "Hotel Meridian",
    "The Linden House",
    "Harbor View Suites",
    "Grand Central Inn",
    "The Alder",
    "Parkside Residences",
    "Hotel Lumen",
    "The Copper Key",
    "Old Town Lodge",
    "Skyline Tower Hotel",
    "Garden Court Hotel",
    "The Wayfarer",
    "Bayside Hotel",
    "The Ivy Gate",
    "Hotel Nordlicht",
    "Station Square Hotel",
)  # 16 names: a hotel_id's first hex digit picks one, so the names in one search never repeat
_AMENITIES = ("free_wifi", "breakfast", "gym", "pool", "spa", "parking", "airport_shuttle", "pet_friendly")
_BASE_RATE_BY_STARS = {2: 70.0, 3: 110.0, 4: 180.0, 5: 320.0}
_ROOMS = {"standard": (1.0, 2), "deluxe": (1.35, 3), "suite": (1.9, 4)}  # price factor, guests it sleeps

_SKY: tuple[tuple[float, Condition, int], ...] = (  # cumulative chance, condition, mm of rain
    (0.30, "sunny", 0),
    (0.55, "partly_cloudy", 0),
    (0.70, "cloudy", 0),
    (0.75, "fog", 0),
    (0.85, "showers", 4),
    (0.96, "rain", 12),
    (1.01, "thunderstorm", 20),
)

_UNITS: dict[str, tuple[str, float]] = {  # unit -> (quantity, size in the quantity's base unit)
    "m": ("length", 1.0),
    "km": ("length", 1000.0),
    "ft": ("length", 0.3048),
    "mi": ("length", 1609.344),
    "kg": ("mass", 1.0),
    "lb": ("mass", 0.45359237),
    "l": ("volume", 1.0),
    "gal": ("volume", 3.785411784),
    "km/h": ("speed", 1.0),
    "mph": ("speed", 1.609344),
    "C": ("temperature", 1.0),
    "F": ("temperature", 1.0),
    "K": ("temperature", 1.0),
}

# --------------------------------------------------------------------------- result types


class Place(TypedDict):
    """A geocoded place."""

    query: str
    name: str
    country_code: str
    latitude: float
    longitude: float
    timezone: str


class DailyForecast(TypedDict):
    """The forecast for one day."""

    date: str
    condition: Condition
    temperature_max: float
    temperature_min: float
    precipitation_probability: int
    precipitation: float
    wind_speed: float
    humidity: int


class Forecast(TypedDict):
    """A daily forecast for one location, with the units its numbers use."""

    latitude: float
    longitude: float
    temperature_unit: Literal["C", "F"]
    precipitation_unit: Literal["mm", "in"]
    wind_speed_unit: Literal["km/h", "mph"]
    days: list[DailyForecast]


class AirportMatch(TypedDict):
    """An airport near a point."""

    airport_code: str
    name: str
    city: str
    distance_km: float


class Airports(TypedDict):
    """Airports near a point, nearest first."""

    latitude: float
    longitude: float
    airports: list[AirportMatch]


class FlightOption(TypedDict):
    """One bookable flight; times are local to each airport."""

    flight_id: str
    airline: str
    flight_number: str
    origin_airport_code: str
    destination_airport_code: str
    departure_time: str
    arrival_time: str
    duration_minutes: int
    stops: int
    cabin: Cabin
    seats_left: int
    price_per_passenger: float
    total_price: float
    currency: Literal["USD"]


class FlightSearch(TypedDict):
    """Flights on one route and day, earliest departure first."""

    origin_airport_code: str
    destination_airport_code: str
    departure_date: str
    passengers: int
    flights: list[FlightOption]


class Passenger(TypedDict):
    """A traveller as named on their passport."""

    first_name: str
    last_name: str
    date_of_birth: str


class FlightBooking(TypedDict):
    """A confirmed flight reservation."""

    booking_reference: str
    status: Literal["confirmed"]
    flight: FlightOption
    passengers: list[Passenger]
    contact_email: str
    total_price: float
    currency: Literal["USD"]


class HotelOption(TypedDict):
    """A hotel with its standard-room price for the requested stay."""

    hotel_id: str
    name: str
    stars: int
    guest_rating: float
    distance_km: float
    amenities: list[str]
    price_per_night: float
    total_price: float
    currency: Literal["USD"]


class HotelSearch(TypedDict):
    """Hotels near a point for a stay."""

    check_in: str
    check_out: str
    nights: int
    guests: int
    hotels: list[HotelOption]


class HotelBooking(TypedDict):
    """A confirmed hotel reservation."""

    confirmation_number: str
    status: Literal["confirmed"]
    hotel_id: str
    hotel_name: str
    guest_name: str
    contact_email: str
    room_type: RoomType
    guests: int
    check_in: str
    check_out: str
    nights: int
    price_per_night: float
    total_price: float
    currency: Literal["USD"]
    free_cancellation_until: str


class Conversion(TypedDict):
    """A value converted from one unit to another."""

    value: float
    from_unit: Unit
    converted_value: float
    to_unit: Unit


# --------------------------------------------------------------------------- tools


def geocode(address: str) -> Place:
    """Find the coordinates of a city or an address in it.

    Looks the city up in the service's gazetteer of major cities; street-level detail in the
    address is accepted and resolved to the city centre.

    Args:
        address: A city name or an address that names the city, e.g. "Paris" or "10 Downing Street, London".

    Returns:
        The place found: its name, country code, latitude, longitude and IANA time zone.

    Raises:
        ValueError: The address is empty or names no known city.
    """
    words = "".join(c if c.isalnum() else " " for c in address.casefold()).split()
    if not words:
        raise ValueError("address must not be empty")
    padded = f" {' '.join(words)} "
    matches = [
        (len(name), city)
        for city in _CITIES
        for name in (city.name.casefold(), *city.aliases)
        if f" {name} " in padded
    ]
    if matches:
        _, city = max(matches, key=lambda match: match[0])
        return {
            "query": address,
            "name": city.name,
            "country_code": city.country_code,
            "latitude": city.latitude,
            "longitude": city.longitude,
            "timezone": city.timezone,
        }
    raise ValueError(f"no place matches {address!r}; give a city name such as 'Paris' or 'Tokyo'")


def weather_forecast(
    latitude: Latitude,
    longitude: Longitude,
    start_date: str,
    days: Annotated[int, Interval(ge=1, le=14)] = 3,
    units: Literal["metric", "imperial"] = "metric",
) -> Forecast:
    """Get the daily weather forecast for a location.

    Gives one entry per day with the expected condition, temperature range, precipitation,
    wind speed and humidity.

    Args:
        latitude: Latitude of the location in decimal degrees (-90 to 90).
        longitude: Longitude of the location in decimal degrees (-180 to 180).
        start_date: First day of the forecast, in YYYY-MM-DD format.
        days: Number of days to forecast, from 1 to 14.
        units: "metric" for °C, mm and km/h; "imperial" for °F, inches and mph.

    Returns:
        The forecast, one entry per day starting at start_date, with the units used.

    Raises:
        ValueError: A coordinate or the number of days is out of range, or the date is malformed.
    """
    _check_coordinates(latitude, longitude)
    first = _parse_date(start_date, "start_date")
    _check_range("days", days, 1, 14)
    _check_choice("units", units, ("metric", "imperial"))
    metric = units == "metric"
    forecast: list[DailyForecast] = []
    for offset in range(days):
        day = first + datetime.timedelta(days=offset)
        forecast.append(_day_forecast(latitude, longitude, day, metric))
    return {
        "latitude": latitude,
        "longitude": longitude,
        "temperature_unit": "C" if metric else "F",
        "precipitation_unit": "mm" if metric else "in",
        "wind_speed_unit": "km/h" if metric else "mph",
        "days": forecast,
    }


def find_airports(
    latitude: Latitude,
    longitude: Longitude,
    radius_km: Annotated[float, Interval(gt=0, le=500)] = 100,
    limit: Annotated[int, Interval(ge=1, le=10)] = 3,
) -> Airports:
    """Find the commercial airports near a location.

    Lists airports within the radius, nearest first, with their IATA codes for flight search.
    An empty list means there is no airport in range.

    Args:
        latitude: Latitude of the location in decimal degrees (-90 to 90).
        longitude: Longitude of the location in decimal degrees (-180 to 180).
        radius_km: Search radius in kilometres, at most 500.
        limit: Most airports to return, from 1 to 10.

    Returns:
        The airports in range with their IATA code, name, city and distance in km.

    Raises:
        ValueError: A coordinate, the radius or the limit is out of range.
    """
    _check_coordinates(latitude, longitude)
    if not 0 < radius_km <= 500:
        raise ValueError(f"radius_km must be greater than 0 and at most 500, got {radius_km}")
    _check_range("limit", limit, 1, 10)
    found = sorted((_distance_km(latitude, longitude, a.latitude, a.longitude), a.code) for a in _AIRPORTS)
    matches: list[AirportMatch] = [
        {
            "airport_code": code,
            "name": _AIRPORT_BY_CODE[code].name,
            "city": _AIRPORT_BY_CODE[code].city,
            "distance_km": round(distance, 1),
        }
        for distance, code in found
        if distance <= radius_km
    ]
    return {"latitude": latitude, "longitude": longitude, "airports": matches[:limit]}


def search_flights(
    origin_airport_code: str,
    destination_airport_code: str,
    departure_date: str,
    passengers: Annotated[int, Interval(ge=1, le=9)] = 1,
    cabin: Cabin = "economy",
    max_stops: Annotated[int, Interval(ge=0, le=2)] | None = None,
) -> FlightSearch:
    """Search one-way flights between two airports on a given day.

    Only flights with enough free seats for all passengers are listed; an empty list means no
    flight fits. Prices are per passenger and in total, in US dollars, for the requested cabin.

    Args:
        origin_airport_code: IATA code of the departure airport, e.g. "JFK".
        destination_airport_code: IATA code of the arrival airport, e.g. "LHR".
        departure_date: Day of departure, in YYYY-MM-DD format.
        passengers: Number of travellers, from 1 to 9.
        cabin: Cabin class to price.
        max_stops: Most stops allowed (0 for non-stop only); any number when omitted.

    Returns:
        The matching flights, earliest departure first, each with a flight_id to book it by.

    Raises:
        ValueError: An airport code is unknown, both codes are the same, the date is malformed,
            or a count is out of range.
    """
    origin = _airport(origin_airport_code, "origin_airport_code")
    destination = _airport(destination_airport_code, "destination_airport_code")
    if origin.code == destination.code:
        raise ValueError("origin_airport_code and destination_airport_code must differ")
    day = _parse_date(departure_date, "departure_date")
    _check_range("passengers", passengers, 1, 9)
    _check_choice("cabin", cabin, tuple(_CABIN_FARE_FACTOR))
    if max_stops is not None:
        _check_range("max_stops", max_stops, 0, 2)
    flights = [
        flight
        for flight in _flights(origin, destination, day, cabin, passengers)
        if flight["seats_left"] >= passengers and (max_stops is None or flight["stops"] <= max_stops)
    ]
    return {
        "origin_airport_code": origin.code,
        "destination_airport_code": destination.code,
        "departure_date": day.isoformat(),
        "passengers": passengers,
        "flights": flights,
    }


def book_flight(
    flight_id: str,
    passengers: Annotated[list[Passenger], MinLen(1), MaxLen(9)],
    contact_email: str,
    cabin: Cabin = "economy",
) -> FlightBooking:
    """Book seats on a flight found with search_flights.

    Reserves one seat per passenger in the chosen cabin and returns the booking reference.

    Args:
        flight_id: The flight_id of an option returned by search_flights.
        passengers: The travellers, 1 to 9, each with first_name, last_name and date_of_birth (YYYY-MM-DD).
        contact_email: Email address that receives the e-tickets.
        cabin: Cabin class to book; use the one the flight was searched with to keep its price.

    Returns:
        The confirmed booking: reference, flight, passengers and total price.

    Raises:
        ValueError: The flight_id is malformed or unknown, a passenger's details are invalid,
            the email is malformed, or the flight has fewer free seats than passengers.
    """
    if not 1 <= len(passengers) <= 9:
        raise ValueError(f"passengers must list 1 to 9 travellers, got {len(passengers)}")
    flight = _flight_by_id(flight_id, cabin, len(passengers))
    for number, passenger in enumerate(passengers, start=1):
        _check_passenger(passenger, number)
    _check_email(contact_email, "contact_email")
    if flight["seats_left"] < len(passengers):
        raise ValueError(
            f"flight {flight_id} has only {flight['seats_left']} seats left in {cabin}, "
            f"not enough for {len(passengers)} passengers"
        )
    names = ",".join(f"{p['first_name']} {p['last_name']}".casefold() for p in passengers)
    return {
        "booking_reference": _code(6, "flight", flight_id, cabin, names),
        "status": "confirmed",
        "flight": flight,
        "passengers": passengers,
        "contact_email": contact_email,
        "total_price": flight["total_price"],
        "currency": "USD",
    }


def search_hotels(
    latitude: Latitude,
    longitude: Longitude,
    check_in: str,
    check_out: str,
    guests: Annotated[int, Interval(ge=1, le=4)] = 2,
    min_stars: Annotated[int, Interval(ge=1, le=5)] | None = None,
    max_price_per_night: Annotated[float, Gt(0)] | None = None,
    sort_by: Literal["recommended", "price", "rating", "distance"] = "recommended",
    limit: Annotated[int, Interval(ge=1, le=10)] = 5,
) -> HotelSearch:
    """Search hotels with free rooms near a location for a stay.

    Prices are for a standard room, per night and for the whole stay, in US dollars.

    Args:
        latitude: Latitude of the location in decimal degrees (-90 to 90).
        longitude: Longitude of the location in decimal degrees (-180 to 180).
        check_in: Arrival day, in YYYY-MM-DD format.
        check_out: Departure day, in YYYY-MM-DD format; after check_in and at most 30 nights later.
        guests: Number of guests sharing the room, from 1 to 4.
        min_stars: Only hotels with at least this many stars (1 to 5).
        max_price_per_night: Only hotels whose nightly price is at most this, in US dollars.
        sort_by: Order of the results.
        limit: Most hotels to return, from 1 to 10.

    Returns:
        The stay's dates and the matching hotels, each with a hotel_id to book it by.

    Raises:
        ValueError: A coordinate or count is out of range, a date is malformed, or check_out is
            not after check_in.
    """
    _check_coordinates(latitude, longitude)
    arrival, departure, nights = _stay(check_in, check_out)
    _check_range("guests", guests, 1, 4)
    if min_stars is not None:
        _check_range("min_stars", min_stars, 1, 5)
    if max_price_per_night is not None and max_price_per_night <= 0:
        raise ValueError(f"max_price_per_night must be greater than 0, got {max_price_per_night}")
    _check_choice("sort_by", sort_by, ("recommended", "price", "rating", "distance"))
    _check_range("limit", limit, 1, 10)
    area = f"{round(latitude, 2)},{round(longitude, 2)}"
    names = sorted(range(len(_HOTEL_NAMES)), key=lambda n: _digest("name", area, n))
    hotels: list[HotelOption] = []
    for index, name_index in enumerate(names[:8]):
        hotel_id = f"HTL-{name_index:x}{_digest('hotel', area, index)[:5]}"
        name, stars, rating, amenities, rate = _hotel(hotel_id)
        if (min_stars is not None and stars < min_stars) or (
            max_price_per_night is not None and rate > max_price_per_night
        ):
            continue
        hotels.append(
            {
                "hotel_id": hotel_id,
                "name": name,
                "stars": stars,
                "guest_rating": rating,
                "distance_km": round(0.2 + 7.8 * _fraction("distance", area, index) ** 2, 1),
                "amenities": amenities,
                "price_per_night": rate,
                "total_price": round(rate * nights, 2),
                "currency": "USD",
            }
        )
    orders = {
        "recommended": lambda h: (-h["guest_rating"] + h["distance_km"] / 10, h["hotel_id"]),
        "price": lambda h: (h["price_per_night"], h["hotel_id"]),
        "rating": lambda h: (-h["guest_rating"], h["hotel_id"]),
        "distance": lambda h: (h["distance_km"], h["hotel_id"]),
    }
    hotels.sort(key=orders[sort_by])
    return {
        "check_in": arrival.isoformat(),
        "check_out": departure.isoformat(),
        "nights": nights,
        "guests": guests,
        "hotels": hotels[:limit],
    }


def book_hotel(
    hotel_id: str,
    check_in: str,
    check_out: str,
    guest_name: str,
    contact_email: str,
    guests: Annotated[int, Interval(ge=1, le=4)] = 2,
    room_type: RoomType = "standard",
) -> HotelBooking:
    """Book a room in a hotel found with search_hotels.

    A standard room sleeps 2, a deluxe room 3 and a suite 4; deluxe rooms and suites cost more
    than the standard price that search_hotels shows. Cancellation is free until two days
    before arrival.

    Args:
        hotel_id: The hotel_id of a result of search_hotels, e.g. "HTL-3fa2c1".
        check_in: Arrival day, in YYYY-MM-DD format.
        check_out: Departure day, in YYYY-MM-DD format; after check_in and at most 30 nights later.
        guest_name: Full name of the guest the room is booked for.
        contact_email: Email address that receives the confirmation.
        guests: Number of guests sharing the room, from 1 to 4.
        room_type: Kind of room to book.

    Returns:
        The confirmed booking with its confirmation number, price and free-cancellation deadline.

    Raises:
        ValueError: The hotel_id is malformed, a date is malformed or the stay is invalid, the name
            or email is invalid, or the room type sleeps fewer people than guests.
    """
    name, _, _, _, rate = _hotel(_check_hotel_id(hotel_id))
    arrival, departure, nights = _stay(check_in, check_out)
    if not guest_name.strip():
        raise ValueError("guest_name must not be empty")
    _check_email(contact_email, "contact_email")
    _check_range("guests", guests, 1, 4)
    _check_choice("room_type", room_type, tuple(_ROOMS))
    factor, sleeps = _ROOMS[room_type]
    if guests > sleeps:
        raise ValueError(
            f"a {room_type} room sleeps at most {sleeps} guests, not {guests}; choose a larger room_type"
        )
    nightly = round(rate * factor, 2)
    return {
        "confirmation_number": _code(
            8, "hotel", hotel_id, check_in, check_out, guest_name.casefold(), room_type
        ),
        "status": "confirmed",
        "hotel_id": hotel_id,
        "hotel_name": name,
        "guest_name": guest_name.strip(),
        "contact_email": contact_email,
        "room_type": room_type,
        "guests": guests,
        "check_in": arrival.isoformat(),
        "check_out": departure.isoformat(),
        "nights": nights,
        "price_per_night": nightly,
        "total_price": round(nightly * nights, 2),
        "currency": "USD",
        "free_cancellation_until": (arrival - datetime.timedelta(days=2)).isoformat(),
    }


def convert_units(value: float, from_unit: Unit, to_unit: Unit) -> Conversion:
    """Convert a length, mass, volume, speed or temperature between units.

    Useful for travellers moving between metric and imperial measures, e.g. miles to kilometres
    or Fahrenheit to Celsius.

    Args:
        value: The amount to convert.
        from_unit: Unit of the value.
        to_unit: Unit to convert to; must measure the same quantity as from_unit.

    Returns:
        The original value and unit with the converted value, rounded to 4 decimal places.

    Raises:
        ValueError: A unit is unknown, the units measure different quantities, or a temperature
            is below absolute zero.
    """
    _check_choice("from_unit", from_unit, tuple(_UNITS))
    _check_choice("to_unit", to_unit, tuple(_UNITS))
    quantity, size = _UNITS[from_unit]
    target_quantity, target_size = _UNITS[to_unit]
    if quantity != target_quantity:
        raise ValueError(f"cannot convert {quantity} ({from_unit}) to {target_quantity} ({to_unit})")
    if quantity == "temperature":
        kelvin = {"C": value + 273.15, "F": (value - 32) * 5 / 9 + 273.15, "K": value}[from_unit]
        if kelvin < 0:
            raise ValueError(f"{value} {from_unit} is below absolute zero")
        converted = {"C": kelvin - 273.15, "F": (kelvin - 273.15) * 9 / 5 + 32, "K": kelvin}[to_unit]
    else:
        converted = value * size / target_size
    return {
        "value": value,
        "from_unit": from_unit,
        "converted_value": round(converted, 4),
        "to_unit": to_unit,
    }


# --------------------------------------------------------------------------- helpers


def _digest(*parts: object) -> str:
    """A stable hex digest of the parts: the same on every machine, run and Python version."""
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()


def _fraction(*parts: object) -> float:
    """A stable number in [0, 1) derived from the parts."""
    return int(_digest(*parts)[:13], 16) / 16**13


def _code(length: int, *parts: object) -> str:
    """A stable reference code of uppercase letters and digits (no 0/O or 1/I)."""
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    number = int(_digest(*parts), 16)
    return "".join(alphabet[(number >> (5 * i)) % 32] for i in range(length))


def _check_range(name: str, value: float, low: float, high: float) -> None:
    if not low <= value <= high:
        raise ValueError(f"{name} must be between {low} and {high}, got {value}")


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)}; got {value!r}")


def _check_coordinates(latitude: float, longitude: float) -> None:
    _check_range("latitude", latitude, -90, 90)
    _check_range("longitude", longitude, -180, 180)


def _check_email(value: str, name: str) -> None:
    local, _, domain = value.partition("@")
    if not local or "." not in domain.strip(".") or " " in value:
        raise ValueError(f"{name} must be an email address like 'name@example.com', got {value!r}")


def _parse_date(value: str, name: str) -> datetime.date:
    """A YYYY-MM-DD date, strictly (fromisoformat alone also takes 20250614 and week dates)."""
    try:
        if len(value) != 10 or value[4] != "-" or value[7] != "-":
            raise ValueError
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{name} must be a date in YYYY-MM-DD format, got {value!r}") from None


def _stay(check_in: str, check_out: str) -> tuple[datetime.date, datetime.date, int]:
    arrival = _parse_date(check_in, "check_in")
    departure = _parse_date(check_out, "check_out")
    nights = (departure - arrival).days
    if nights < 1:
        raise ValueError(f"check_out ({check_out}) must be after check_in ({check_in})")
    if nights > 30:
        raise ValueError(f"a stay is at most 30 nights, got {nights}")
    return arrival, departure, nights


def _check_passenger(passenger: Passenger, number: int) -> None:
    for key in ("first_name", "last_name", "date_of_birth"):
        if not str(passenger.get(key, "")).strip():
            raise ValueError(f"passenger {number} needs a non-empty {key}")
    born = _parse_date(passenger["date_of_birth"], f"date_of_birth of passenger {number}")
    if born.year < 1900:
        raise ValueError(f"date_of_birth of passenger {number} is implausible: {born.isoformat()}")


def _distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine) in kilometres."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlambda = phi2 - phi1, math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(a))


def _day_forecast(latitude: float, longitude: float, day: datetime.date, metric: bool) -> DailyForecast:
    """A plausible day: temperatures from the local climate and the season, the rest from a stable hash."""
    spot = f"{round(latitude, 2)},{round(longitude, 2)},{day.isoformat()}"
    season = math.cos(2 * math.pi * (day.timetuple().tm_yday - 196) / 365.25)  # +1 mid-July, -1 mid-January
    nearest = min(_CITIES, key=lambda c: _distance_km(latitude, longitude, c.latitude, c.longitude))
    if _distance_km(latitude, longitude, nearest.latitude, nearest.longitude) <= 150:
        annual_mean = (nearest.mean_january_c + nearest.mean_july_c) / 2
        swing = (nearest.mean_july_c - nearest.mean_january_c) / 2
    else:  # a rough climate from latitude alone, seasons reversed in the south
        annual_mean = 27 - 0.4 * max(0.0, abs(latitude) - 10)
        swing = min(12.0, 0.2 * abs(latitude)) * (1 if latitude >= 0 else -1)
    mean = annual_mean + swing * season + 6 * (_fraction("temp", spot) - 0.5)
    spread = 3.5 + 2.5 * _fraction("spread", spot)
    roll = _fraction("sky", spot)
    condition, rain_mm = next((c, mm) for limit, c, mm in _SKY if roll < limit)
    if rain_mm and mean < 1:
        condition = "snow"
    precipitation = rain_mm * (0.5 + _fraction("rain", spot)) if rain_mm else 0.0
    chance = 5 + int(15 * roll) if not rain_mm else 45 + int(50 * _fraction("chance", spot))
    wind = 5 + 30 * _fraction("wind", spot) ** 1.5
    high, low = mean + spread, mean - spread
    if not metric:
        high, low, precipitation, wind = (
            high * 9 / 5 + 32,
            low * 9 / 5 + 32,
            precipitation / 25.4,
            wind / 1.609344,
        )
    return {
        "date": day.isoformat(),
        "condition": condition,
        "temperature_max": round(high, 1),
        "temperature_min": round(low, 1),
        "precipitation_probability": chance,
        "precipitation": round(precipitation, 1 if metric else 2),
        "wind_speed": round(wind, 1),
        "humidity": 35 + int(55 * _fraction("humidity", spot)),
    }


def _airport(code: str, name: str) -> _Airport:
    airport = _AIRPORT_BY_CODE.get(code.strip().upper())
    if airport is None:
        raise ValueError(
            f"{name} {code!r} is not a known IATA airport code; use find_airports to look one up"
        )
    return airport


def _local(airport: _Airport, utc: datetime.datetime) -> str:
    offset = _CITY_BY_NAME[airport.city].utc_offset_hours
    return (utc + datetime.timedelta(hours=offset)).strftime("%Y-%m-%dT%H:%M")


def _flights(
    origin: _Airport, destination: _Airport, day: datetime.date, cabin: Cabin, passengers: int
) -> list[FlightOption]:
    """Every flight on a route and day, earliest first; flight_id encodes route, day and position."""
    distance = _distance_km(origin.latitude, origin.longitude, destination.latitude, destination.longitude)
    if distance < 150:
        return []
    route = f"{origin.code}-{destination.code}-{day:%Y%m%d}"
    offset = _CITY_BY_NAME[origin.city].utc_offset_hours
    drafts = []
    for index in range(3 + int(4 * _fraction("count", route))):
        leg = f"{route}-{index}"
        stops = 0 if _fraction("stops", leg) < (0.7 if distance < 6000 else 0.4) else 1
        minutes = distance / 820 * 60 + 35 + stops * (70 + 80 * _fraction("layover", leg))
        local_departure = 6 * 60 + int(16 * 60 * _fraction("departs", leg)) // 5 * 5
        fare = (45 + 0.085 * distance) * (0.85 if stops else 1.0) * (0.8 + 0.6 * _fraction("fare", leg))
        drafts.append((local_departure, leg, stops, 5 * round(minutes / 5), fare))
    flights: list[FlightOption] = []
    for position, (local_departure, leg, stops, minutes, fare) in enumerate(sorted(drafts), start=1):
        airline, prefix = _AIRLINES[int(len(_AIRLINES) * _fraction("airline", leg))]
        departs_utc = datetime.datetime(day.year, day.month, day.day) + datetime.timedelta(
            minutes=local_departure - offset * 60
        )
        per_passenger = round(fare * _CABIN_FARE_FACTOR[cabin], 2)
        flights.append(
            {
                "flight_id": f"{route}-{position}",
                "airline": airline,
                "flight_number": f"{prefix}{100 + int(900 * _fraction('number', leg))}",
                "origin_airport_code": origin.code,
                "destination_airport_code": destination.code,
                "departure_time": _local(origin, departs_utc),
                "arrival_time": _local(destination, departs_utc + datetime.timedelta(minutes=minutes)),
                "duration_minutes": minutes,
                "stops": stops,
                "cabin": cabin,
                "seats_left": 1 + int(9 * _fraction("seats", leg, cabin)),
                "price_per_passenger": per_passenger,
                "total_price": round(per_passenger * passengers, 2),
                "currency": "USD",
            }
        )
    return flights


def _flight_by_id(flight_id: str, cabin: Cabin, passengers: int) -> FlightOption:
    parts = flight_id.strip().upper().split("-")
    if len(parts) != 4 or not parts[3].isdigit():
        raise ValueError(f"flight_id {flight_id!r} is malformed; use a flight_id returned by search_flights")
    origin, destination, day, position = parts
    _check_choice("cabin", cabin, tuple(_CABIN_FARE_FACTOR))
    date_text = f"{day[:4]}-{day[4:6]}-{day[6:]}" if len(day) == 8 else day
    flights = _flights(
        _airport(origin, "origin of flight_id"),
        _airport(destination, "destination of flight_id"),
        _parse_date(date_text, "date of flight_id"),
        cabin,
        passengers,
    )
    if not 1 <= int(position) <= len(flights):
        raise ValueError(f"no flight {flight_id!r} exists; search again with search_flights")
    return flights[int(position) - 1]


def _check_hotel_id(hotel_id: str) -> str:
    suffix = hotel_id.removeprefix("HTL-")
    if len(hotel_id) != 10 or suffix == hotel_id or any(c not in "0123456789abcdef" for c in suffix):
        raise ValueError(f"hotel_id {hotel_id!r} is malformed; use a hotel_id returned by search_hotels")
    return hotel_id


def _hotel(hotel_id: str) -> tuple[str, int, float, list[str], float]:
    """A hotel's name, stars, guest rating, amenities and standard nightly rate, all from its id."""
    stars = 2 + int(4 * _fraction("stars", hotel_id))
    name = _HOTEL_NAMES[int(hotel_id[4], 16)]
    rating = round(min(9.8, 5.8 + 0.6 * stars + 1.6 * _fraction("rating", hotel_id)), 1)
    amenities = [a for a in _AMENITIES if _fraction(a, hotel_id) < 0.25 + 0.12 * stars]
    rate = round(_BASE_RATE_BY_STARS[stars] * (0.8 + 0.6 * _fraction("rate", hotel_id)), 2)
    return name, stars, rating, amenities, rate
