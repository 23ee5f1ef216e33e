"""Servers and security of an OpenAPI document, as HttpBinding needs them.

Split from tools/openapi.py: where an operation is served and which credentials it takes.
"""

from __future__ import annotations

import re
from typing import Any

from callforge.core import HttpAuth, kind_of
from callforge.tools.openai import Where
from callforge.tools.openapi_refs import RefResolver

ENV_PREFIX = "CALLFORGE_AUTH_"
_TEMPLATE = re.compile(r"\{([^{}]+)\}")


def auth_env(scheme: str) -> str:
    """The environment variable that holds the credential for security scheme `scheme`."""
    return ENV_PREFIX + (re.sub(r"[^A-Z0-9]+", "_", scheme.upper()).strip("_") or "DEFAULT")


class SpecHttp:
    """The servers and security schemes of one document, resolved once and looked up per operation."""

    def __init__(self, doc: dict[str, Any], refs: RefResolver, root: Where, *, swagger: bool) -> None:
        """Read the document's security schemes (a bad one fails here, with its path)."""
        self.doc = doc
        self.refs = refs
        self.root = root
        self.swagger = swagger
        self.schemes = self._security_schemes()

    def servers(self, node: dict[str, Any], where: Where) -> tuple[str, ...] | None:
        """Base URLs declared at this level (variables set to their defaults), or None when none are."""
        if self.swagger:
            if node is not self.doc and "schemes" not in node:
                return None
            host = self.doc.get("host")
            base = str(self.doc.get("basePath") or "")
            schemes = node.get("schemes") or self.doc.get("schemes") or ["https"]
            if not isinstance(host, str) or not host:
                return (base.rstrip("/") or "/",) if base else ()
            return tuple(
                dict.fromkeys(f"{s}://{host}{base}".rstrip("/") for s in schemes if isinstance(s, str))
            )
        servers = node.get("servers")
        if servers is None:
            return None
        where = where.at("servers")
        if not isinstance(servers, list):
            where.fail(f'"servers" must be a list, not {kind_of(servers)}')
        out = []
        for i, server in enumerate(servers):
            at = where.at(i)
            if not isinstance(server, dict) or not isinstance(server.get("url"), str):
                at.fail('a server must be an object with a "url" string')
            variables = server.get("variables") or {}

            def default(match: re.Match[str], at: Where = at, variables: Any = variables) -> str:
                var = variables.get(match[1]) if isinstance(variables, dict) else None
                if not isinstance(var, dict) or "default" not in var:
                    at.at("variables").fail(
                        f"server variable {{{match[1]}}} has no default", "a default value"
                    )
                return str(var["default"])

            url = _TEMPLATE.sub(default, server["url"])
            out.append(url.rstrip("/") or "/")
        return tuple(dict.fromkeys(out))

    def _security_schemes(self) -> dict[str, HttpAuth | None]:
        """Each declared scheme as the HttpAuth that carries its credential (None: not supported)."""
        if self.swagger:
            defs, where = self.doc.get("securityDefinitions"), self.root.at("securityDefinitions")
        else:
            components = self.doc.get("components")
            defs = components.get("securitySchemes") if isinstance(components, dict) else None
            where = self.root.at("components").at("securitySchemes")
        if defs is None:
            return {}
        if not isinstance(defs, dict):
            where.fail(f"security schemes must be an object, not {kind_of(defs)}")
        out: dict[str, HttpAuth | None] = {}
        for name, raw in defs.items():
            scheme, at = self.refs.deref(raw, where.at(name))
            if not isinstance(scheme, dict):
                at.fail(f"a security scheme must be an object, not {kind_of(scheme)}")
            kind, env = scheme.get("type"), auth_env(name)
            if kind == "apiKey":
                location, wire = scheme.get("in"), scheme.get("name")
                if location not in ("header", "query", "cookie") or not isinstance(wire, str) or not wire:
                    at.fail('an apiKey scheme needs "in" (header, query or cookie) and a "name"')
                out[name] = HttpAuth(scheme=name, type="api_key", location=location, wire=wire, env=env)
            elif kind in ("basic", "http") and (
                kind == "basic" or str(scheme.get("scheme", "")).lower() == "basic"
            ):
                out[name] = HttpAuth(scheme=name, type="basic", env=env)
            elif kind in ("oauth2", "openIdConnect") or (
                kind == "http" and str(scheme.get("scheme", "")).lower() == "bearer"
            ):
                out[name] = HttpAuth(scheme=name, type="bearer", env=env)  # a token obtained elsewhere
            elif kind in ("http", "mutualTLS"):
                out[name] = None  # digest, mutual TLS ...: not supported; calls go without
            else:
                at.at("type").fail(
                    f"unknown security scheme type {kind!r}", "apiKey, http, oauth2, openIdConnect"
                )
        return out

    def auth(self, op: dict[str, Any], where: Where) -> tuple[HttpAuth, ...]:
        """The schemes an operation accepts: its own `security`, else the spec's; none if anonymous is allowed."""
        if "security" in op:
            security, where = op["security"], where.at("security")
        else:
            security, where = self.doc.get("security"), self.root.at("security")
        if security is None:
            return ()
        if not isinstance(security, list) or not all(isinstance(r, dict) for r in security):
            where.fail('"security" must be a list of security requirement objects')
        if any(not requirement for requirement in security):  # `{}`: anonymous access allowed
            return ()
        out: list[HttpAuth] = []
        for i, requirement in enumerate(security):
            for name in requirement:
                if name not in self.schemes:
                    declared = "securityDefinitions" if self.swagger else "components.securitySchemes"
                    where.at(i).at(name).fail(f"security scheme {name!r} is not declared in {declared}")
                auth = self.schemes[name]
                if auth is not None and auth not in out:
                    out.append(auth)
        return tuple(out)
