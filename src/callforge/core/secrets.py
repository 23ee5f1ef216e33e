"""Known secret values, and their removal from everything callforge writes or sends to a model.

A credential reaches text in ways no caller controls: a REST API's 401 body echoes the key it was
sent, a base URL carries `user:password@`, an MCP server prints its token. So instead of trusting
each caller to leave secrets out, every sink (run folders, caches, error files, feedback to a
model) passes text through `redact`, which replaces each *known* secret value with `***`.

Known secrets are the values of credential-looking environment variables (`CALLFORGE_AUTH_*`,
`*_API_KEY`, `*_TOKEN`, `*_SECRET`, `*_PASSWORD`, read when first needed) plus every value a
component registers when it is handed one (`register_secret`: an `--api-key`, the password of a
URL, an MCP config's environment values). Each secret is also matched in the spellings it takes on
the wire: URL-quoted and base64 (HTTP basic auth).
"""

from __future__ import annotations

import base64
import os
import re
import threading
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

MASK = "***"
MIN_SECRET_CHARS = 6
"""Shorter values are not treated as secrets: masking every "abc" or "true" would wreck the data."""
_CREDENTIAL_NAME = re.compile(
    r"^(CALLFORGE_AUTH_.+|.*_(API_KEY|APIKEY|TOKEN|SECRET|SECRET_KEY|PASSWORD|PASSWD|ACCESS_KEY))$", re.I
)
_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<user>[^/@:\s]*):(?P<password>[^/@\s]+)@")

_lock = threading.Lock()
_registered: dict[str, str] = {}  # value -> where it came from (a name, never the value)


def credential_env_names(env: Mapping[str, str] | None = None) -> list[str]:
    """The environment variables whose values count as secrets: the names, for messages and `scan`."""
    source = os.environ if env is None else env
    return sorted(name for name, value in source.items() if _CREDENTIAL_NAME.match(name) and _long(value))


def register_secret(value: str | None, source: str) -> None:
    """Remember a secret this process was handed, so every later `redact` removes it.

    `source` names where it came from ("--api-key", "MCP env GITHUB_TOKEN") for `scan` reports.
    """
    if value and _long(value):
        with _lock:
            _registered.setdefault(value, source)


def known_secrets(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """Every known secret value -> where it came from: the environment's credentials and the registered ones."""
    source = os.environ if env is None else env
    found = {source[name]: f"${name}" for name in credential_env_names(source)}
    with _lock:
        for value, origin in _registered.items():
            found.setdefault(value, origin)
    return found


def secret_spellings(secrets: Mapping[str, str]) -> dict[str, str]:
    """Each secret in the forms it takes on the wire (as is, URL-quoted, base64 as in basic auth)."""
    out: dict[str, str] = {}
    for value, origin in secrets.items():
        forms = {value, quote(value, safe=""), _b64(value)}
        if ":" in value:  # user:password as basic auth sends it, and the password alone
            forms.add(value.split(":", 1)[1])
        else:
            forms.add(_b64(value + ":"))
        for form in forms:
            if _long(form):
                out.setdefault(form, origin)
    return out


def redact(text: str, secrets: Mapping[str, str] | None = None) -> str:
    """`text` with URL passwords and every known secret (in each of its spellings) replaced by `***`."""
    original = text
    if "://" in text and "@" in text:
        text = _USERINFO.sub(lambda m: f"{m['scheme']}{m['user']}:{MASK}@", text)
    for form in _longest_first(secret_spellings(known_secrets() if secrets is None else secrets)):
        if form in text:
            text = text.replace(form, MASK)
    return original if text == original else text


def redact_json(value: Any, secrets: Mapping[str, str] | None = None) -> Any:
    """A JSON value with every string (keys included) redacted; the same object when nothing changed."""
    known = known_secrets() if secrets is None else secrets
    if not known and not _may_hold_userinfo(value):
        return value
    return _walk(value, known)


def redact_url(url: str) -> str:
    """A URL fit to show: the password of its userinfo masked (and registered, so later text loses it too)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    register_secret(parts.password, "a URL's password")
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    netloc = f"{parts.username or ''}:{MASK}@{host}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def find_secrets(text: str, secrets: Mapping[str, str]) -> list[str]:
    """Where-from names of the secrets `text` contains, and "a URL password" for userinfo: what `scan` reports."""
    found = [origin for form, origin in secret_spellings(secrets).items() if form in text]
    if "://" in text and any(m["password"] != MASK for m in _USERINFO.finditer(text)):
        found.append("a URL password (user:password@)")
    return sorted(set(found))


def _walk(value: Any, known: Mapping[str, str]) -> Any:
    """The redacted value; the very same object where nothing in it changed (callers test with `is`)."""
    if isinstance(value, str):
        return redact(value, known)
    if isinstance(value, (list, tuple)):
        items = [_walk(item, known) for item in value]
        if all(new is old for new, old in zip(items, value, strict=True)):
            return value
        return items if isinstance(value, list) else tuple(items)
    if isinstance(value, dict):
        pairs = [((redact(k, known) if isinstance(k, str) else k), _walk(v, known)) for k, v in value.items()]
        if all(nk is k and nv is v for (nk, nv), (k, v) in zip(pairs, value.items(), strict=True)):
            return value
        return dict(pairs)
    return value


def _may_hold_userinfo(value: Any) -> bool:
    if isinstance(value, str):
        return "://" in value and "@" in value
    if isinstance(value, (list, tuple)):
        return any(_may_hold_userinfo(item) for item in value)
    if isinstance(value, dict):
        return any(_may_hold_userinfo(k) or _may_hold_userinfo(v) for k, v in value.items())
    return False


def _longest_first(forms: Iterable[str]) -> list[str]:
    return sorted(forms, key=len, reverse=True)


def _long(value: str) -> bool:
    return len(value.strip()) >= MIN_SECRET_CHARS


def _b64(value: str) -> str:
    return base64.b64encode(value.encode()).decode()
