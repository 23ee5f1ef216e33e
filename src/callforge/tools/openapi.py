"""OpenAPI 3.0/3.1 and Swagger 2.0 specs as ToolSpecs: one tool per operation, with the HTTP binding to call it.

The mapping rules (names, body flattening, references and cycles, returns, auth) are in
docs/openapi.md. The spec is checked by openapi-spec-validator when the `openapi` extra is
installed; without it, the structural checks done while converting still name the JSON path of
anything unusable. Reading and validation live in tools/openapi_read.py, `$ref` resolution and
schema conversion in tools/openapi_refs.py, servers and auth in tools/openapi_http.py.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
from pathlib import Path
from typing import Any, Literal

from callforge.core import (
    ConfigError,
    HttpBinding,
    HttpParam,
    InputLimits,
    ToolSpec,
    check_unfolded,
    copy_json,
    kind_of,
    recursion_error,
    use_limits,
)
from callforge.tools.openai import Where
from callforge.tools.openapi_http import ENV_PREFIX, SpecHttp, auth_env
from callforge.tools.openapi_read import (
    Version,
    plain_json,
    read_spec,
    refuse_external_refs,
    spec_version,
    validate_spec,
)
from callforge.tools.openapi_refs import RefResolver

__all__ = ["ENV_PREFIX", "METHODS", "auth_env", "load_openapi", "spec_version"]

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_LOCATIONS = {
    "2.0": ("path", "query", "header", "body", "formData"),
    "3": ("path", "query", "header", "cookie"),
}
_IGNORED_HEADERS = frozenset({"accept", "content-type", "authorization"})  # OpenAPI 3: set by the client
_SWAGGER_PARAM_SCHEMA = frozenset(
    {"type", "format", "items", "default", "maximum", "exclusiveMaximum", "minimum", "exclusiveMinimum"}
    | {"maxLength", "minLength", "pattern", "maxItems", "minItems", "uniqueItems", "enum", "multipleOf"}
    | {"x-nullable"}
)
_TOOL_NAME_BAD = re.compile(r"[^A-Za-z0-9_-]+")
_ARG_BAD = re.compile(r"[^A-Za-z0-9_.-]+")
_ARG_OK = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_TEMPLATE = re.compile(r"\{([^{}]+)\}")


def load_openapi(
    src: str | os.PathLike[str] | dict[str, Any],
    *,
    source_name: str | None = None,
    validate: bool | Literal["full"] = True,
    limits: InputLimits | None = None,
) -> list[ToolSpec]:
    """One ToolSpec per operation of an OpenAPI 3.0/3.1 or Swagger 2.0 spec (a JSON or YAML file, or parsed).

    With `validate=True` the spec is first checked against the official JSON Schema of its OpenAPI
    version when openapi-spec-validator is installed (the `openapi` extra); `validate="full"` adds
    the validator's semantic checks (examples and defaults against their schemas, parameters),
    which take seconds on a large spec. Real specs often carry small errors (a `type: "null"` in
    OpenAPI 3.0); `validate=False` imports them anyway, still refusing anything it cannot convert.
    `source_name` labels errors when `src` is already parsed. `limits` (default:
    `current_limits()`) bounds the file's size, nesting, YAML aliases and `$ref` chains.

    Raises:
        SpecError: The spec is unreadable or invalid; the message names the JSON path and the fix.
        InputLimitError: The spec is over one of the limits; the message names the one to raise.
    """
    with use_limits(limits) if limits is not None else contextlib.nullcontext():
        label = source_name or (os.fspath(src) if isinstance(src, (str, os.PathLike)) else "the spec")
        try:
            return _load_openapi(src, source_name, validate)
        except RecursionError:  # a limit raised past what Python's stack takes
            raise recursion_error(label) from None


def _load_openapi(
    src: str | os.PathLike[str] | dict[str, Any], source_name: str | None, validate: bool | Literal["full"]
) -> list[ToolSpec]:
    if isinstance(src, dict):
        root = Where(source=source_name)
        check_unfolded(src, source_name or "the spec")  # parsed data may share or contain itself
        doc = plain_json(src)
    elif isinstance(src, (str, os.PathLike)):
        root = Where(source=source_name or os.fspath(src))
        doc = read_spec(Path(src), root)
    else:
        raise ConfigError(f"load_openapi takes a file path or a parsed spec (dict), not {type(src).__name__}")
    version = spec_version(doc, root)
    refuse_external_refs(doc, root)
    if validate:
        validate_spec(doc, version, root, full=validate == "full")
    return _Importer(doc, version, root).tools()


class _Importer:
    """Converts the operations of one parsed, version-checked document."""

    def __init__(self, doc: dict[str, Any], version: Version, root: Where) -> None:
        self.doc = doc
        self.version = version
        self.root = root
        self.swagger = version == "2.0"
        self.refs = RefResolver(doc, root)
        self.names: set[str] = set()
        self.operation_ids: dict[str, str] = {}
        self.http = SpecHttp(doc, self.refs, root, swagger=self.swagger)
        info = doc.get("info")
        title = info.get("title") if isinstance(info, dict) else None
        self.title_domain = _slug(title) if isinstance(title, str) else None
        self.servers = self.http.servers(doc, root) or ()

    def tools(self) -> list[ToolSpec]:
        """One ToolSpec per operation, in document order (paths, then methods as written)."""
        paths = self.doc.get("paths")
        where = self.root.at("paths")
        if paths is None:
            where.fail('no "paths": the spec has no operations to import', 'a "paths" object with operations')
        if not isinstance(paths, dict):
            where.fail(f'"paths" must be an object, not {kind_of(paths)}')
        tools: list[ToolSpec] = []
        for path, raw in paths.items():
            if path.startswith("x-"):
                continue
            at = where.at(path)
            if not path.startswith("/"):
                at.fail(f"path {path!r} does not start with '/'", 'a path template such as "/pets/{petId}"')
            item, item_at = self.refs.deref(raw, at)
            if not isinstance(item, dict):
                item_at.fail(f"a path item must be an object, not {kind_of(item)}")
            shared = self._parameter_list(item, item_at)
            servers = self.http.servers(item, item_at)
            for method, op in item.items():
                if method in METHODS:
                    tools.append(self._operation(path, method, op, item_at.at(method), shared, servers))
        if not tools:
            where.fail("no operations found", 'at least one operation (get, post, ...) under "paths"')
        return tools

    # ------------------------------------------------------------------ one operation

    def _operation(
        self,
        path: str,
        method: str,
        op: Any,
        where: Where,
        shared: list[tuple[dict[str, Any], Where]],
        item_servers: tuple[str, ...] | None,
    ) -> ToolSpec:
        if not isinstance(op, dict):
            where.fail(f"an operation must be an object, not {kind_of(op)}")
        name = self._name(op, method, path, where)
        where = where.named(name)
        merged: dict[tuple[str, str], tuple[dict[str, Any], Where]] = {}
        for param, at in [*shared, *self._parameter_list(op, where)]:
            merged[(param["name"], param["in"])] = (param, at)  # operation-level wins on name + in
        args = _Args()
        body_params: list[tuple[dict[str, Any], Where]] = []
        form_params: list[tuple[dict[str, Any], Where]] = []
        http: list[HttpParam] = []
        for param, at in merged.values():
            location = param["in"]
            if location == "body":
                body_params.append((param, at))
            elif location == "formData":
                form_params.append((param, at))
            elif not (location == "header" and param["name"].lower() in _IGNORED_HEADERS):
                arg = args.add(
                    _arg_base(param["name"], location), location, self._param_schema(param, at, args.needs)
                )
                if location == "path" or param.get("required") is True:
                    args.required.append(arg)
                http.append(HttpParam(name=arg, wire=param["name"], location=location))
        declared = {p.wire for p in http if p.location == "path"}
        for var in _TEMPLATE.findall(path):
            if var not in declared:  # lenient: the template needs it, so the tool asks for it
                arg = args.add(_arg_base(var, "path"), "path", {"type": "string"})
                args.required.append(arg)
                http.append(HttpParam(name=arg, wire=var, location="path"))
        body_arg, body_fields, content_type = self._body(op, where, args, body_params, form_params)
        parameters: dict[str, Any] = {"type": "object", "properties": args.properties}
        if args.required:
            parameters["required"] = args.required
        binding = HttpBinding(
            method=method.upper(),
            path=path,
            servers=self.http.servers(op, where) or item_servers or self.servers,
            params=tuple(http),
            body_arg=body_arg,
            body_fields=body_fields,
            content_type=content_type,
            auth=self.http.auth(op, where),
        )
        return ToolSpec(
            name=name,
            description=_description(op, method, path, where),
            parameters=self.refs.document(parameters, args.needs, "in"),
            returns=self._returns(op, where),
            source="openapi",
            domain=self._domain(op),
            binding=binding,
        )

    def _name(self, op: dict[str, Any], method: str, path: str, where: Where) -> str:
        """`operationId` made a valid tool name, else `<method>_<path>`; clashes get `_2`, `_3` ..."""
        base = ""
        op_id = op.get("operationId")
        if op_id is not None:
            if not isinstance(op_id, str) or not op_id.strip():
                where.at("operationId").fail(
                    f'"operationId" must be a non-empty string, not {kind_of(op_id)}'
                )
            other = self.operation_ids.get(op_id)
            if other is not None:
                where.at("operationId").fail(
                    f"operationId {op_id!r} is also used by {other}", "operationIds unique within the spec"
                )
            self.operation_ids[op_id] = f"{method.upper()} {path}"
            base = _tool_name(op_id)
        if not base:
            base = _tool_name(f"{method}_{path}") if path.strip("/") else f"{method}_root"
        name, n = base, 1
        while name in self.names:
            n += 1
            name = _tool_name(base, suffix=f"_{n}")
        self.names.add(name)
        return name

    def _domain(self, op: dict[str, Any]) -> str | None:
        tags = op.get("tags")
        if isinstance(tags, list) and tags and isinstance(tags[0], str) and tags[0].strip():
            return tags[0].strip()
        return self.title_domain

    # ------------------------------------------------------------------ parameters

    def _parameter_list(self, node: dict[str, Any], where: Where) -> list[tuple[dict[str, Any], Where]]:
        raw = node.get("parameters")
        if raw is None:
            return []
        where = where.at("parameters")
        if not isinstance(raw, list):
            where.fail(f'"parameters" must be a list, not {kind_of(raw)}')
        locations = _LOCATIONS["2.0" if self.swagger else "3"]
        out = []
        for i, item in enumerate(raw):
            param, at = self.refs.deref(item, where.at(i))
            if not isinstance(param, dict):
                at.fail(f"a parameter must be an object, not {kind_of(param)}")
            name = param.get("name")
            if not isinstance(name, str) or not name:
                at.at("name").fail(f'a parameter needs a "name" string, not {kind_of(name)}')
            location = param.get("in")
            if location not in locations:
                hint = "; OpenAPI 3 puts the body in requestBody" if location in ("body", "formData") else ""
                at.at("in").fail(
                    f'"in" must be one of {", ".join(locations)}, not {location!r}{hint}',
                    f"one of {', '.join(locations)}",
                )
            out.append((param, at))
        return out

    def _param_schema(self, param: dict[str, Any], where: Where, needs: set[str]) -> Any:
        if self.swagger:
            raw: Any = {k: v for k, v in param.items() if k in _SWAGGER_PARAM_SCHEMA}
            schema = self.refs.schema(raw, where, "in", needs)
        elif "schema" in param:
            schema = self.refs.schema(param["schema"], where.at("schema"), "in", needs)
        elif isinstance(param.get("content"), dict) and param["content"]:
            media, body = next(iter(param["content"].items()))
            at = where.at("content").at(media)
            schema = (
                self.refs.schema(body.get("schema", {}), at.at("schema"), "in", needs)
                if isinstance(body, dict)
                else {}
            )
        else:
            schema = {"type": "string"}
        schema = dict(schema) if isinstance(schema, dict) else ({} if schema is True else {"not": {}})
        if isinstance(param.get("description"), str) and param["description"].strip():
            schema["description"] = param["description"].strip()
        if param.get("deprecated") is True:
            schema["deprecated"] = True
        if "example" in param:
            schema["examples"] = [copy_json(param["example"])]
        elif isinstance(param.get("examples"), dict):
            values = [e["value"] for e in param["examples"].values() if isinstance(e, dict) and "value" in e]
            if values:
                schema["examples"] = copy_json(values)
        return schema

    # ------------------------------------------------------------------ bodies

    def _body(
        self,
        op: dict[str, Any],
        where: Where,
        args: _Args,
        body_params: list[tuple[dict[str, Any], Where]],
        form_params: list[tuple[dict[str, Any], Where]],
    ) -> tuple[str | None, tuple[str, ...], str | None]:
        """Add the request body's arguments; return the binding's body_arg, body_fields and content type."""
        if self.swagger:
            consumes = op.get("consumes", self.doc.get("consumes")) or []
            consumes = [c for c in consumes if isinstance(c, str)] if isinstance(consumes, list) else []
            if body_params:
                param, at = body_params[0]
                if "schema" not in param:
                    at.fail('a body parameter needs a "schema"')
                schema = self.refs.schema(param["schema"], at.at("schema"), "in", args.needs)
                content_type = _pick_media(consumes) or "application/json"
                return self._attach(
                    schema,
                    param.get("required") is True,
                    param.get("description"),
                    content_type,
                    args,
                    param["name"],
                )
            if form_params:
                return self._form(form_params, consumes, args)
            return None, (), None
        raw = op.get("requestBody")
        if raw is None:
            return None, (), None
        body, at = self.refs.deref(raw, where.at("requestBody"))
        if not isinstance(body, dict):
            at.fail(f'"requestBody" must be an object, not {kind_of(body)}')
        content = body.get("content")
        if not isinstance(content, dict) or not content:
            at.at("content").fail(
                '"content" must be an object of media types', '{"application/json": {"schema": ...}}'
            )
        media = _pick_media(list(content))
        assert media is not None  # content is a non-empty dict
        entry = content[media]
        if not isinstance(entry, dict):
            at.at("content").at(media).fail(f"a media type must be an object, not {kind_of(entry)}")
        schema = self.refs.schema(
            entry.get("schema", {}), at.at("content").at(media).at("schema"), "in", args.needs
        )
        name = op.get("x-codegen-request-body-name")
        return self._attach(
            schema,
            body.get("required") is True,
            body.get("description"),
            media,
            args,
            name if isinstance(name, str) else "body",
        )

    def _attach(
        self,
        schema: Any,
        required: bool,
        description: Any,
        content_type: str,
        args: _Args,
        preferred: str,
    ) -> tuple[str | None, tuple[str, ...], str | None]:
        """Flatten an object body's properties into the arguments when they fit, else one body argument."""
        body = self.refs.unwrap(schema, "in")
        shape = self._object_shape(body)
        if shape is not None and all(_ARG_OK.match(k) and k not in args.properties for k in shape[0]):
            props, inner = shape
            for key, sub in props.items():
                args.properties[key] = sub
                if required and key in inner:
                    args.required.append(key)
            return None, tuple(props), content_type
        arg = args.add(_arg_base(preferred, "body"), "body", body if isinstance(body, dict) else {})
        if isinstance(description, str) and description.strip():
            args.properties[arg] = {**args.properties[arg], "description": description.strip()}
        if required:
            args.required.append(arg)
        return arg, (), content_type

    def _object_shape(self, schema: Any) -> tuple[dict[str, Any], set[str]] | None:
        """The properties and required names of a plain object schema (an `allOf` of them merged), else None."""
        if not isinstance(schema, dict) or any(k in schema for k in ("anyOf", "oneOf", "not", "if", "$ref")):
            return None
        if schema.get("type", "object") not in ("object", ["object"]):
            return None
        props = dict(schema.get("properties") or {})
        required = set(schema.get("required") or ())
        for part in schema.get("allOf") or ():
            shape = self._object_shape(self.refs.unwrap(part, "in"))
            if shape is None or any(k in props and props[k] != v for k, v in shape[0].items()):
                return None
            props.update(shape[0])
            required |= shape[1]
        return (props, required) if props else None

    def _form(
        self, fields: list[tuple[dict[str, Any], Where]], consumes: list[str], args: _Args
    ) -> tuple[str | None, tuple[str, ...], str | None]:
        """Swagger 2.0 `in: formData` parameters: the fields of a form body."""
        props: dict[str, Any] = {}
        required: list[str] = []
        for param, at in fields:
            props[param["name"]] = self._param_schema(param, at, args.needs)
            if param.get("required") is True:
                required.append(param["name"])
        files = any(p.get("type") == "file" for p, _ in fields)
        multipart = files or (
            "multipart/form-data" in consumes and "application/x-www-form-urlencoded" not in consumes
        )
        content_type = "multipart/form-data" if multipart else "application/x-www-form-urlencoded"
        schema: dict[str, Any] = {"type": "object", "properties": props}
        if required:
            schema["required"] = required
        return self._attach(schema, True, None, content_type, args, "body")

    # ------------------------------------------------------------------ returns

    def _returns(self, op: dict[str, Any], where: Where) -> dict[str, Any] | None:
        """The JSON schema of the first 2xx response with one (`default` when no 2xx is declared)."""
        responses = op.get("responses")
        if responses is None:
            return None
        where = where.at("responses")
        if not isinstance(responses, dict):
            where.fail(f'"responses" must be an object, not {kind_of(responses)}')
        codes = sorted(c for c in responses if len(c) == 3 and c.startswith("2") and c.isdigit())
        codes += [c for c in responses if c in ("2XX", "2xx")]
        if not codes and "default" in responses:
            codes = ["default"]
        for code in codes:
            response, at = self.refs.deref(responses[code], where.at(code))
            if not isinstance(response, dict):
                at.fail(f"a response must be an object, not {kind_of(response)}")
            if self.swagger:
                if "schema" not in response:
                    continue
                raw, at = response["schema"], at.at("schema")
            else:
                content = response.get("content")
                if not isinstance(content, dict):
                    continue
                media = _pick_media(list(content), json_only=True)
                entry = content.get(media) if media is not None else None
                if not isinstance(entry, dict) or "schema" not in entry:
                    continue
                raw, at = entry["schema"], at.at("content").at(str(media)).at("schema")
            needs: set[str] = set()
            schema = self.refs.unwrap(self.refs.schema(raw, at, "out", needs), "out")
            if not isinstance(schema, dict) or not schema:
                return None
            return self.refs.document(schema, needs, "out")
        return None


class _Args:
    """A tool's arguments while they are collected: schemas, required names, cyclic refs used."""

    def __init__(self) -> None:
        self.properties: dict[str, Any] = {}
        self.required: list[str] = []
        self.needs: set[str] = set()

    def add(self, base: str, location: str, schema: Any) -> str:
        """Add an argument under a free name (`id`, else `id_query`, `id_query_2` ...); return the name."""
        name = base
        if name in self.properties:
            name = f"{base[: 63 - len(location)]}_{location}"
        n = 1
        while name in self.properties:
            n += 1
            name = f"{base[: 62 - len(location) - len(str(n))]}_{location}_{n}"
        self.properties[name] = schema
        return name


def _arg_base(wire: str, location: str) -> str:
    """A wire name as an argument name (`^[A-Za-z0-9_.-]{1,64}$`): `page[size]` → `page_size`."""
    return _ARG_BAD.sub("_", wire).strip("_")[:64] or location


def _tool_name(text: str, suffix: str = "") -> str:
    """`text` as a tool name (`^[A-Za-z0-9_-]{1,64}$`); a long one keeps a hash of the rest to stay unique."""
    name = re.sub(r"_+", "_", _TOOL_NAME_BAD.sub("_", text)).strip("_")
    room = 64 - len(suffix)
    if len(name) > room:
        digest = hashlib.sha1(name.encode()).hexdigest()[:8]
        name = f"{name[: room - 9]}_{digest}"
    return f"{name}{suffix}" if name else ""


def _slug(text: str) -> str | None:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or None


def _description(op: dict[str, Any], method: str, path: str, where: Where) -> str:
    parts = []
    for key in ("summary", "description"):
        value = op.get(key)
        if value is not None and not isinstance(value, str):
            where.at(key).fail(f'"{key}" must be a string, not {kind_of(value)}')
        if value and value.strip():
            parts.append(value.strip())
    if len(parts) == 2 and parts[1].startswith(parts[0].rstrip(".")):
        parts = parts[1:]
    text = "\n\n".join(parts) or f"{method.upper()} {path}"
    if op.get("deprecated") is True:
        text += "\n\nDeprecated: this operation may be removed from the API."
    return text


def _pick_media(types: list[str], *, json_only: bool = False) -> str | None:
    """The media type to use: JSON first (`application/json`, any `+json`), then forms, then the first."""
    if not types:
        return None
    lowered = [(t, t.split(";")[0].strip().lower()) for t in types]
    for test in (
        lambda m: m == "application/json",
        lambda m: "json" in m,
        lambda m: m in ("*/*", "application/*"),
    ):
        for original, media in lowered:
            if test(media):
                return original
    if json_only:
        return None
    for wanted in ("application/x-www-form-urlencoded", "multipart/form-data"):
        for original, media in lowered:
            if media == wanted:
                return original
    return types[0]
