"""In-band failures: an output that reads as an error although the tool returned normally."""

from __future__ import annotations

from typing import Any

import orjson

_ERROR_KEYS = ("error", "errors", "exception", "error_message", "errorMessage")
_ERROR_PREFIXES = ("error:", "error -", "exception:", "traceback (most recent call last)")


def error_payload(output: Any) -> str | None:
    """Why `output` reads as a failure although the tool returned normally, or None.

    Tools (and simulators) often report failure in-band: `{"error": "..."}`, an HTTP-like status of
    400 or more, or a string starting with "Error:". Such an output is not a successful call.
    """
    if isinstance(output, dict):
        for key in _ERROR_KEYS:
            value = output.get(key)
            if value not in (None, "", [], {}, False):
                return f"{key}: {short_text(value)}"
        for key in ("status_code", "statusCode", "status", "code"):
            value = output.get(key)
            if isinstance(value, int) and not isinstance(value, bool) and 400 <= value <= 599:
                return f"{key} {value}"
        if output.get("success") is False or output.get("ok") is False:
            return "success: false"
    if isinstance(output, str) and output.strip().casefold().startswith(_ERROR_PREFIXES):
        return short_text(output)
    return None


def short_text(value: Any) -> str:
    """`value` as at most 120 characters of text, for messages that quote an output."""
    text = value if isinstance(value, str) else _canonical(value).decode(errors="replace")
    return text if len(text) <= 120 else text[:117] + "..."


def _canonical(value: Any) -> bytes:
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except TypeError:
        return repr(value).encode()
