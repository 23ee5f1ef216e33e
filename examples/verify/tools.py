"""Implementations of the pure-computation tools in xlam-sample.jsonl, for `--exec python:...`.

callforge runs each call of these in a sandboxed process with keyword arguments only; tools with no
implementation here (the web lookups) are recorded as unavailable and do not reject a dialog.
"""

from __future__ import annotations

import math
import re
from collections import Counter

RATES_TO_USD = {"USD": 1.0, "EUR": 1.08, "GBP": 1.27, "JPY": 0.0067, "CAD": 0.73, "CHF": 1.13, "INR": 0.012}


def calculate_bmi(weight_kg: float, height_m: float) -> dict[str, float]:
    if height_m <= 0 or height_m > 3:
        raise ValueError(f"height_m must be in metres (0-3), got {height_m}")
    return {"bmi": round(weight_kg / height_m**2, 1)}


def is_prime(number: int) -> bool:
    if number < 2:
        return False
    return all(number % k for k in range(2, math.isqrt(number) + 1))


def fibonacci(n: int) -> list[int]:
    if n < 0 or n > 1000:
        raise ValueError("n must be between 0 and 1000")
    out, a, b = [], 0, 1
    for _ in range(n):
        out.append(a)
        a, b = b, a + b
    return out


def calculate_mean(numbers: list[float]) -> float:
    if not numbers:
        raise ValueError("numbers is empty")
    return sum(numbers) / len(numbers)


def merge_dictionaries(dict1: dict, dict2: dict) -> dict:
    return {**dict1, **dict2}


def reverse_string(text: str) -> str:
    return text[::-1]


def is_palindrome(text: str) -> bool:
    letters = [c.lower() for c in text if c.isalnum()]
    return letters == letters[::-1]


def count_vowels(text: str) -> int:
    return sum(1 for c in text.lower() if c in "aeiou")


def word_frequency(text: str) -> dict[str, int]:
    return dict(Counter(re.findall(r"[a-z']+", text.lower())))


def loan_monthly_payment(principal: float, annual_rate: float, years: int) -> dict[str, float]:
    monthly = annual_rate / 100 / 12
    n = years * 12
    if monthly == 0:
        return {"monthly_payment": round(principal / n, 2)}
    return {"monthly_payment": round(principal * monthly / (1 - (1 + monthly) ** -n), 2)}


def find_max_subarray_sum(nums: list[int]) -> int:
    best = current = nums[0]
    for x in nums[1:]:
        current = max(x, current + x)
        best = max(best, current)
    return best


def convert_currency(amount: float, from_currency: str, to_currency: str) -> dict[str, object]:
    for code in (from_currency, to_currency):
        if code.upper() not in RATES_TO_USD:
            return {"error": f"unknown currency {code!r}"}
    value = amount * RATES_TO_USD[from_currency.upper()] / RATES_TO_USD[to_currency.upper()]
    return {"amount": round(value, 2), "currency": to_currency.upper()}
