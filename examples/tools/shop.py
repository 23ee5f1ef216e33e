"""Online shop tools: product search and details, shipping quotes, orders, cancellations and refunds.

Every tool is deterministic and offline. Products come from the small catalogue below; a
customer's orders and each order's contents and status are derived from the email address and
the order id with a stable hash, and the shop's clock is fixed at `AS_OF`. Bad input raises
`ValueError` with the reason, the way a real API answers 400. Two tools refuse requests that the
shop's rules forbid with an error payload instead, the way a real API answers 409 with a body:
`cancel_order` (the order has shipped) and `request_refund` (not delivered, or the 30-day return
window has closed) return `{"error": ..., "order_id": ..., "order_status": ...}`.

Data flow between the tools:

    search_products -> product_id -> get_product_details, estimate_shipping
    list_orders -> order_id -> get_order_status, cancel_order, request_refund
    get_order_status -> items[].product_id -> request_refund (product_id)
"""

import datetime
import hashlib
import typing
from typing import Annotated, Literal

from annotated_types import Gt, Interval
from typing_extensions import TypedDict

AS_OF = "2025-12-31"
"""Today, for the shop: order ages, delivery states and return windows are counted from it."""

_TODAY = datetime.date.fromisoformat(AS_OF)
_RETURN_WINDOW_DAYS = 30
_FREE_SHIPPING_FROM = 50.0

Category = Literal["electronics", "home", "sports", "books", "clothing"]
OrderStatus = Literal["processing", "shipped", "delivered", "cancelled"]
CancelReason = Literal[
    "changed_mind", "ordered_by_mistake", "found_better_price", "delivery_too_slow", "other"
]
ShippingMethod = Literal["standard", "express", "overnight"]
RefundReason = Literal["damaged", "defective", "wrong_item", "not_as_described", "no_longer_needed"]

# --------------------------------------------------------------------------- reference data


class _Product(typing.NamedTuple):
    product_id: str
    name: str
    brand: str
    category: Category
    price: float
    keywords: str
    description: str
    specs: dict[str, str]


_CATALOG = (
    _Product(
        "P-1001",
        "Auralink Pro Wireless Noise-Cancelling Headphones",
        "Auralink",
        "electronics",
        199.99,
        "headphones wireless bluetooth noise cancelling audio over-ear",
        "Over-ear headphones with adaptive noise cancelling and 40 hours of battery life.",
        {"battery_life": "40 h", "connectivity": "Bluetooth 5.3", "weight": "250 g", "color": "black"},
    ),
    _Product(
        "P-1002",
        "Auralink Buds 2 True Wireless Earbuds",
        "Auralink",
        "electronics",
        89.99,
        "earbuds earphones wireless bluetooth audio sport",
        "Compact earbuds with a charging case, sweat resistance and touch controls.",
        {"battery_life": "8 h (32 h with case)", "connectivity": "Bluetooth 5.3", "water_resistance": "IPX4"},
    ),
    _Product(
        "P-1003",
        "Voltra 65W USB-C Charger",
        "Voltra",
        "electronics",
        39.99,
        "charger usb-c power adapter laptop phone fast charging",
        "A pocket-sized GaN charger with two USB-C ports that powers a laptop and a phone at once.",
        {"output": "65 W", "ports": "2 x USB-C", "weight": "110 g"},
    ),
    _Product(
        "P-1004",
        "Lumio 27-inch 4K Monitor",
        "Lumio",
        "electronics",
        329.00,
        "monitor display screen 4k uhd 27-inch computer",
        "A 27-inch IPS monitor with 4K resolution, USB-C input and a height-adjustable stand.",
        {
            "resolution": "3840 x 2160",
            "panel": "IPS",
            "refresh_rate": "60 Hz",
            "inputs": "HDMI, DisplayPort, USB-C",
        },
    ),
    _Product(
        "P-1005",
        "Keyforge TKL Mechanical Keyboard",
        "Keyforge",
        "electronics",
        109.00,
        "keyboard mechanical tenkeyless backlit computer",
        "A tenkeyless mechanical keyboard with hot-swappable switches and white backlight.",
        {"layout": "tenkeyless (87 keys)", "switches": "tactile brown", "connection": "USB-C cable"},
    ),
    _Product(
        "P-1006",
        "Pixelcam Go 4K Action Camera",
        "Pixelcam",
        "electronics",
        249.00,
        "camera action video 4k waterproof travel",
        "A rugged, waterproof action camera that records stabilised 4K video at 60 frames per second.",
        {"video": "4K 60 fps", "waterproof": "10 m", "battery_life": "2 h"},
    ),
    _Product(
        "P-2001",
        "Brewster 12-Cup Programmable Coffee Maker",
        "Brewster",
        "home",
        79.99,
        "coffee maker machine kitchen drip programmable",
        "A drip coffee maker with a 24-hour timer, a thermal carafe and a reusable filter.",
        {"capacity": "12 cups", "carafe": "thermal stainless steel", "power": "1000 W"},
    ),
    _Product(
        "P-2002",
        "Brewster Conical Burr Coffee Grinder",
        "Brewster",
        "home",
        49.99,
        "coffee grinder burr kitchen espresso",
        "A burr grinder with 18 grind settings, from fine espresso to coarse French press.",
        {"grind_settings": "18", "bean_hopper": "250 g"},
    ),
    _Product(
        "P-2003",
        "Nordhaven Cast Iron Skillet, 10 inch",
        "Nordhaven",
        "home",
        34.50,
        "skillet pan frying cast iron kitchen cookware",
        "A pre-seasoned cast iron skillet for the stove, the oven and the campfire.",
        {"diameter": "25 cm", "weight": "2.3 kg", "material": "cast iron"},
    ),
    _Product(
        "P-2004",
        "Airloom HEPA Air Purifier",
        "Airloom",
        "home",
        149.00,
        "air purifier hepa filter allergy bedroom",
        "A quiet air purifier with a true HEPA filter for rooms up to 40 square metres.",
        {"room_size": "up to 40 m2", "filter": "H13 HEPA", "noise": "24-52 dB"},
    ),
    _Product(
        "P-2005",
        "Stillwater Insulated Water Bottle, 750 ml",
        "Stillwater",
        "sports",
        24.00,
        "water bottle insulated stainless steel hiking gym",
        "A double-walled steel bottle that keeps drinks cold for 24 hours or hot for 12.",
        {"capacity": "750 ml", "material": "stainless steel", "dishwasher_safe": "yes"},
    ),
    _Product(
        "P-3001",
        "Stride Runner 5 Running Shoes",
        "Stride",
        "sports",
        119.95,
        "running shoes sneakers trainers jogging road",
        "Cushioned road running shoes with a breathable mesh upper.",
        {"drop": "8 mm", "weight": "260 g (size 42)", "sizes": "36-47"},
    ),
    _Product(
        "P-3002",
        "Trailpeak 2-Person Backpacking Tent",
        "Trailpeak",
        "sports",
        189.00,
        "tent camping backpacking outdoor hiking",
        "A freestanding two-person tent that pitches in five minutes and weighs under 2 kg.",
        {"capacity": "2 people", "weight": "1.9 kg", "seasons": "3"},
    ),
    _Product(
        "P-3003",
        "FlexCore Yoga Mat, 6 mm",
        "FlexCore",
        "sports",
        29.99,
        "yoga mat exercise fitness pilates",
        "A non-slip exercise mat with a carrying strap.",
        {"thickness": "6 mm", "size": "183 x 61 cm", "material": "TPE"},
    ),
    _Product(
        "P-3004",
        "Ironbell Adjustable Dumbbells, pair",
        "Ironbell",
        "sports",
        229.00,
        "dumbbells weights adjustable fitness strength gym",
        "Two dumbbells that adjust from 2 to 24 kg each with a turn of the handle.",
        {"weight_range": "2-24 kg each", "increments": "15"},
    ),
    _Product(
        "P-4001",
        "The Quiet Algorithm (hardcover)",
        "Lanternfield Press",
        "books",
        24.99,
        "book novel fiction science hardcover",
        "A novel about an engineer who finds a message hidden in her own code.",
        {"pages": "384", "language": "English", "format": "hardcover"},
    ),
    _Product(
        "P-4002",
        "Fire and Smoke: Cooking Outdoors",
        "Lanternfield Press",
        "books",
        32.00,
        "book cookbook cooking grill barbecue recipes",
        "Recipes and techniques for grilling, smoking and campfire cooking.",
        {"pages": "256", "language": "English", "format": "paperback"},
    ),
    _Product(
        "P-5001",
        "Harbor Waterproof Rain Jacket",
        "Harbor",
        "clothing",
        98.00,
        "jacket rain waterproof coat outdoor hiking",
        "A lightweight, breathable rain jacket that packs into its own pocket.",
        {"waterproof_rating": "20,000 mm", "sizes": "XS-XXL", "weight": "320 g"},
    ),
    _Product(
        "P-5002",
        "Merino Crew Socks, 3-pack",
        "Harbor",
        "clothing",
        27.00,
        "socks merino wool hiking running",
        "Three pairs of cushioned merino wool socks.",
        {"material": "70% merino wool", "sizes": "S, M, L"},
    ),
)
_PRODUCT_BY_ID = {product.product_id: product for product in _CATALOG}

_CARRIERS = ("ParcelWay", "SwiftPost", "Northline Freight")
_SHIPPING_COUNTRIES = ("US", "CA", "GB", "DE", "FR", "NL", "ES", "IT")
_SHIPPING_RATES: dict[ShippingMethod, tuple[float, float, tuple[int, int], tuple[int, int] | None]] = {
    # method: (base cost, cost per extra unit, domestic delivery days, international delivery days)
    "standard": (5.99, 1.00, (3, 5), (7, 12)),
    "express": (14.99, 2.50, (1, 2), (3, 5)),
    "overnight": (29.99, 5.00, (1, 1), None),
}

# --------------------------------------------------------------------------- result types


class ProductSummary(TypedDict):
    """A product in search results."""

    product_id: str
    name: str
    category: Category
    price: float
    currency: Literal["USD"]
    rating: float
    in_stock: bool


class ProductSearch(TypedDict):
    """Products matching a search, in the requested order."""

    query: str
    total_results: int
    products: list[ProductSummary]


class ProductDetails(TypedDict):
    """Everything the shop knows about a product."""

    product_id: str
    name: str
    brand: str
    category: Category
    description: str
    price: float
    currency: Literal["USD"]
    rating: float
    review_count: int
    stock_quantity: int
    specs: dict[str, str]


class ShippingOption(TypedDict):
    """One way to ship an order, with its cost and delivery time in days."""

    method: ShippingMethod
    carrier: str
    cost: float
    currency: Literal["USD"]
    delivery_days_min: int
    delivery_days_max: int


class ShippingQuote(TypedDict):
    """The shipping options for some units of a product to an address."""

    product_id: str
    quantity: int
    country_code: str
    postal_code: str
    options: list[ShippingOption]


class OrderSummary(TypedDict):
    """One order in a customer's order list."""

    order_id: str
    placed_on: str
    status: OrderStatus
    total: float
    currency: Literal["USD"]
    item_count: int


class OrderList(TypedDict):
    """A customer's orders, newest first."""

    customer_email: str
    orders: list[OrderSummary]


class OrderItem(TypedDict):
    """A line of an order."""

    product_id: str
    name: str
    quantity: int
    unit_price: float


class Order(TypedDict):
    """An order with its items, status and shipment."""

    order_id: str
    placed_on: str
    status: OrderStatus
    items: list[OrderItem]
    total: float
    currency: Literal["USD"]
    carrier: str | None
    tracking_number: str | None
    estimated_delivery: str | None
    delivered_on: str | None


class Cancellation(TypedDict):
    """A cancelled order and the refund that follows."""

    order_id: str
    status: Literal["cancelled"]
    reason: CancelReason
    refund_amount: float
    currency: Literal["USD"]
    refund_method: Literal["original_payment"]


class Refund(TypedDict):
    """An approved refund for returned items."""

    refund_id: str
    order_id: str
    product_id: str
    quantity: int
    reason: RefundReason
    amount: float
    currency: Literal["USD"]
    status: Literal["approved"]
    return_label_required: bool


class OrderError(TypedDict):
    """Why the shop refused a request about an order."""

    error: str
    order_id: str
    order_status: OrderStatus


# --------------------------------------------------------------------------- tools


def search_products(
    query: str,
    category: Category | None = None,
    max_price: Annotated[float, Gt(0)] | None = None,
    min_rating: Annotated[float, Interval(ge=1, le=5)] | None = None,
    sort_by: Literal["relevance", "price_low_to_high", "price_high_to_low", "rating"] = "relevance",
    limit: Annotated[int, Interval(ge=1, le=20)] = 5,
) -> ProductSearch:
    """Search the shop's catalogue by keywords.

    Matches words of the query against product names, brands and keywords; an empty list
    means nothing matched. Prices are in US dollars.

    Args:
        query: What to look for, e.g. "wireless headphones" or "coffee".
        category: Only products of this category.
        max_price: Only products that cost at most this much, in US dollars.
        min_rating: Only products rated at least this (1 to 5 stars).
        sort_by: Order of the results.
        limit: Most products to return, from 1 to 20.

    Returns:
        How many products matched and the first of them, each with a product_id.

    Raises:
        ValueError: The query is empty or a filter is out of range.
    """
    words = [_stem(word) for word in "".join(c if c.isalnum() else " " for c in query.casefold()).split()]
    if not words:
        raise ValueError("query must contain at least one word")
    if category is not None:
        _check_choice("category", category, typing.get_args(Category))
    if max_price is not None and not max_price > 0:
        raise ValueError(f"max_price must be greater than 0, got {max_price}")
    if min_rating is not None:
        _check_range("min_rating", min_rating, 1, 5)
    _check_choice("sort_by", sort_by, ("relevance", "price_low_to_high", "price_high_to_low", "rating"))
    _check_range("limit", limit, 1, 20)
    scored: list[tuple[int, ProductSummary]] = []
    for product in _CATALOG:
        text = {
            _stem(w)
            for w in f"{product.name} {product.brand} {product.category} {product.keywords}".casefold()
            .replace(",", " ")
            .split()
        }
        score = sum(word in text for word in words)
        rating, _, stock = _popularity(product.product_id)
        if (
            score == 0
            or (category is not None and product.category != category)
            or (max_price is not None and product.price > max_price)
            or (min_rating is not None and rating < min_rating)
        ):
            continue
        summary: ProductSummary = {
            "product_id": product.product_id,
            "name": product.name,
            "category": product.category,
            "price": product.price,
            "currency": "USD",
            "rating": rating,
            "in_stock": stock > 0,
        }
        scored.append((score, summary))
    orders = {
        "relevance": lambda item: (-item[0], -item[1]["rating"], item[1]["product_id"]),
        "price_low_to_high": lambda item: (item[1]["price"], item[1]["product_id"]),
        "price_high_to_low": lambda item: (-item[1]["price"], item[1]["product_id"]),
        "rating": lambda item: (-item[1]["rating"], item[1]["product_id"]),
    }
    scored.sort(key=orders[sort_by])
    return {
        "query": query,
        "total_results": len(scored),
        "products": [summary for _, summary in scored[:limit]],
    }


def get_product_details(product_id: str) -> ProductDetails:
    """Get the full details of a product.

    Gives the description, specifications, price, rating and how many units are in stock.

    Args:
        product_id: The product_id of a search result, e.g. "P-1001".

    Returns:
        The product's details.

    Raises:
        ValueError: No product has this id.
    """
    product = _product(product_id)
    rating, reviews, stock = _popularity(product.product_id)
    return {
        "product_id": product.product_id,
        "name": product.name,
        "brand": product.brand,
        "category": product.category,
        "description": product.description,
        "price": product.price,
        "currency": "USD",
        "rating": rating,
        "review_count": reviews,
        "stock_quantity": stock,
        "specs": dict(product.specs),
    }


def estimate_shipping(
    product_id: str,
    country_code: str,
    postal_code: str,
    quantity: Annotated[int, Interval(ge=1, le=10)] = 1,
) -> ShippingQuote:
    """Quote the shipping options for a product to a destination.

    The shop ships from the US to the US, Canada and six European countries; overnight delivery
    is US-only, and standard shipping is free for orders of 50 US dollars or more.

    Args:
        product_id: The product_id of the product to ship, e.g. "P-2001".
        country_code: ISO 3166-1 alpha-2 code of the destination country, e.g. "US" or "DE".
        postal_code: Postal code of the destination, e.g. "94103" in the US.
        quantity: Number of units, from 1 to 10.

    Returns:
        The shipping options with carrier, cost in US dollars and delivery time in days.

    Raises:
        ValueError: The product is unknown or out of stock for this quantity, the shop does not ship
            to the country, or the postal code is malformed.
    """
    product = _product(product_id)
    country = country_code.strip().upper()
    if country not in _SHIPPING_COUNTRIES:
        raise ValueError(
            f"the shop does not ship to country_code {country_code!r}; "
            f"it ships to {', '.join(_SHIPPING_COUNTRIES)}"
        )
    postal = _check_postal_code(postal_code.strip().upper(), country)
    _check_range("quantity", quantity, 1, 10)
    stock = _popularity(product.product_id)[2]
    if quantity > stock:
        raise ValueError(f"only {stock} units of {product.product_id} are in stock, not {quantity}")
    domestic = country == "US"
    options: list[ShippingOption] = []
    for method, (base, per_item, home_days, abroad_days) in _SHIPPING_RATES.items():
        days = home_days if domestic else abroad_days
        if days is None:
            continue
        cost = (base + per_item * (quantity - 1)) * (1.0 if domestic else 2.2)
        if method == "standard" and product.price * quantity >= _FREE_SHIPPING_FROM:
            cost = 0.0
        options.append(
            {
                "method": method,
                "carrier": _CARRIERS[int(len(_CARRIERS) * _fraction("carrier", method, country))],
                "cost": round(cost, 2),
                "currency": "USD",
                "delivery_days_min": days[0],
                "delivery_days_max": days[1],
            }
        )
    return {
        "product_id": product.product_id,
        "quantity": quantity,
        "country_code": country,
        "postal_code": postal,
        "options": options,
    }


def list_orders(
    customer_email: str,
    status: OrderStatus | None = None,
    limit: Annotated[int, Interval(ge=1, le=20)] = 10,
) -> OrderList:
    """List a customer's orders, newest first.

    Gives each order's number, date, status and total; use get_order_status for its items and
    shipment.

    Args:
        customer_email: Email address of the customer's account.
        status: Only orders in this state.
        limit: Most orders to return, from 1 to 20.

    Returns:
        The customer's orders with their order_id, date, status, total and number of items.

    Raises:
        ValueError: The email address is malformed or the limit is out of range.
    """
    email = customer_email.strip().casefold()
    _check_email(email, "customer_email")
    if status is not None:
        _check_choice("status", status, typing.get_args(OrderStatus))
    _check_range("limit", limit, 1, 20)
    count = 2 + int(5 * _fraction("orders", email))
    records = [_order(f"ORD-{100000 + int(900000 * _fraction('order', email, n))}") for n in range(count)]
    records.sort(key=lambda order: (order["placed_on"], order["order_id"]), reverse=True)
    summaries: list[OrderSummary] = [
        {
            "order_id": order["order_id"],
            "placed_on": order["placed_on"],
            "status": order["status"],
            "total": order["total"],
            "currency": "USD",
            "item_count": sum(item["quantity"] for item in order["items"]),
        }
        for order in records
        if status is None or order["status"] == status
    ]
    return {"customer_email": email, "orders": summaries[:limit]}


def get_order_status(order_id: str) -> Order:
    """Get an order's items, status and shipment tracking.

    Orders move from processing to shipped to delivered; a shipped order has a carrier and a
    tracking number.

    Args:
        order_id: The order number, e.g. "ORD-482913", as shown by list_orders or in the order confirmation.

    Returns:
        The order: date, status, items, total, and carrier, tracking number and delivery dates once shipped.

    Raises:
        ValueError: The order id is malformed.
    """
    return _order(_check_order_id(order_id))


def cancel_order(order_id: str, reason: CancelReason) -> Cancellation | OrderError:
    """Cancel an order that has not shipped yet.

    The full amount is refunded to the original payment method. An order that has already
    shipped cannot be cancelled; the answer is then an error payload, and the customer can ask
    for a refund after delivery with request_refund.

    Args:
        order_id: The order number, e.g. "ORD-482913".
        reason: Why the customer cancels.

    Returns:
        The cancellation with the refund amount, or an error payload saying why the order cannot
        be cancelled.

    Raises:
        ValueError: The order id is malformed or the reason is unknown.
    """
    order = _order(_check_order_id(order_id))
    _check_choice("reason", reason, typing.get_args(CancelReason))
    if order["status"] != "processing":
        why = {
            "shipped": "has already shipped and can no longer be cancelled; request a refund once it is delivered",
            "delivered": "was delivered and can no longer be cancelled; use request_refund to return items",
            "cancelled": "is already cancelled",
        }[order["status"]]
        return {
            "error": f"order {order['order_id']} {why}",
            "order_id": order["order_id"],
            "order_status": order["status"],
        }
    return {
        "order_id": order["order_id"],
        "status": "cancelled",
        "reason": reason,
        "refund_amount": order["total"],
        "currency": "USD",
        "refund_method": "original_payment",
    }


def request_refund(
    order_id: str,
    product_id: str,
    reason: RefundReason,
    quantity: Annotated[int, Interval(ge=1, le=10)] = 1,
) -> Refund | OrderError:
    """Request a refund for items of a delivered order.

    Refunds are possible within 30 days of delivery. Items returned because they were damaged,
    defective or wrong are refunded without sending them back; otherwise a return label is
    needed. Outside the rules the answer is an error payload.

    Args:
        order_id: The order number, e.g. "ORD-482913".
        product_id: The product_id of the item to refund, as listed in the order's items.
        reason: Why the customer wants a refund.
        quantity: Number of units of the item to refund; at most the number ordered.

    Returns:
        The approved refund with its amount, or an error payload saying why it is refused (the
        order is not delivered, or the return window has closed).

    Raises:
        ValueError: The order id is malformed, the product is not in the order, the quantity is
            more than was ordered, or the reason is unknown.
    """
    order = _order(_check_order_id(order_id))
    _check_choice("reason", reason, typing.get_args(RefundReason))
    item = next((i for i in order["items"] if i["product_id"] == product_id.strip().upper()), None)
    if item is None:
        listed = ", ".join(i["product_id"] for i in order["items"])
        raise ValueError(f"product {product_id!r} is not in order {order['order_id']} (it has {listed})")
    if not 1 <= quantity <= item["quantity"]:
        raise ValueError(
            f"quantity must be between 1 and {item['quantity']} (the number ordered), got {quantity}"
        )
    refused = None
    if order["status"] != "delivered" or order["delivered_on"] is None:
        refused = f"order {order['order_id']} is {order['status']}, not delivered; only delivered orders can be refunded"
    else:
        delivered = datetime.date.fromisoformat(order["delivered_on"])
        if (_TODAY - delivered).days > _RETURN_WINDOW_DAYS:
            closed = delivered + datetime.timedelta(days=_RETURN_WINDOW_DAYS)
            refused = f"the return window of order {order['order_id']} closed on {closed.isoformat()}"
    if refused is not None:
        return {"error": refused, "order_id": order["order_id"], "order_status": order["status"]}
    return {
        "refund_id": f"RF-{order['order_id'][4:]}-{_digest('refund', order['order_id'], item['product_id'])[:4].upper()}",
        "order_id": order["order_id"],
        "product_id": item["product_id"],
        "quantity": quantity,
        "reason": reason,
        "amount": round(item["unit_price"] * quantity, 2),
        "currency": "USD",
        "status": "approved",
        "return_label_required": reason in ("not_as_described", "no_longer_needed"),
    }


# --------------------------------------------------------------------------- helpers


def _digest(*parts: object) -> str:
    """A stable hex digest of the parts: the same on every machine, run and Python version."""
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()


def _fraction(*parts: object) -> float:
    """A stable number in [0, 1) derived from the parts."""
    return int(_digest(*parts)[:13], 16) / 16**13


def _check_range(name: str, value: float, low: float, high: float) -> None:
    if not low <= value <= high:
        raise ValueError(f"{name} must be between {low} and {high}, got {value}")


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)}; got {value!r}")


def _check_email(value: str, name: str) -> None:
    local, _, domain = value.partition("@")
    if not local or "." not in domain.strip(".") or " " in value:
        raise ValueError(f"{name} must be an email address like 'name@example.com', got {value!r}")


def _stem(word: str) -> str:
    """A crude singular, so that "shoes" finds "shoe" and "headphones" finds "headphone"."""
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def _product(product_id: str) -> _Product:
    product = _PRODUCT_BY_ID.get(product_id.strip().upper())
    if product is None:
        raise ValueError(f"no product has product_id {product_id!r}; use search_products to find one")
    return product


def _popularity(product_id: str) -> tuple[float, int, int]:
    """A product's rating (stars), number of reviews and units in stock."""
    rating = round(3.6 + 1.3 * _fraction("rating", product_id), 1)
    reviews = 12 + int(2400 * _fraction("reviews", product_id) ** 2)
    stock = 0 if _fraction("sold_out", product_id) < 0.1 else 1 + int(80 * _fraction("stock", product_id))
    return rating, reviews, stock


def _check_postal_code(postal: str, country: str) -> str:
    compact = postal.replace(" ", "")
    valid = {
        "US": len(compact) == 5 and compact.isdigit(),
        "CA": len(compact) == 6 and compact[::2].isalpha() and compact[1::2].isdigit(),
        "GB": 5 <= len(compact) <= 7 and compact[0].isalpha() and compact[-3].isdigit(),
        "NL": len(compact) == 6 and compact[:4].isdigit() and compact[4:].isalpha(),
    }.get(country, len(compact) == 5 and compact.isdigit())
    if not valid:
        raise ValueError(f"postal_code {postal!r} is not a valid postal code for country_code {country}")
    return postal


def _check_order_id(order_id: str) -> str:
    normalized = order_id.strip().upper().lstrip("#")
    if not normalized.startswith("ORD-"):
        normalized = f"ORD-{normalized}"
    digits = normalized[4:]
    if len(digits) != 6 or not digits.isdigit():
        raise ValueError(f"order_id {order_id!r} is malformed; order ids look like 'ORD-482913'")
    return normalized


def _order(order_id: str) -> Order:
    """Everything about an order, derived from its id: age, items, status and shipment."""
    age = 1 + int(
        60 * _fraction("age", order_id) ** 2
    )  # days since it was placed; recent orders are likelier
    placed = _TODAY - datetime.timedelta(days=age)
    transit = 3 + int(4 * _fraction("transit", order_id))
    status: OrderStatus
    if _fraction("cancelled", order_id) < 0.08:
        status = "cancelled"
    elif age <= 2:
        status = "processing"
    elif age <= transit:
        status = "shipped"
    else:
        status = "delivered"
    items: list[OrderItem] = []
    for n in range(1 + int(3 * _fraction("lines", order_id))):
        product = _CATALOG[int(len(_CATALOG) * _fraction("item", order_id, n))]
        if any(item["product_id"] == product.product_id for item in items):
            continue
        quantity = 1 + int(_fraction("quantity", order_id, n) < 0.25)
        items.append(
            {
                "product_id": product.product_id,
                "name": product.name,
                "quantity": quantity,
                "unit_price": product.price,
            }
        )
    shipped = status in ("shipped", "delivered")
    return {
        "order_id": order_id,
        "placed_on": placed.isoformat(),
        "status": status,
        "items": items,
        "total": round(sum(item["unit_price"] * item["quantity"] for item in items), 2),
        "currency": "USD",
        "carrier": _CARRIERS[int(len(_CARRIERS) * _fraction("carrier", order_id))] if shipped else None,
        "tracking_number": f"1Z{_digest('tracking', order_id)[:14].upper()}" if shipped else None,
        "estimated_delivery": (placed + datetime.timedelta(days=transit)).isoformat()
        if status != "cancelled"
        else None,
        "delivered_on": (placed + datetime.timedelta(days=transit)).isoformat()
        if status == "delivered"
        else None,
    }
